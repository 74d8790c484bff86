"""Detections (or classes) for a user's own files, written into one folder (`seqsi predict`).

Localization models write, per image, `<name>.csv` (napari points: axis-0, axis-1[, axis-2]
in pixels, the detection's z-score (ZMSE) or probability (BCE), and z_um/y_um/x_um when the
file states its voxel size) and `<name>.png` (overlay; 3D: max projections, plus
`<name>_slices.png` for dense volumes), `maps/<name>.tif` with save_maps, and one
`summary.csv`. Classifiers write `classes.csv`, one row per input.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..data.bioimage import write_tiff
from ..io import write_csv
from . import (LoadedModel, as_loaded, check_model_fits_image, class_names, classify, detect, input_channels,
               loss_of, prepared)
from .core import DEFAULT_MAX_PIXELS
from .outputs import save_overlay, write_centres
from .readers import find_inputs, read_input, select_channel


@dataclass
class PredictedFiles:
    """What predict_files wrote: the rows of summary.csv (localizers) or classes.csv (classifiers)."""

    loaded: LoadedModel
    rows: list[dict]
    threshold: float | None = None  # localizers: the detection threshold used
    value: str | None = None        # localizers: what a detection's value is, "zscore" or "probability"


def predict_files(model, inputs: list[str], out: str | Path, *, threshold: float | None = None,
                  channel: int | None = None, device: str = "cpu", batch_size: int = 1, dtype: str = "float32",
                  max_pixels: int | None = DEFAULT_MAX_PIXELS, tile: int | None = None, save_maps: bool = False,
                  overlay: bool = True, progress: bool = True) -> PredictedFiles:
    """Predict every image that `inputs` (files, folders, globs) names and write the results to `out`.

    `model`: a shipped name, run folder, checkpoint or seqsi model; `threshold` defaults to
    the run's threshold.json.

    Args:
        model: a shipped model name, run folder, checkpoint path, LoadedModel or seqsi-built model.
        inputs: image files, Zarr folders, folders (their supported files) or glob patterns, in order.
        out: folder for the results; created if needed.
        threshold: detection threshold on the post-processed map; None uses the run's threshold.json.
            Localizers only.
        channel: which channel of a multi-channel image to use (0-based); None when the image has one
            channel, or as many as the model takes.
        device: where the model runs.
        batch_size: tiles per forward pass of a tiled image, at least 1. Localizers only.
        dtype: inference precision, "float32" or "float64".
        max_pixels: images with more pixels than this are predicted tile by tile; None never tiles.
            Localizers only.
        tile: tile core size in pixels; None uses 512 in 2D and 96 in 3D. Localizers only.
        save_maps: also write each post-processed map as `maps/<name>.tif`. Localizers only.
        overlay: also write `<name>.png`, the image with its detections. Localizers only.
        progress: show a progress bar over the images.
    """
    if batch_size < 1:
        raise ValueError(f"--batch_size must be >= 1; got {batch_size}")
    loaded = as_loaded(model, device)
    paths = find_inputs(inputs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    net = prepared(loaded, dtype, device)
    if not loaded.is_localizer:
        return _classify_all(loaded, net, paths, out, channel=channel, dtype=dtype, device=device, progress=progress)
    threshold = threshold if threshold is not None else loaded.threshold
    if threshold is None:
        raise ValueError(f"{loaded.source}: no threshold.json beside the checkpoint; pass --threshold")
    loss = loss_of(loaded)
    value_name = "zscore" if loss == "zmse" else "probability"
    summary = []
    for path in tqdm(paths, desc="predict", unit="image", disable=not progress):
        start = time.perf_counter()
        image = read_input(path)
        array = select_channel(image, channel)
        check_model_fits_image(loaded, array.shape, str(path))
        found = detect(net, loss, array, threshold, dtype=dtype, device=device, max_pixels=max_pixels,
                       tile=tile, batch_size=batch_size, keep_map=save_maps)
        write_centres(out / f"{image.name}.csv", found.centres, found.values, image.voxel_size, value_name)
        if save_maps:
            write_tiff(out / "maps" / f"{image.name}.tif", found.map, spacing=image.voxel_size)
        if overlay:
            save_overlay(array, found.centres, out / f"{image.name}.png", spacing=image.voxel_size,
                         title=f"{image.name}: {len(found.centres)} detections ({loaded.source})")
        summary.append({"image": image.name, "path": str(path), "shape": "x".join(map(str, array.shape)),
                        "voxel_size_um": "" if image.voxel_size is None else
                        "x".join(f"{v:g}" for v in image.voxel_size),
                        "count": len(found.centres), "threshold": threshold, "value": value_name,
                        "tiled": found.tiled, "dtype": dtype, "seconds": round(time.perf_counter() - start, 3)})
    write_csv(out / "summary.csv", summary)
    return PredictedFiles(loaded, summary, threshold, value_name)


def _classify_all(loaded, net, paths, out: Path, *, channel, dtype, device, progress) -> PredictedFiles:
    channels = input_channels(loaded.model)
    names = class_names(loaded)
    rows = []
    for path in tqdm(paths, desc="classify", unit="image", disable=not progress):
        image = read_input(path)
        array = select_channel(image, channel, wanted=channels)
        check_model_fits_image(loaded, array.shape[:-1] if channels > 1 else array.shape, str(path))
        result = classify(net, array, names, channels_last=channels > 1, dtype=dtype, device=device)
        rows.append({"image": image.name, "path": str(path), "class": result.name, "class_id": result.label,
                     **{f"p_{k}": round(v, 6) for k, v in result.probabilities.items()}})
    write_csv(out / "classes.csv", rows)
    return PredictedFiles(loaded, rows)
