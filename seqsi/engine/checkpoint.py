"""Checkpoints: written atomically, read with torch.load(weights_only=True).

A checkpoint records what rebuilds its model (the model spec: name, mode, dims,
config), the experiment and data set it belongs to and the library version, so an
evaluation script needs nothing but the file.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..io import atomic_path
from ..models import model_from_spec

FORMAT = "seqsi-checkpoint-1"


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **payload}, tmp)


def load_checkpoint(path: str | Path, experiment: str | None = None, map_location: str | torch.device = "cpu") -> dict:
    """Load and validate; `experiment` rejects a checkpoint of another experiment."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if is_torchscript(path):
        raise ValueError(f"{path} is a TorchScript file (seqsi export --to torchscript), not a SEqSI checkpoint: "
                         "pass the run folder or its best.pt, or run the export with torch.jit.load")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated, corrupted, or not a torch file at all
        raise ValueError(f"checkpoint {path} cannot be read (corrupted or not a SEqSI checkpoint): {err}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a SEqSI checkpoint (expected format {FORMAT!r})")
    if experiment is not None and payload.get("experiment") != experiment:
        raise ValueError(
            f"checkpoint {path} belongs to experiment {payload.get('experiment')!r}, not {experiment!r}"
        )
    return payload


def is_torchscript(path: str | Path) -> bool:
    """A TorchScript archive (seqsi export's .ts) holds code/ entries; a torch.save archive does not."""
    try:
        with zipfile.ZipFile(path) as z:
            return any("/code/" in n for n in z.namelist())
    except (zipfile.BadZipFile, OSError):  # not a zip, or a damaged one: the caller's reader says what is wrong
        return False


def load_model(path: str | Path, experiment: str | None = None, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model a checkpoint was trained as, with its weights, in eval mode."""
    payload = load_checkpoint(path, experiment, map_location)
    model = model_from_spec(payload["model_spec"])
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as err:
        raise ValueError(f"checkpoint {path}: weights do not fit the recorded model spec: {err}") from None
    model.seqsi_checkpoint = {k: v for k, v in payload.items() if k not in ("model", "optimizer", "scheduler", "rng")}
    return model.eval()
