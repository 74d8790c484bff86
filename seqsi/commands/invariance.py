"""`seqsi invariance MODEL [INPUT...] --cases "0.01,1000 50,-3"`: do detections move under a*x + b?

For any 2D or 3D localization run (or shipped model) and any images: per image, the
centres found on the normalised image x are the reference; for each case the centres found
on a*x + b (applied AFTER the min-max normalisation, as the network sees it) are matched to
them, and acc0 (the share found at distance 0, accuracy_curve[0]) is reported. 1.0 means no
detection moved. Without INPUT the run's own test images are used.

Why after the normalisation: see seqsi.prediction.invariance. `--dtype auto` picks float64
when a case has |b| / a > FLOAT32_MAX_RATIO (the float32 input itself is quantised there).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..io import write_csv
from ..prediction import as_loaded
from ..prediction.core import DEFAULT_MAX_PIXELS
from ..prediction.invariance import invariance_rows, run_test_images
from ..prediction.readers import find_inputs, read_input, select_channel


def parse_cases(text: str) -> list[tuple[float, float]]:
    """"0.01,1000 50,-3" -> [(0.01, 1000.0), (50.0, -3.0)]; a must be positive."""
    cases = []
    for item in text.replace(";", " ").split():
        a, sep, b = item.partition(",")
        try:
            case = (float(a), float(b))
        except ValueError:
            raise ValueError(f"--cases: {item!r} is not a pair a,b (e.g. --cases \"0.01,1000 50,-3\")") from None
        if not sep or not case[0] > 0 or not all(np.isfinite(case)):
            raise ValueError(f"--cases: {item!r} needs a > 0 and finite a,b (the guarantee covers positive scales)")
        cases.append(case)
    if not cases:
        raise ValueError("--cases is empty; give pairs a,b separated by spaces")
    return cases


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a shipped model's name, a run folder or a checkpoint")
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="images (default: the run's test images)")
    parser.add_argument("--cases", default="0.01,0 255,0 1,100 0.5,-2 3,5",
                        help='pairs a,b applied after the normalisation, e.g. "0.01,1000 50,-3"')
    parser.add_argument("--dtype", choices=("auto", "float32", "float64"), default="auto")
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--channel", type=int)
    parser.add_argument("--max_dist", type=int, default=6, help="matching distance of the accuracy curve (pixels)")
    parser.add_argument("--max_pixels", type=int, default=DEFAULT_MAX_PIXELS)
    parser.add_argument("--tile", type=int)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", help="write invariance.csv here")


def run(args: argparse.Namespace) -> int:
    cases = parse_cases(args.cases)
    loaded = as_loaded(args.model, args.device)
    if args.inputs:
        images = []
        for path in find_inputs(args.inputs):
            image = read_input(path)
            images.append((image.name, select_channel(image, args.channel)))
    else:
        images = run_test_images(loaded)
    rows = invariance_rows(loaded, images, cases, dtype=args.dtype, threshold=args.threshold, max_dist=args.max_dist,
                           device=args.device, max_pixels=args.max_pixels, tile=args.tile)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        write_csv(Path(args.out) / "invariance.csv", rows)
    print(f"{loaded.source}: {len(images)} image(s), {rows[0]['dtype'] if rows else args.dtype}, a*x + b after the "
          "min-max normalisation; acc0 = share of detections that did not move")
    for a, b in cases:
        values = [r["acc0"] for r in rows if r["a"] == a and r["b"] == b]
        print(f"  a={a:<8g} b={b:<8g} acc0 {np.mean(values):.3f}")
    return 0
