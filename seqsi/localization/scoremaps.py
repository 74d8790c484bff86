"""Ground truth for localization: score maps and object centres from integer label masks.

A label mask holds 0 for background and one positive integer per object (any values,
not necessarily consecutive). Coordinates are array indices in axis order: (y, x) in
2D, (z, y, x) in 3D. Everything is vectorised over objects (one pass over the
foreground pixels), so masks with 10^4 objects cost the same as masks with ten.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def check_labels(labels: np.ndarray, name: str = "labels") -> np.ndarray:
    """Return `labels` as an array, or raise if it is not an integer label mask.

    Float and bool masks are refused rather than guessed at: a bool mask merges touching
    objects and a float mask may hold interpolated, non-integer labels.
    """
    labels = np.asarray(labels)
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.integer):
        hint = " (label the objects first, e.g. skimage.measure.label)" if labels.dtype == bool else ""
        raise TypeError(f"{name} must be an integer label mask; got dtype {labels.dtype}{hint}")
    if labels.ndim == 0:
        raise ValueError(f"{name} must have at least one spatial dimension; got a scalar")
    if labels.size and labels.min() < 0:
        raise ValueError(f"{name} must hold 0 (background) and positive object labels; found {labels.min()}")
    return labels


def check_same_shape(image: np.ndarray, labels: np.ndarray, image_name: str = "image",
                     labels_name: str = "labels") -> None:
    """Raise if an image (or map) and its label mask do not cover the same pixels."""
    if np.shape(image) != np.shape(labels):
        raise ValueError(
            f"{image_name} and {labels_name} must have the same shape; "
            f"got {image_name} {np.shape(image)} and {labels_name} {np.shape(labels)}"
        )


def check_spacing(spacing: float | Sequence[float] | None, ndim: int, name: str = "spacing") -> np.ndarray:
    """Pixel/voxel size per axis (any unit) as float64 (ndim,); None means isotropic 1."""
    if spacing is None:
        return np.ones(ndim)
    try:
        values = np.asarray(spacing, dtype=np.float64)
    except (TypeError, ValueError):
        values = np.full(0, np.nan)
    if values.ndim == 0:
        values = np.full(ndim, float(values))
    if values.shape != (ndim,) or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"{name} must be one positive number or {ndim} positive numbers; got {spacing!r}")
    return values


def _objects(labels: np.ndarray):
    """Foreground pixel coordinates, their compact object index, and object values/sizes."""
    flat = np.flatnonzero(labels)
    values, index, sizes = np.unique(labels.ravel()[flat], return_inverse=True, return_counts=True)
    coords = np.unravel_index(flat, labels.shape)
    return flat, coords, index, values, sizes


def _centroids(coords, index, sizes) -> np.ndarray:
    k = len(sizes)
    if not k:
        return np.zeros((0, len(coords)))
    return np.stack([np.bincount(index, weights=c, minlength=k) / sizes for c in coords], axis=1)


def label_centres(labels: np.ndarray, return_labels: bool = False, *, biased: bool = False):
    """Centroids (K, d) of the objects of a label mask, in index order (z, y, x) / (y, x).

    Rows follow increasing label value; a mask without objects gives a (0, d) array.
    With `return_labels=True` also returns the label value of each row. `biased=True`
    gives the paper's 3D reference centres instead (see biased_label_centres).
    """
    labels = check_labels(labels)
    _, coords, index, values, sizes = _objects(labels)
    if biased:
        centres = _biased_centroids(coords, index, sizes)
    else:
        centres = _centroids(coords, index, sizes)
    return (centres, values) if return_labels else centres


def _biased_centroids(coords, index, sizes) -> np.ndarray:
    k = len(sizes)
    if not k:
        return np.zeros((0, len(coords)))
    low = [np.full(k, np.iinfo(np.int64).max) for _ in coords]
    high = [np.full(k, -1) for _ in coords]
    for a, c in enumerate(coords):
        np.minimum.at(low[a], index, c)
        np.maximum.at(high[a], index, c)
    inside = np.all([c < high[a][index] for a, c in enumerate(coords)], axis=0)
    return np.stack([low[a] + np.bincount(index[inside], weights=(c - low[a][index])[inside], minlength=k) / sizes
                     for a, c in enumerate(coords)], axis=1)


def biased_label_centres(labels: np.ndarray) -> np.ndarray:
    """The paper's 3D reference centres (3D/tools/mask_processing.py), kept behind a flag.

    Its code sums coordinates over the object's bounding box sliced [min:max], which drops
    the last plane along EVERY axis, and divides by the full voxel count: each centre is
    pulled towards the box's low corner and shrunk towards it (an object one voxel thick
    along an axis lands on its low corner). Perfect detections at the true centroids score
    about 0.81 against these centres on the paper-like volumes. Same layout as label_centres.
    """
    return label_centres(labels, biased=True)


def score_map(labels: np.ndarray, spacing: float | Sequence[float] | None = None) -> np.ndarray:
    """The ground-truth score map (float32, shape of `labels`) of the paper's 2D localization.

    For each object with centroid c, let d(p) = |p - c| over its pixels p. The score is
    (max d - d(p)) divided by its own maximum, max d - min d. Hence, exactly:
    - 0 outside objects and at each object's pixel(s) farthest from its centroid;
    - 1 at each object's pixel(s) nearest to its centroid (the centroid pixel when the
      centroid falls on a pixel centre), and below 1 elsewhere in that object (a pixel
      whose distance is within float rounding of the minimum may also round to 1);
    - 1 on the whole object when all its pixels are equally far from the centroid
      (one pixel, two pixels, a 2x2 square...), where the ratio would be 0/0.
    `spacing` (one number per axis, e.g. (2.0, 1.0, 1.0) for anisotropic z) measures d
    in physical units; it moves which pixel is nearest, not the centroid's index.
    Labels are disjoint, so "pixel-wise max over objects" is the value of the one object
    a pixel belongs to. A mask without objects gives an all-zero map.
    """
    labels = check_labels(labels)
    step = check_spacing(spacing, labels.ndim)
    flat, coords, index, _, sizes = _objects(labels)
    out = np.zeros(labels.shape, dtype=np.float32)
    if not len(flat):
        return out
    centres = _centroids(coords, index, sizes)
    dist = np.sqrt(sum(((c - centres[index, a]) * step[a]) ** 2 for a, c in enumerate(coords)))
    order = np.argsort(index, kind="stable")
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    far = np.maximum.reduceat(dist[order], starts)[index]
    near = np.minimum.reduceat(dist[order], starts)[index]
    span = far - near
    flat_object = span <= 0
    score = np.where(flat_object, 1.0, (far - dist) / np.where(flat_object, 1.0, span))
    out.ravel()[flat] = score
    return out
