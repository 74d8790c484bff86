"""`seqsi predict MODEL INPUT... --out DIR`: detections (or classes) for a user's own files;
what is written is told in seqsi.prediction.files."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..engine.distributed import select_device
from ..prediction.core import DEFAULT_MAX_PIXELS
from ..prediction.files import predict_files


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
        return str(select_device("auto"))
    return name


def run(args: argparse.Namespace) -> int:
    result = predict_files(args.model, args.inputs, args.out, threshold=args.threshold, channel=args.channel,
                           device=_device(args.device), batch_size=args.batch_size, dtype=args.dtype,
                           max_pixels=args.max_pixels, tile=args.tile, save_maps=args.save_maps,
                           overlay=not args.no_overlay, progress=not args.quiet)
    out, source = Path(args.out), result.loaded.source
    if result.value is None:
        print(f"{len(result.rows)} image(s) classified ({source}); {out / 'classes.csv'}")
        return 0
    total = sum(r["count"] for r in result.rows)
    print(f"{len(result.rows)} image(s), {total} detections ({source}, threshold {result.threshold:.4g} on the "
          f"{result.value}); results in {out}/ (summary.csv, <image>.csv, <image>.png)")
    return 0
