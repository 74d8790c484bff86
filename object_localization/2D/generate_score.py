#!/usr/bin/env python
"""Write the ground-truth score maps (<split>/scores/*.tif) of a DSB2018-layout folder.

    python generate_score.py data/dsb2018

Score = (max d - d) / its max inside each object, d the distance to the object's centroid
(as the paper; seqsi.localization.score_map). Training computes missing maps on the fly, so this
step only saves time when a data set is used many times.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from seqsi.cli import guarded
from seqsi.data.bioimage import write_score_maps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="folder holding train/ and test/ (and optionally val/)")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    splits = [p for p in sorted(args.root.iterdir()) if (p / "images").is_dir()] if args.root.is_dir() else []
    if not splits:
        raise SystemExit(f"error: no <split>/images/ folder under {args.root}")
    for split in splits:
        written = write_score_maps(split, overwrite=args.overwrite)
        print(f"{split}: {len(written)} score map(s) written")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
