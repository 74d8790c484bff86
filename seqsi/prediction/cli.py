"""`seqsi predict MODEL INPUT... --out DIR`: detections (or classes) for a user's own files.

Localization models write, per image, `<name>.csv` (napari points: axis-0, axis-1[, axis-2]
in pixels, the detection's z-score (ZMSE) or probability (BCE), and z_um/y_um/x_um when the
file states its voxel size) and `<name>.png` (overlay; 3D: max projections, plus
`<name>_slices.png` for dense volumes), `maps/<name>.tif` with --save_maps, and one
`summary.csv`. Classifiers write `classes.csv`, one row per input.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from tqdm import tqdm

from ..io import write_csv
from . import (as_loaded, check_model_fits_image, class_names, classify, detect, input_channels, loss_of, prepared)
from .core import DEFAULT_MAX_PIXELS
from .outputs import save_overlay, write_centres
from .readers import find_inputs, read_input, select_channel


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a shipped model's name (seqsi models), a run folder or a checkpoint (best.pt)")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, folders or globs: TIFF, PNG/JPEG (2D), MRC, Zarr/OME-Zarr (3D)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--threshold", type=float, help="detection threshold (default: the run's threshold.json)")
    parser.add_argument("--channel", type=int, help="channel to use in a multi-channel image (0-based)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... or auto")
    parser.add_argument("--batch_size", type=int, default=1, help="tiles run together through the network")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="inference precision; float32 is exact enough on normalised inputs (see README)")
    parser.add_argument("--max_pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help="images with more pixels are predicted tile by tile (memory budget)")
    parser.add_argument("--tile", type=int, help="tile core size in pixels per axis (default 512 in 2D, 96 in 3D)")
    parser.add_argument("--save_maps", action="store_true", help="also write the output maps as TIFF (maps/)")
    parser.add_argument("--no_overlay", action="store_true", help="skip the overlay PNGs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _device(name: str) -> str:
    if name == "auto":
        from ..engine.distributed import select_device

        return str(select_device("auto"))
    return name


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise ValueError(f"--batch_size must be >= 1; got {args.batch_size}")
    device = _device(args.device)
    loaded = as_loaded(args.model, device)
    paths = find_inputs(args.inputs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    net = prepared(loaded, args.dtype, device)
    if not loaded.is_localizer:
        return _classify_all(loaded, net, paths, out, args, device)
    threshold = args.threshold if args.threshold is not None else loaded.threshold
    if threshold is None:
        raise ValueError(f"{loaded.source}: no threshold.json beside the checkpoint; pass --threshold")
    loss = loss_of(loaded)
    value_name = "zscore" if loss == "zmse" else "probability"
    summary = []
    for path in tqdm(paths, desc="predict", unit="image", disable=args.quiet):
        start = time.perf_counter()
        image = read_input(path)
        array = select_channel(image, args.channel)
        check_model_fits_image(loaded, array.shape, str(path))
        found = detect(net, loss, array, threshold, dtype=args.dtype, device=device, max_pixels=args.max_pixels,
                       tile=args.tile, batch_size=args.batch_size, keep_map=args.save_maps)
        write_centres(out / f"{image.name}.csv", found.centres, found.values, image.voxel_size, value_name)
        if args.save_maps:
            from ..data.bioimage import write_tiff

            write_tiff(out / "maps" / f"{image.name}.tif", found.map, spacing=image.voxel_size)
        if not args.no_overlay:
            save_overlay(array, found.centres, out / f"{image.name}.png", spacing=image.voxel_size,
                         title=f"{image.name}: {len(found.centres)} detections ({loaded.source})")
        summary.append({"image": image.name, "path": str(path), "shape": "x".join(map(str, array.shape)),
                        "voxel_size_um": "" if image.voxel_size is None else
                        "x".join(f"{v:g}" for v in image.voxel_size),
                        "count": len(found.centres), "threshold": threshold, "value": value_name,
                        "tiled": found.tiled, "dtype": args.dtype, "seconds": round(time.perf_counter() - start, 3)})
    write_csv(out / "summary.csv", summary)
    total = sum(r["count"] for r in summary)
    print(f"{len(summary)} image(s), {total} detections ({loaded.source}, threshold {threshold:.4g} on the "
          f"{value_name}); results in {out}/ (summary.csv, <image>.csv, <image>.png)")
    return 0


def _classify_all(loaded, net, paths, out: Path, args, device) -> int:
    channels = input_channels(loaded.model)
    names = class_names(loaded)
    rows = []
    for path in tqdm(paths, desc="classify", unit="image", disable=args.quiet):
        image = read_input(path)
        array = select_channel(image, args.channel, wanted=channels)
        check_model_fits_image(loaded, array.shape[:-1] if channels > 1 else array.shape, str(path))
        result = classify(net, array, names, channels_last=channels > 1, dtype=args.dtype, device=device)
        rows.append({"image": image.name, "path": str(path), "class": result.name, "class_id": result.label,
                     **{f"p_{k}": round(v, 6) for k, v in result.probabilities.items()}})
    write_csv(out / "classes.csv", rows)
    print(f"{len(rows)} image(s) classified ({loaded.source}); {out / 'classes.csv'}")
    return 0
