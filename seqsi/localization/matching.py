"""Greedy closest-pair-first matching of centres, accuracy curve and score (the paper's).

The paper pairs predicted and reference centres by repeatedly taking the closest
remaining pair over the whole distance matrix and removing both points. Ties are broken
by the smaller predicted index, then the smaller reference index, i.e. pairs are ranked
by the key (distance, pred index, ref index). Distances are Euclidean in float64,
computed as sqrt(sum over axes, in axis order, of the squared differences), the same
formula everywhere so that ties are ties bit for bit.

Only matched distances < max_dist enter the accuracy curve, and a pair at distance >=
max_dist ranks after every closer pair, so it cannot change which closer pairs the
greedy takes. `match` therefore only ranks the candidate pairs within max_dist (found
with scipy's KD-tree), which is exactly the dense greedy restricted to distances < max_dist,
at O(n log n + candidates) cost instead of O(n^3), and takes them in rank order with a plain
loop: the candidate search dominates (benchmarks/localization.py).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def _points(points, name: str, dims: int | None = None) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, dims if dims is not None else (array.shape[-1] if array.ndim == 2 else 0)))
    if array.ndim != 2:
        raise ValueError(f"{name} must be a (K, d) array of coordinates; got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds non-finite coordinates")
    return array


def _check_pair(pred, ref):
    pred, ref = _points(pred, "pred"), _points(ref, "ref")
    if len(pred) and len(ref) and pred.shape[1] != ref.shape[1]:
        raise ValueError(f"pred and ref must have the same number of axes; got {pred.shape[1]} and {ref.shape[1]}")
    return pred, ref


def pair_distances(pred: np.ndarray, ref: np.ndarray, pred_index: np.ndarray, ref_index: np.ndarray) -> np.ndarray:
    """Distances of the given pairs, with the one formula that all rankings use."""
    total = np.zeros(len(pred_index))
    for axis in range(pred.shape[1]):
        diff = pred[pred_index, axis] - ref[ref_index, axis]
        total = total + diff * diff
    return np.sqrt(total)


def _candidates(pred, ref, max_dist):
    """All pairs with distance < max_dist, sorted by (distance, pred index, ref index)."""
    if not len(pred) or not len(ref):
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0)
    if np.isinf(max_dist):
        p, r = (a.ravel() for a in np.meshgrid(np.arange(len(pred)), np.arange(len(ref)), indexing="ij"))
    else:
        # Slightly wider than max_dist so the tree's own rounding cannot drop a pair
        # that our formula puts below max_dist; the exact test follows.
        radius = max_dist * (1 + 1e-9) + 1e-12
        found = cKDTree(pred).sparse_distance_matrix(cKDTree(ref), radius, output_type="ndarray")
        p, r = found["i"].astype(np.int64), found["j"].astype(np.int64)
    d = pair_distances(pred, ref, p, r)
    keep = d < max_dist
    p, r, d = p[keep], r[keep], d[keep]
    order = np.lexsort((r, p, d))
    return p[order], r[order], d[order]


def _greedy(p, r, n_pred: int, n_ref: int) -> np.ndarray:
    """Indices (into the ranked pair list) of the pairs the greedy takes: in rank order, every
    pair whose two points are both still free."""
    free_p, free_r, taken = [True] * n_pred, [True] * n_ref, []
    for k, (i, j) in enumerate(zip(p.tolist(), r.tolist())):
        if free_p[i] and free_r[j]:
            free_p[i] = free_r[j] = False
            taken.append(k)
    return np.asarray(taken, np.int64)


def match(pred, ref, max_dist: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Greedy closest-first matching, keeping the pairs closer than `max_dist`.

    Returns `pairs` (M, 2) int64 rows (pred index, ref index) and `distances` (M,),
    in the order the greedy takes them. max_dist=inf gives the full dense greedy
    (n_pred * n_ref candidate pairs: only for small sets).
    """
    pred, ref = _check_pair(pred, ref)
    max_dist = float(max_dist)
    if not max_dist > 0:
        raise ValueError(f"max_dist must be > 0; got {max_dist}")
    p, r, d = _candidates(pred, ref, max_dist)
    taken = _greedy(p, r, len(pred), len(ref))
    return np.stack((p[taken], r[taken]), axis=1), d[taken]


