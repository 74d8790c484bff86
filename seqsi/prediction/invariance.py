"""`seqsi invariance MODEL [INPUT...] --cases "0.01,1000 50,-3"`: do detections move under a*x + b?

For any 2D or 3D localization run (or shipped model) and any images: per image, the
centres found on the normalised image x are the reference; for each case the centres found
on a*x + b (applied AFTER the min-max normalisation, as the network sees it) are matched to
them, and acc0 (the share found at distance 0, accuracy_curve[0]) is reported. 1.0 means no
detection moved. Without INPUT the run's own test images are used.

Why after the normalisation: min-max normalisation alone maps a*raw + b (a > 0) back to the
same x, so on the raw file every model, Standard included, is blind to a global a, b. What
the network's guarantee adds shows where normalisation cannot help (an artifact or
saturation moving the min or max, spatially varying gain, tiles); cases after normalisation
test exactly the network's own invariance. `--dtype auto` picks float64 when a case has
|b| / a > FLOAT32_MAX_RATIO (the float32 input itself is quantised there).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..io import write_csv
from ..localization import accuracy_curve
from . import as_loaded, check_model_fits_image, detect, loss_of, prepared
from .core import DEFAULT_MAX_PIXELS, precision_for
from .readers import find_inputs, read_input, select_channel


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


def invariance_rows(model, images: list[tuple[str, np.ndarray]], cases, *, dtype: str = "auto", threshold=None,
                    max_dist: int = 6, device: str = "cpu", max_pixels: int | None = DEFAULT_MAX_PIXELS,
                    tile: int | None = None) -> list[dict]:
    """One row per (image, case): detections on x and on a*x + b, and acc0 of the second against the first."""
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


def _run_images(loaded) -> list[tuple[str, np.ndarray]]:
    config = loaded.meta.get("config") or {}
    root = (config.get("data") or {}).get("root")
    if not root or not (Path(root) / "test").is_dir():
        raise ValueError(f"{loaded.source}: give INPUT images (the run's test folder {root!r}/test is not here)")
    from ..data.bioimage import BioimageDataset

    dataset = BioimageDataset(Path(root) / "test", ndim=loaded.dims, require_masks=False)
    return [(item["name"], item["image"]) for item in dataset]


def run(args: argparse.Namespace) -> int:
    cases = parse_cases(args.cases)
    loaded = as_loaded(args.model, args.device)
    if args.inputs:
        images = []
        for path in find_inputs(args.inputs):
            image = read_input(path)
            images.append((image.name, select_channel(image, args.channel)))
    else:
        images = _run_images(loaded)
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
