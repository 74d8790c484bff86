"""The localization config schema, its tiny preset, and the names a run is filed under.

One schema serves both experiment folders (`object_localization/2D|3D/configs/*.yaml`) and
programmatic callers such as the demo (`tiny_config`, seqsi/configs/localization_tiny.yaml):

    data:      root, dims, val_count, val_seed, spacing, centroids (exact | paper)
    model:     name, mode, reparam (avg | telescopic), loss (null: the mode's paper loss), widths,
               blocks, post_activation
    crops:     patch, crops_per_image, val_crops_per_image, min_score, max_redraws, pad, val_redraw
    augment:   suite, group, validation                         (photometric, per crop, after min-max)
    train:     seqsi.engine.TrainSettings fields
    threshold: max_dist, search (brent | grid), maxiter, points, rounds, zscore_range, augment, dtype (null: eval's)
    eval:      suite, test_sets, artifact_sets, artifact_masks, seed, max_dist, dtype,
               max_pixels, batch_size, tile, overlap, border (ignore | zero)
    invariance: max_dist, dtype
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ...localization import get_loss
from ..config import ModelSection, load_config

DTYPES = {"float32": torch.float32, "float64": torch.float64}
TINY_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "localization_tiny.yaml"
TINY_PRESETS = {2: None, 3: "3d"}  # the 2D settings are the file's top level


def method_names(config: Mapping) -> tuple[Any, Any]:
    """(Mode, LocalizationLoss) of a config: the loss defaults to the one the paper pairs with the mode."""
    model = ModelSection.of(config)
    return model.mode, get_loss(model.loss or model.mode)


def run_dir_for(config: Mapping, explicit: str | os.PathLike | None = None) -> Path:
    """`<out>/<mode>-<loss>/<augmentation group>/seed<N>` (or the explicit folder)."""
    if explicit is not None:
        return Path(explicit)
    mode, loss = method_names(config)
    return Path(config["out"]) / f"{mode.name}-{loss.name}" / config["augment"]["group"] / f"seed{config['seed']}"


def run_fields(config: Mapping) -> dict:
    """The identifying columns of every results row of a run."""
    mode, loss = method_names(config)
    return {"experiment": config["experiment"], "method": mode.name, "loss": loss.name,
            "aug": config["augment"]["group"], "seed": config["seed"]}


def tiny_config(data_root: str | os.PathLike, dims: int = 2, mode: str = "seqsi", loss: str | None = None,
                out: str | os.PathLike = "runs/localization", seed: int = 1) -> dict:
    """A complete config with CPU-seconds settings, for demos and tests (the settings and
    why: seqsi/configs/localization_tiny.yaml)."""
    if dims not in TINY_PRESETS:
        raise ValueError(f"tiny_config: dims must be 2 or 3; got {dims!r}")
    overrides = {"experiment": f"loc{dims}d", "out": str(out), "seed": seed,
                 "data": {"root": str(data_root), "dims": dims}, "model": {"mode": mode, "loss": loss}}
    config = load_config(TINY_CONFIG, TINY_PRESETS[dims], [overrides])
    del config["preset"]  # a run made from it names no preset of an experiment folder's config
    return config


__all__ = ["DTYPES", "TINY_CONFIG", "method_names", "run_dir_for", "run_fields", "tiny_config"]
