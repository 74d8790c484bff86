"""Detection on network outputs and the fit of the detection threshold (paper, 2D localization).

Everything here takes RAW network outputs (spatial-only maps, no batch or channel axis)
plus the loss: the loss post-processes them (sigmoid or z-score), so a caller cannot
post-process twice or with the wrong rule.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize_scalar

from .losses import get_loss
from .matching import set_localization_score
from .peaks import find_peaks, local_maxima
from .scoremaps import check_labels, check_same_shape, label_centres

MAX_DIST_FIT = 12  # the paper's MAX_DIST for the threshold fit


SEARCHES = ("brent", "grid")


def detect_centres(output: np.ndarray, loss, threshold: float, *, sigma=1.0, window=5, tile=None,
                   border: str = "ignore") -> np.ndarray:
    """Centres (K, d) in one raw output map: the loss's post-processing, then find_peaks.

    Args:
        output: one raw network output map, spatial axes only (no batch or channel axis).
        loss: the loss the network was trained with, as a name ("bce", "zmse"), a LocalizationLoss or a
            Mode; it turns the output into a score map (sigmoid or z-score).
        threshold: detection threshold on the post-processed map (a probability for BCE, z-score units
            for ZMSE).
        sigma: blur standard deviation in pixels (see find_peaks).
        window: odd side in pixels of the local-maximum window (see find_peaks).
        tile: None, or the tile core size in pixels to bound memory (see find_peaks).
        border: "ignore" or "zero": how neighbours outside the map compare (see find_peaks).
    """
    return find_peaks(get_loss(loss).postprocess(output), threshold, sigma=sigma, window=window, tile=tile,
                      border=border)


def grid_search_min(fun, bounds, points: int = 11, rounds: int = 3) -> float:
    """The paper's iterative grid search (3D/tools/optim_tools.py): `points` evenly spaced
    values over `bounds` (ends included), keep the best (the first one on ties), zoom in to
    best +- one step, `rounds` times; returns the best value of the last round.

    The zoomed interval is not clipped to the original bounds, as in the paper.
    """
    if int(points) != points or points < 2 or int(rounds) != rounds or rounds < 1:
        raise ValueError(f"grid search needs points >= 2 and rounds >= 1; got points={points!r}, rounds={rounds!r}")
    steps = np.arange(points) / (points - 1)
    start, stop = (float(b) for b in bounds)
    for _ in range(int(rounds)):
        xs = start + steps * (stop - start)
        best = int(np.argmin([fun(x) for x in xs]))
        dx = xs[1] - xs[0]
        start, stop = xs[best] - dx, xs[best] + dx
    return float(xs[best])


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
    search: str = "brent",
    maxiter: int = 10,
    points: int = 11,
    rounds: int = 3,
    zscore_range=(0.5, 5.0),
    border: str = "ignore",
    return_score: bool = False,
):
    """The threshold that maximises the SET-level localization score of the validation images.

    The score is the paper's: TP, n_pred and n_ref summed over the images, one curve
    (seqsi.localization.set_accuracy_curve). It is maximised inside loss.threshold_bounds of
    the post-processed maps (z-score maps: `zscore_range`) by `search`: "brent", bounded
    scalar minimisation (scipy, at most `maxiter` iterations; the paper's 2D fit) or "grid",
    the paper's 3D iterative grid (`points` x `rounds`, see grid_search_min). The caller
    stores the value with the model's run config. Each map is blurred once: the search only
    re-thresholds its local maxima. With `return_score=True` returns (threshold, set score).

    Args:
        outputs: raw network output maps of the validation images, spatial axes only.
        reference_centres: true centres (K, d) in pixels of each image, in the order of `outputs`.
        loss: the training loss (name, LocalizationLoss or Mode); it post-processes the maps and gives
            the search interval.
        max_dist: a detection matches a true centre only when closer than this, in pixels (the paper's 12).
        sigma: blur standard deviation in pixels of the peak detection (see find_peaks).
        window: odd side in pixels of the local-maximum window (see find_peaks).
        search: "brent" (bounded scalar minimisation) or "grid" (the paper's iterative grid).
        maxiter: most iterations of the "brent" search; unused by "grid".
        points: grid values per round of the "grid" search; unused by "brent".
        rounds: zoom rounds of the "grid" search; unused by "brent".
        zscore_range: (low, high) search interval in z-score units for ZMSE maps; ignored for BCE, whose
            interval is 0.1 to 0.95 times the largest probability.
        border: "ignore" or "zero": how neighbours outside the map compare (see find_peaks).
        return_score: return (threshold, set score) instead of the threshold alone.
    """
    loss = get_loss(loss)
    if search not in SEARCHES:
        raise ValueError(f"threshold search must be one of {SEARCHES}; got {search!r}")
    outputs, reference_centres = list(outputs), list(reference_centres)
    if not outputs:
        raise ValueError("fit_threshold needs at least one validation output")
    if len(outputs) != len(reference_centres):
        raise ValueError(f"got {len(outputs)} outputs but {len(reference_centres)} reference centre sets")
    maps = [loss.postprocess(np.asarray(o)) for o in outputs]
    candidates = [local_maxima(m, sigma=sigma, window=window, border=border) for m in maps]
    low, high = loss.threshold_bounds(maps, zscore_range=zscore_range)
    if not low < high:
        raise ValueError(f"{loss.name}: empty threshold interval [{low}, {high}] (do the maps have any signal?)")

    def set_score(threshold: float) -> float:
        threshold = float(threshold)  # a Python float compares in the map's precision, as in find_peaks
        preds = [coords[values > threshold] for coords, values in candidates]
        return set_localization_score(preds, reference_centres, max_dist)

    if search == "brent":
        threshold = float(minimize_scalar(lambda t: -set_score(t), bounds=(low, high), method="bounded",
                                          options={"maxiter": maxiter}).x)
    else:
        threshold = grid_search_min(lambda t: -set_score(t), (low, high), points, rounds)
    return (threshold, set_score(threshold)) if return_score else threshold
