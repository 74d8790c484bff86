"""`seqsi split-volume IMAGE MASK --out DIR`: one labelled volume cut into train/val/test blocks
without fragmenting objects (seqsi.prediction.split)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..data.bioimage import read_image, read_mask, read_spacing
from ..prediction.split import split_volume


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="the image or volume (TIFF)")
    parser.add_argument("mask", help="its integer label mask (TIFF, same shape)")
    parser.add_argument("--out", required=True, help="folder to write train/, val/, test/ into")
    parser.add_argument("--fractions", default="0.7,0.15,0.15", help="train,val,test shares of the axis")
    parser.add_argument("--axis", type=int, help="axis to cut along (default: the longest)")
    parser.add_argument("--search", type=int, help="pixels around each target cut searched for a clean plane")


def run(args: argparse.Namespace) -> int:
    image = read_image(args.image)
    labels = read_mask(args.mask, shape=image.shape)
    try:
        fractions = [float(f) for f in args.fractions.split(",")]
    except ValueError:
        raise ValueError(f"--fractions must be numbers like 0.7,0.15,0.15; got {args.fractions!r}") from None
    record = split_volume(image, labels, args.out, fractions=fractions, axis=args.axis, search=args.search,
                          spacing=read_spacing(args.image), name=Path(args.image).stem)
    blocks = ", ".join(f"{s} {b['start']}:{b['stop']} ({b['objects']} objects)" for s, b in record["blocks"].items())
    print(f"cut along axis {record['axis']} at {record['cuts']}: {blocks}; "
          f"{len(record['removed_pieces'])} cut piece(s) unlabelled in the block without their centroid")
    return 0
