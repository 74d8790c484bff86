"""Cut one labelled image or volume into train / val / test blocks without fragmenting objects
(`seqsi split-volume image.tif masks.tif --out data/mine --fractions 0.7,0.15,0.15`).

The blocks are slabs along one axis (default: the longest). Each cut is placed, within
`search` pixels of where the fractions put it, on the plane that crosses the fewest objects
(a plane through background when there is one). An object that a cut still crosses is kept
whole-labelled in the block holding its centroid; its piece in the other block is removed
from that block's mask (set to 0) and so is not counted as an object there, and it is
listed in `split.json`. The layout is the localization experiments' (`<split>/images`,
`<split>/masks`), with the voxel size of the source file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from ..data.bioimage import IMAGES, MASKS, write_tiff
from ..io import write_json

SPLITS = ("train", "val", "test")


def crossing_counts(labels: np.ndarray, axis: int) -> np.ndarray:
    """counts[k] = number of objects present on both sides of a cut before index k (k = 1..n-1)."""
    n = labels.shape[axis]
    ids = np.unique(labels)
    ids = ids[ids > 0]
    if not len(ids):
        return np.zeros(n + 1, int)
    present = np.zeros((len(ids), n), bool)  # object i has pixels in plane k
    lookup = np.searchsorted(ids, labels)
    for k in range(n):
        plane = np.take(labels, k, axis=axis)
        present[np.unique(lookup.take(k, axis=axis)[plane > 0]), k] = True
    first = present.argmax(1)
    last = n - 1 - present[:, ::-1].argmax(1)
    counts = np.zeros(n + 1, int)
    for lo, hi in zip(first, last):
        counts[lo + 1: hi + 1] += 1  # a cut at k separates planes < k from planes >= k
    return counts


def cut_positions(labels: np.ndarray, axis: int, fractions, search: int) -> list[int]:
    n = labels.shape[axis]
    counts = crossing_counts(labels, axis)
    cuts, previous = [], 0
    for target in np.cumsum(fractions)[:-1] * n:
        lo, hi = max(previous + 1, int(target) - search), min(n - 1, int(target) + search)
        if lo > hi:
            raise ValueError(f"split: axis {axis} of length {n} is too short for fractions {list(fractions)}")
        window = np.arange(lo, hi + 1)
        best = window[np.lexsort((np.abs(window - target), counts[window]))[0]]  # fewest crossings, then nearest
        cuts.append(int(best))
        previous = int(best)
    return cuts


def split_volume(image: np.ndarray, labels: np.ndarray, out: str | Path, *, fractions=(0.7, 0.15, 0.15),
                 axis: int | None = None, search: int | None = None, spacing=None, name: str = "block") -> dict:
    """Write the blocks; returns the record written to `<out>/split.json`.

    Args:
        image: the image or volume to cut.
        labels: its integer object mask, the same shape (0 is background, each object one label).
        out: folder to write `<split>/images/`, `<split>/masks/` and `split.json` into.
        fractions: (train, val, test) shares of the axis length, positive and summing to 1.
        axis: the axis cut into slabs; None picks the longest.
        search: how many pixels a cut may move from where the fractions put it; None means 1/20 of the
            axis length (at least 1).
        spacing: pixel or voxel size in micrometres written into the TIFF files; None writes none.
        name: file name prefix of the blocks (`<name>_<split>.tif`).
    """
    if image.shape != labels.shape:
        raise ValueError(f"split: image shape {image.shape} differs from the mask shape {labels.shape}")
    fractions = [float(f) for f in fractions]
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"--fractions must be three positive numbers summing to 1 (train,val,test); got {fractions}")
    axis = int(np.argmax(image.shape)) if axis is None else int(axis)
    if not 0 <= axis < image.ndim:
        raise ValueError(f"--axis must be 0..{image.ndim - 1}; got {axis}")
    n = image.shape[axis]
    search = max(1, n // 20) if search is None else int(search)
    cuts = cut_positions(labels, axis, fractions, search)
    bounds = [0, *cuts, n]
    ids = np.unique(labels)
    ids = ids[ids > 0]
    centroids = ndi.center_of_mass(np.ones_like(labels), labels, ids) if len(ids) else []
    home = {int(i): int(np.searchsorted(cuts, c[axis] + 0.5, side="right")) for i, c in zip(ids, centroids)}
    out = Path(out)
    record = {"axis": axis, "cuts": cuts, "fractions": fractions, "blocks": {}, "removed_pieces": []}
    for b, split in enumerate(SPLITS):
        index = [slice(None)] * image.ndim
        index[axis] = slice(bounds[b], bounds[b + 1])
        block_img, block_lab = image[tuple(index)], labels[tuple(index)].copy()
        present = np.unique(block_lab)
        for i in present[present > 0]:
            if home[int(i)] != b:
                block_lab[block_lab == i] = 0
                record["removed_pieces"].append({"label": int(i), "block": split, "kept_in": SPLITS[home[int(i)]]})
        write_tiff(out / split / IMAGES / f"{name}_{split}.tif", block_img, spacing=spacing, compression="zlib")
        write_tiff(out / split / MASKS / f"{name}_{split}.tif", block_lab.astype(np.int32), spacing=spacing,
                   compression="zlib")
        record["blocks"][split] = {"start": bounds[b], "stop": bounds[b + 1],
                                   "objects": int(len(np.unique(block_lab)) - 1)}
    write_json(out / "split.json", record)
    return record
