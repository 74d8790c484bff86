"""A DSB2018-layout data set cut from the one embedded real image, so 2D localization runs offline.

The embedded sample (`seqsi/data/embedded/dsb2018_sample/`: one 512 x 512 fluorescence image
with 125 labelled nuclei, CC0 / BSD-3, see its README) is cut into disjoint regions:

    train/train_0   rows   0-255, cols   0-255   (top-left quadrant)
    train/train_1   rows   0-255, cols 256-511   (top-right quadrant)
    val/val_0       rows 256-511, cols   0-255   (bottom-left quadrant)
    test/test_0     rows 256-511, cols 256-511   (bottom-right quadrant)

Each region is written as `<split>/images/<name>.tif` and `<split>/masks/<name>.tif` (the
StarDist DSB2018 layout) plus `<split>/scores/<name>.tif`. A nucleus cut by a region border
becomes one object in each region it reaches, with labels renumbered 1..K per region; a
fragment smaller than `min_fragment` pixels is set to background, because its centroid sits
on the border and no detector could be expected to find it. No pixel is in two regions, so
test numbers are measured on nuclei the model never saw (only the halves of nuclei cut by
the middle lines are shared, as halves).
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np

from seqsi.io import atomic_dir, check_replaceable, write_json

from .bioimage import IMAGES, MASKS, read_image, read_mask, write_score_maps, write_tiff

SAMPLE = "dsb2018_sample"
REGIONS: dict[str, list[tuple[str, tuple[slice, slice]]]] = {
    "train": [("train_0", (slice(0, 256), slice(0, 256))), ("train_1", (slice(0, 256), slice(256, 512)))],
    "val": [("val_0", (slice(256, 512), slice(0, 256)))],
    "test": [("test_0", (slice(256, 512), slice(256, 512)))],
}


def sample_files() -> tuple[Path, Path]:
    """Paths of the embedded image and mask (inside the installed package)."""
    folder = resources.files("seqsi.data") / "embedded" / SAMPLE
    image, mask = Path(str(folder / "image.tif")), Path(str(folder / "mask.tif"))
    if not image.is_file() or not mask.is_file():
        raise FileNotFoundError(f"the embedded DSB2018 sample is missing from the installed package ({folder}); "
                                "reinstall seqsi with its package data")
    return image, mask


def relabel_region(mask: np.ndarray, min_fragment: int = 10) -> np.ndarray:
    """Labels 1..K in order of the old ids, dropping objects smaller than `min_fragment` pixels."""
    ids, inverse, sizes = np.unique(mask, return_inverse=True, return_counts=True)
    keep = (ids > 0) & (sizes >= min_fragment)
    new_ids = np.zeros(len(ids), dtype=np.int64)
    new_ids[keep] = np.arange(1, int(keep.sum()) + 1)
    return new_ids[inverse].reshape(mask.shape).astype(np.uint16)


def build_sample_dataset(out: str | os.PathLike, *, min_fragment: int = 10, overwrite: bool = False) -> Path:
    """Write the train/val/test folders described in the module docstring under `out`.

    The folder is written atomically. An existing non-empty `out` is refused unless
    `overwrite=True` and it was written by this function (it holds `sample.json`).
    Returns `out`.
    """
    out = Path(out)
    check_replaceable(out, "sample.json", overwrite)
    image_path, mask_path = sample_files()
    image = read_image(image_path, ndim=2)
    mask = read_mask(mask_path, ndim=2, shape=image.shape)
    record: dict = {"source": "seqsi/data/embedded/dsb2018_sample (DSB2018 stage 1, CC0; via StarDist, BSD-3)",
                    "min_fragment": min_fragment, "regions": {}}
    with atomic_dir(out) as tmp:
        for split, regions in REGIONS.items():
            for name, (rows, cols) in regions:
                labels = relabel_region(mask[rows, cols], min_fragment)
                write_tiff(tmp / split / IMAGES / f"{name}.tif", image[rows, cols])
                write_tiff(tmp / split / MASKS / f"{name}.tif", labels)
                record["regions"][name] = {"split": split, "rows": [rows.start, rows.stop],
                                           "cols": [cols.start, cols.stop], "objects": int(labels.max())}
            write_score_maps(tmp / split)
        write_json(tmp / "sample.json", record)
    return out


__all__ = ["REGIONS", "build_sample_dataset", "relabel_region", "sample_files"]
