"""Detections and class predictions on arrays: what `seqsi predict` and `seqsi.predict` compute.

Localization, per image: min-max normalise to [0, 1] (in float64, then the inference
dtype), optionally apply x -> a*x + b (the invariance experiment), run the network whole or
tile by tile (images over `max_pixels`), post-process the WHOLE stitched raw map with the
model's loss (sigmoid for BCE, z-score for ZMSE), then blur, local maxima and threshold.
Each tile of a SEqSI network computes a*f(x) for a*x + b, so the stitched map is a*f(x) and
its z-score, computed once over the whole map, is exactly the untransformed one: tiling
keeps the guarantee. (A z-score per tile would not: each tile would get its own statistics.)

Precision: the normalised input lies in [0, 1]; a*x + b in float32 has a rounding step of
about |b| * 6e-8, i.e. a relative error of 6e-8 * |b| / a of the signal's range a. With the
shipped nuclei2d model on generated images, float32 kept every detection up to |b| / a = 1e3,
moved 3.5 % of them at 1e4 and 41 % at 1e5 (a = 0.01, b = 1000); float64 moved none at any
ratio. Plain prediction has a = 1, b = 0, so float32 is the default; `precision_for(cases)`
picks float64 where a case goes beyond FLOAT32_MAX_RATIO (1e2, ten times inside the range
measured exact).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn

from ..localization import find_peaks, get_loss, is_tiled, predict_map
from ..localization.signal import has_signal, no_detections
from ..logits import NO_CLASS, classes_of, report_nonfinite

DTYPES = {"float32": torch.float32, "float64": torch.float64}
FLOAT32_MAX_RATIO = 100.0  # |b| / a up to which float32 keeps every detection (tests/test_predict_precision.py)
DEFAULT_MAX_PIXELS = 4_194_304  # 2048^2 or 161^3: larger inputs are predicted tile by tile
DEFAULT_TILE = {2: 512, 3: 96}


@dataclass
class Detections:
    """Centres (K, d) in pixel indices, the post-processed map's value at each, and facts."""

    centres: np.ndarray
    values: np.ndarray
    threshold: float
    shape: tuple[int, ...]
    seconds: float = 0.0
    tiled: bool = False
    map: np.ndarray | None = None  # post-processed map (z-score or probability), if asked for


@dataclass
class ClassPrediction:
    label: int
    name: str
    probabilities: dict[str, float] = field(default_factory=dict)


def precision_for(cases: Sequence[tuple[float, float]] = ()) -> str:
    """float32, unless a case's |b| / a exceeds FLOAT32_MAX_RATIO (then float64)."""
    worst = max((abs(b) / abs(a) for a, b in cases), default=0.0)
    return "float64" if worst > FLOAT32_MAX_RATIO else "float32"


def normalise(image: np.ndarray) -> np.ndarray:
    """(x - min) / (max - min) in float64; a constant image maps to zeros (no contrast)."""
    x = np.asarray(image, dtype=np.float64)
    low, high = float(x.min()), float(x.max())
    return np.zeros_like(x) if not high > low else (x - low) / (high - low)


def detect(net: nn.Module, loss, image: np.ndarray, threshold: float, *, dtype: str = "float32", device="cpu",
           max_pixels: int | None = DEFAULT_MAX_PIXELS, tile: int | None = None, batch_size: int = 1,
           case: tuple[float, float] | None = None, keep_map: bool = False) -> Detections:
    """Detections in one spatial image by a localization network in eval mode, `dtype` and on `device`.

    Args:
        net: the localization network, already in eval mode, in `dtype` and on `device`.
        loss: its loss (name, LocalizationLoss or Mode), which post-processes the stitched raw map.
        image: one spatial image (H, W) or volume (D, H, W), any numeric dtype; it is min-max normalised.
        threshold: detection threshold on the post-processed map (a probability for BCE, a z-score for ZMSE).
        dtype: inference precision, "float32" or "float64".
        device: where the network runs.
        max_pixels: images with more pixels than this are predicted tile by tile; None never tiles.
        tile: tile core size in pixels; None uses 512 in 2D and 96 in 3D.
        batch_size: tiles per forward pass of a tiled image.
        case: None, or (a, b) to feed a*x + b instead of the normalised image x (the invariance experiment).
        keep_map: keep the post-processed map (as float32) in the result's `map`.
    """
    start = time.perf_counter()
    loss = get_loss(loss)
    x = normalise(image)
    torch_dtype = DTYPES[dtype]
    x = x.astype(np.float32 if torch_dtype == torch.float32 else np.float64)
    if case is not None:
        a, b = case
        x = x * x.dtype.type(a) + x.dtype.type(b)  # in the inference precision, as the network sees it
    raw = predict_map(net, x, dtype=torch_dtype, device=device, max_pixels=max_pixels,
                      tile=tile or DEFAULT_TILE[x.ndim], tile_batch_size=batch_size)
    post = loss.postprocess(raw)  # over the whole stitched map
    # an input without signal (a constant image, under any a*x + b) has no detections in any mode
    centres = find_peaks(post, threshold) if has_signal(x) else no_detections(x.ndim)
    values = post[tuple(centres.T)] if len(centres) else np.zeros(0, post.dtype)
    return Detections(centres, np.asarray(values, dtype=np.float64), float(threshold), tuple(image.shape),
                      time.perf_counter() - start, is_tiled(x, max_pixels),
                      post.astype(np.float32) if keep_map else None)


def to_unit_range(image: np.ndarray) -> np.ndarray:
    """What the classifiers were trained on: uint8 / 255 (ToTensor's rule); other integers by
    their dtype's maximum; floats as they are."""
    x = np.asarray(image)
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float64) / float(np.iinfo(x.dtype).max)
    return x.astype(np.float64)


def classify(net: nn.Module, image: np.ndarray, class_names: Sequence[str], *, channels_last: bool,
             dtype: str = "float32", device="cpu") -> ClassPrediction:
    """Softmax class probabilities of one image (spatial, or spatial + channels last)."""
    x = to_unit_range(image)
    x = np.moveaxis(x, -1, 0) if channels_last else x[None]
    with torch.no_grad():
        logits = net(torch.as_tensor(x, dtype=DTYPES[dtype])[None].to(device))[0]
    probs = torch.softmax(logits.double(), 0).cpu().numpy()
    if len(class_names) != len(probs):
        class_names = [f"class_{i}" for i in range(len(probs))]
    classes, nonfinite = classes_of(logits[None])
    label = int(classes[0])
    if nonfinite:
        report_nonfinite(nonfinite, 1, "predict")
        return ClassPrediction(NO_CLASS, "none (non-finite output)", {str(n): float("nan") for n in class_names})
    return ClassPrediction(label, str(class_names[label]), {str(n): float(p) for n, p in zip(class_names, probs)})
