"""Detect objects in (or classify) a user's own images with a trained or shipped model.

    import seqsi
    found = seqsi.predict("nuclei2d", image)          # numpy array in, Detections out
    found.centres, found.values                         # (K, 2) pixel indices, z-scores

`seqsi predict MODEL INPUT... --out DIR` (seqsi.prediction.files) is the same on files.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch.nn as nn

from ..data.cryoet import CLASSES as CRYOET_CLASSES
from ..models import input_channels
from .core import (DEFAULT_MAX_PIXELS, DTYPES, FLOAT32_MAX_RATIO, ClassPrediction, Detections, classify, detect,
                   normalise, precision_for)
from .zoo import LoadedModel, load_any_model, pretrained, shipped

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def as_loaded(model, device: str = "cpu") -> LoadedModel:
    """A LoadedModel from a name, run folder, checkpoint path, LoadedModel or built seqsi model."""
    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, nn.Module):
        if not hasattr(model, "seqsi_spec"):
            raise ValueError("predict: the model must be built by seqsi (it carries seqsi_spec) or given by name/path")
        meta = getattr(model, "seqsi_checkpoint", {})
        return LoadedModel(model.eval(), type(model).__name__, Path("."), None,
                           getattr(model, "seqsi_threshold", None), meta)
    return load_any_model(model, device)


def loss_of(loaded: LoadedModel) -> str:
    """The model's localization loss: the one it was trained with, else its mode's paper pairing."""
    loss = (loaded.meta.get("config") or {}).get("model", {}).get("loss")
    return loss or loaded.model.seqsi_mode.default_loss


def class_names(loaded: LoadedModel) -> list[str]:
    experiment, dataset = loaded.meta.get("experiment"), loaded.meta.get("dataset")
    if dataset == "cifar10" or experiment == "cifar10":
        return list(CIFAR10_CLASSES)
    if dataset == "digits":
        return [str(i) for i in range(10)]
    if experiment == "czi":
        return list(CRYOET_CLASSES)
    return []


def check_model_fits_image(loaded: LoadedModel, shape: Sequence[int], name: str) -> None:
    """predict's own dims check (the reliability helper's checkpoint checks may replace it)."""
    if len(shape) != loaded.dims:
        raise ValueError(f"{name}: a {len(shape)}D image (shape {tuple(shape)}) for a {loaded.dims}D model "
                         f"({loaded.source}); use a {loaded.dims}D model or input")


def prepared(loaded: LoadedModel, dtype: str, device: str) -> nn.Module:
    return copy.deepcopy(loaded.model).to(device=device, dtype=DTYPES[dtype]).eval()


def predict(model, images, *, threshold: float | None = None, dtype: str = "float32", device: str = "cpu",
            max_pixels: int | None = DEFAULT_MAX_PIXELS, tile: int | None = None, batch_size: int = 1,
            keep_maps: bool = False, case: tuple[float, float] | None = None):
    """Detections (localization models) or class predictions of one array or a list of arrays.

    `model`: a shipped name, run folder, checkpoint or seqsi model. Arrays are spatial ((H, W)
    or (D, H, W)); a classifier of C > 1 channels takes (*spatial, C). `threshold` defaults to
    the run's threshold.json. `case=(a, b)` applies a*x + b after the normalisation.

    Args:
        model: a shipped model name, run folder, checkpoint path, LoadedModel or seqsi-built model.
        images: one numpy array (then one result is returned) or a sequence of arrays (then a list).
        threshold: detection threshold on the post-processed map; None uses the run's threshold.json.
            Localizers only.
        dtype: inference precision, "float32" or "float64".
        device: where the model runs.
        max_pixels: images with more pixels than this are predicted tile by tile; None never tiles.
            Localizers only.
        tile: tile core size in pixels; None uses 512 in 2D and 96 in 3D. Localizers only.
        batch_size: tiles per forward pass of a tiled image. Localizers only.
        keep_maps: keep each post-processed map in its Detections' `map`. Localizers only.
        case: None, or (a, b) to apply a*x + b after the normalisation. Localizers only.
    """
    loaded = as_loaded(model, device)
    single = isinstance(images, np.ndarray)
    arrays = [images] if single else list(images)
    net = prepared(loaded, dtype, device)
    out = []
    if loaded.is_localizer:
        t = loaded.threshold if threshold is None else float(threshold)
        if t is None:
            raise ValueError(f"{loaded.source}: no threshold.json beside the checkpoint; pass threshold=")
        for i, array in enumerate(arrays):
            array = np.asarray(array)
            check_model_fits_image(loaded, array.shape, f"image {i}")
            out.append(detect(net, loss_of(loaded), array, t, dtype=dtype, device=device, max_pixels=max_pixels,
                              tile=tile, batch_size=batch_size, case=case, keep_map=keep_maps))
    else:
        channels = input_channels(loaded.model)
        for i, array in enumerate(arrays):
            array = np.asarray(array)
            check_model_fits_image(loaded, array.shape[:-1] if channels > 1 else array.shape, f"image {i}")
            out.append(classify(net, array, class_names(loaded), channels_last=channels > 1, dtype=dtype,
                                device=device))
    return out[0] if single else out


__all__ = ["ClassPrediction", "DEFAULT_MAX_PIXELS", "Detections", "FLOAT32_MAX_RATIO", "LoadedModel", "as_loaded",
           "check_model_fits_image", "classify", "detect", "load_any_model", "loss_of", "normalise", "precision_for",
           "predict", "pretrained", "shipped"]