def match_dense(pred, ref, max_dist: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """The paper's definition, computed literally: repeatedly take the closest remaining pair of
    the whole distance matrix and remove both points. O(n_pred * n_ref) memory and a pass over
    the matrix per pair: the reference that `match` is tested and benchmarked against.

    np.argmin returns the first minimum in row-major order, so ties go to the smaller pred
    index, then the smaller ref index, which is `match`'s documented tie-break.
    """
    pred, ref = _check_pair(pred, ref)
    if not len(pred) or not len(ref):
        return np.zeros((0, 2), np.int64), np.zeros(0)
    diff = pred[:, None, :] - ref[None, :, :]
    squared = np.zeros(diff.shape[:2])
    for axis in range(diff.shape[2]):  # the summation order of pair_distances, so ties stay ties
        squared = squared + diff[..., axis] * diff[..., axis]
    dist = np.sqrt(squared)
    pairs, distances = [], []
    while True:
        i, j = np.unravel_index(np.argmin(dist), dist.shape)
        if not dist[i, j] < max_dist:
            break
        pairs.append((i, j))
        distances.append(dist[i, j])
        dist[i, :] = np.inf
        dist[:, j] = np.inf
    return np.array(pairs, np.int64).reshape(-1, 2), np.array(distances)


def _max_dist(max_dist) -> int:
    if isinstance(max_dist, bool) or int(max_dist) != max_dist or max_dist < 1:
        raise ValueError(f"max_dist must be a positive whole number of pixels (one curve bin each); got {max_dist!r}")
    return int(max_dist)


def match_counts(pred, ref, max_dist: int) -> tuple[np.ndarray, int, int]:
    """(tp, n_pred, n_ref) of one image: tp[k] = matches at distance < k + 1 (k < max_dist).

    Matched distances are binned in unit bins [0, 1), [1, 2), ..., so a pair exactly at
    k + 1 pixels counts from bin k + 1 on. Counts of several images add up to the counts
    of the set (see set_accuracy_curve).
    """
    max_dist = _max_dist(max_dist)
    pred, ref = _check_pair(pred, ref)
    _, distances = match(pred, ref, max_dist)
    hist = np.bincount(np.floor(distances).astype(np.int64), minlength=max_dist)[:max_dist]
    return np.cumsum(hist), len(pred), len(ref)


def curve_from_counts(tp: np.ndarray, n_pred: int, n_ref: int) -> np.ndarray:
    """curve[k] = TP_k / (n_ref + n_pred - TP_k); 1.0 everywhere when there is nothing at all
    (nothing to find, nothing wrongly found), 0 when only one side is empty."""
    tp = np.asarray(tp, dtype=np.float64)
    total = n_pred + n_ref
    if total == 0:
        return np.ones(len(tp))
    return tp / (total - tp)


def accuracy_curve(pred, ref, max_dist: int) -> np.ndarray:
    """One image's curve: curve[k] = TP_k / (n_ref + n_pred - TP_k), TP_k = matches at
    distance < k + 1 (see match_counts and curve_from_counts)."""
    return curve_from_counts(*match_counts(pred, ref, max_dist))


def set_accuracy_curve(preds, refs, max_dist: int) -> np.ndarray:
    """The curve of a SET of images, as the paper scores every test and validation set:
    TP_k, n_pred and n_ref are summed over the images, then one curve is computed.

    This is not the mean of the per-image curves: an image with many objects weighs more,
    and an image with nothing to find and nothing found adds nothing (instead of a 1.0).
    """
    preds, refs = list(preds), list(refs)
    if len(preds) != len(refs):
        raise ValueError(f"got {len(preds)} prediction sets but {len(refs)} reference sets")
    tp, n_pred, n_ref = np.zeros(_max_dist(max_dist), np.int64), 0, 0
    for pred, ref in zip(preds, refs):
        t, p, r = match_counts(pred, ref, max_dist)
        tp, n_pred, n_ref = tp + t, n_pred + p, n_ref + r
    return curve_from_counts(tp, n_pred, n_ref)


def localization_score(pred, ref, max_dist: int) -> float:
    """Mean of the accuracy curve: the paper's localization score (of one image)."""
    return float(np.mean(accuracy_curve(pred, ref, max_dist)))


def set_localization_score(preds, refs, max_dist: int) -> float:
    """Mean of the set-level accuracy curve: the paper's score of a set of images."""
    return float(np.mean(set_accuracy_curve(preds, refs, max_dist)))
