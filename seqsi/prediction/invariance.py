"""Do detections move under a*x + b? `invariance_rows` compares, per image, the centres found
on the normalised image x (the reference) with those found on a*x + b for each case: acc0
(the share found at distance 0, accuracy_curve[0]) of 1.0 means no detection moved.
`seqsi invariance` (seqsi.commands.invariance) runs it on any run and any images.

Why after the normalisation: min-max normalisation alone maps a*raw + b (a > 0) back to the
same x, so on the raw file every model, Standard included, is blind to a global a, b. What
the network's guarantee adds shows where normalisation cannot help (an artifact or
saturation moving the min or max, spatially varying gain, tiles); cases after normalisation
test exactly the network's own invariance. `dtype="auto"` picks float64 when a case has
|b| / a > FLOAT32_MAX_RATIO (the float32 input itself is quantised there).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.bioimage import BioimageDataset
from ..localization import accuracy_curve
from . import LoadedModel, as_loaded, check_model_fits_image, detect, loss_of, prepared
from .core import DEFAULT_MAX_PIXELS, precision_for


def invariance_rows(model, images: list[tuple[str, np.ndarray]], cases, *, dtype: str = "auto", threshold=None,
                    max_dist: int = 6, device: str = "cpu", max_pixels: int | None = DEFAULT_MAX_PIXELS,
                    tile: int | None = None) -> list[dict]:
    """One row per (image, case): detections on x and on a*x + b, and acc0 of the second against the first.

    Args:
        model: a shipped model name, run folder, checkpoint path, LoadedModel or seqsi-built localizer.
        images: (name, spatial array) pairs; the name labels the rows and the error messages.
        cases: (a, b) pairs; a*x + b is applied after the min-max normalisation.
        dtype: inference precision, "float32", "float64" or "auto" (float64 when a case has
            |b| / a > FLOAT32_MAX_RATIO).
        threshold: detection threshold on the post-processed map; None uses the run's threshold.json.
        max_dist: matching range in pixels of the accuracy curve; acc0, its first bin, counts matches closer
            than 1 pixel.
        device: where the model runs.
        max_pixels: images with more pixels than this are predicted tile by tile; None never tiles.
        tile: tile core size in pixels; None uses 512 in 2D and 96 in 3D.
    """
    loaded = as_loaded(model, device)
    dtype = precision_for(cases) if dtype == "auto" else dtype
    threshold = loaded.threshold if threshold is None else float(threshold)
    if threshold is None:
        raise ValueError(f"{loaded.source}: no threshold.json beside the checkpoint; pass --threshold")
    net, loss = prepared(loaded, dtype, device), loss_of(loaded)
    kwargs = dict(dtype=dtype, device=device, max_pixels=max_pixels, tile=tile)
    rows = []
    for name, array in images:
        check_model_fits_image(loaded, array.shape, name)
        reference = detect(net, loss, array, threshold, **kwargs).centres
        for a, b in cases:
            moved = detect(net, loss, array, threshold, case=(a, b), **kwargs).centres
            acc0 = float(accuracy_curve(moved, reference, max_dist)[0]) if len(reference) or len(moved) else 1.0
            rows.append({"image": name, "a": a, "b": b, "dtype": dtype, "n_reference": len(reference),
                         "n_moved": len(moved), "acc0": acc0})
    return rows


def run_test_images(loaded: LoadedModel) -> list[tuple[str, np.ndarray]]:
    """(name, image) of every image of the run's own test folder, as its config names it."""
    config = loaded.meta.get("config") or {}
    root = (config.get("data") or {}).get("root")
    if not root or not (Path(root) / "test").is_dir():
        raise ValueError(f"{loaded.source}: give INPUT images (the run's test folder {root!r}/test is not here)")
    dataset = BioimageDataset(Path(root) / "test", ndim=loaded.dims, require_masks=False)
    return [(item["name"], item["image"]) for item in dataset]
