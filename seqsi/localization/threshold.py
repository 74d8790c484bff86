"""Detection on network outputs and the fit of the detection threshold (SPEC section 4).

Everything here takes RAW network outputs (spatial-only maps, no batch or channel axis)
plus the loss: the loss post-processes them (sigmoid or z-score), so a caller cannot
post-process twice or with the wrong rule.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize_scalar

from .losses import get_loss
from .matching import localization_score
from .peaks import find_peaks, local_maxima
from .scoremaps import check_labels, check_same_shape, label_centres

MAX_DIST_FIT = 12  # the paper's MAX_DIST for the threshold fit


def detect_centres(output: np.ndarray, loss, threshold: float, *, sigma=1.0, window=5, tile=None) -> np.ndarray:
    """Centres (K, d) in one raw output map: the loss's post-processing, then find_peaks."""
    return find_peaks(get_loss(loss).postprocess(output), threshold, sigma=sigma, window=window, tile=tile)


def centres_from_masks(masks: Sequence[np.ndarray], maps: Sequence[np.ndarray] | None = None) -> list[np.ndarray]:
    """Reference centres of each label mask, checking each mask against its map's shape."""
    masks = list(masks)
    if maps is not None:
        maps = list(maps)
        if len(maps) != len(masks):
            raise ValueError(f"got {len(maps)} maps but {len(masks)} masks")
        for i, (m, mask) in enumerate(zip(maps, masks)):
            check_same_shape(m, mask, f"map {i}", f"mask {i}")
    return [label_centres(check_labels(mask, f"mask {i}")) for i, mask in enumerate(masks)]


def fit_threshold(
    outputs: Sequence[np.ndarray],
    reference_centres: Sequence[np.ndarray],
    loss,
    max_dist: int = MAX_DIST_FIT,
    *,
    sigma=1.0,
    window=5,
    maxiter: int = 10,
    return_score: bool = False,
):
    """The threshold that maximises the mean localization score over validation images.

    Bounded scalar minimisation (scipy, at most `maxiter` iterations, as in the paper) of
    minus the mean score, inside loss.threshold_bounds of the post-processed maps. The
    caller stores the value with the model's run config. Each map is blurred once: the
    search only re-thresholds its local maxima. With `return_score=True` returns
    (threshold, mean score at that threshold).
    """
    loss = get_loss(loss)
    outputs, reference_centres = list(outputs), list(reference_centres)
    if not outputs:
        raise ValueError("fit_threshold needs at least one validation output")
    if len(outputs) != len(reference_centres):
        raise ValueError(f"got {len(outputs)} outputs but {len(reference_centres)} reference centre sets")
    maps = [loss.postprocess(np.asarray(o)) for o in outputs]
    candidates = [local_maxima(m, sigma=sigma, window=window) for m in maps]
    low, high = loss.threshold_bounds(maps)
    if not low < high:
        raise ValueError(f"{loss.name}: empty threshold interval [{low}, {high}] (do the maps have any signal?)")

    def mean_score(threshold: float) -> float:
        threshold = float(threshold)  # a Python float compares in the map's precision, as in find_peaks
        return float(np.mean([
            localization_score(coords[values > threshold], ref, max_dist)
            for (coords, values), ref in zip(candidates, reference_centres)
        ]))

    result = minimize_scalar(lambda t: -mean_score(t), bounds=(low, high), method="bounded",
                             options={"maxiter": maxiter})
    threshold = float(result.x)
    return (threshold, mean_score(threshold)) if return_score else threshold
