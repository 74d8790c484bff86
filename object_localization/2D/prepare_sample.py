#!/usr/bin/env python
"""Build a train/val/test folder in the DSB2018 layout from the embedded real sample (offline).

    python prepare_sample.py --out data/dsb2018_sample

The one embedded 512 x 512 image (DSB2018, CC0, via StarDist) is cut into four disjoint
quadrants: two for train, one for val, one for test; see seqsi/data/dsb_sample.py.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from seqsi.cli import guarded
from seqsi.data.dsb_sample import build_sample_dataset


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data/dsb2018_sample"))
    parser.add_argument("--min_fragment", type=int, default=10, help="drop nuclei fragments smaller than this (px)")
    parser.add_argument("--overwrite", action="store_true", help="rebuild a folder this script wrote before")
    args = parser.parse_args(argv)
    try:
        out = build_sample_dataset(args.out, min_fragment=args.min_fragment, overwrite=args.overwrite)
    except FileExistsError as err:
        print(f"prepare_sample: {err}")
        return 0 if (args.out / "sample.json").is_file() else 2
    regions = json.loads((out / "sample.json").read_text())["regions"]
    for name, r in regions.items():
        print(f"  {r['split']:<5} {name}: rows {r['rows']}, cols {r['cols']}, {r['objects']} nuclei")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
