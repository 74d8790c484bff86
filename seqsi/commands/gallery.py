"""`seqsi gallery IMAGE_OR_VOLUME -o out.png`: one image under every corruption of a suite
(seqsi.photometric.gallery draws it)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..photometric.gallery import READERS, read_array, save_gallery, to_batch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="a 2D image (gray or RGB) or a 3D volume (z, y, x): " + ", ".join(READERS))
    parser.add_argument("-o", "--output", required=True, help="PNG file to write")
    parser.add_argument("--suite", help="packaged suite name or YAML path (default: cifar10 for 2D, fluorescence for 3D)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the corruption draws (default 0)")
    parser.add_argument("--view", choices=("mip", "slice"), default="mip",
                        help="3D: maximum projections (default) or central slices")
    parser.add_argument("--kind", choices=("auto", "image", "volume"), default="auto",
                        help="how to read a 3-dimensional array: auto = (H, W, 3|4) is RGB, anything else a volume")
    parser.add_argument("--range", choices=("panel", "unit"), default="panel", dest="display_range",
                        help="display range: each panel's own [min, max] (default) or [0, 1] for all")
    parser.add_argument("--columns", type=int, default=5, help="panels per row (default 5)")


def run(args: argparse.Namespace) -> int:
    path = Path(args.image)
    x = to_batch(read_array(path), args.kind, str(path))
    suite = args.suite or ("fluorescence" if x.ndim == 5 else "cifar10")
    n, skipped = save_gallery(x, args.output, suite=suite, seed=args.seed, view=args.view,
                              unit_range=args.display_range == "unit", columns=args.columns, name=path.name)
    print(f"wrote {args.output}: {n} panels (suite {suite}, seed {args.seed})")
    if skipped:
        print(f"skipped for {x.ndim - 2}D data: {', '.join(skipped)}")
    return 0
