"""Write a seeded synthetic cryo-ET data set in the CZII raw layout (see seqsi.data.cryoet.synthetic).

    python classification/czi/generate_synthetic.py --out data/czi_synthetic --preset quick --seed 0

The result has the layout of the Kaggle data (train/static/... zarr tomograms, train/overlay/...
picks JSON), so prepare_classification_data.py runs on it unchanged.
"""
from __future__ import annotations

import argparse

from seqsi.cli import guarded
from seqsi.data.cryoet import PRESETS, generate_synthetic, preset


def missing_entry(text: str) -> tuple[int, str]:
    index, _, tomo_type = text.partition(":")
    if not index.isdigit() or not tomo_type:
        raise argparse.ArgumentTypeError(f"expected INDEX:TYPE (e.g. 3:wbp), got {text!r}")
    return int(index), tomo_type


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder to create (replaced atomically if it exists)")
    parser.add_argument("--preset", default="quick", choices=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n_tomograms", "--n-tomograms", type=int)
    parser.add_argument("--shape", type=int, nargs=3, metavar=("Z", "Y", "X"))
    parser.add_argument("--particles_per_tomogram", "--particles-per-tomogram", type=int)
    parser.add_argument("--distractors_per_tomogram", "--distractors-per-tomogram", type=int)
    parser.add_argument("--size_scale", "--size-scale", type=float, help="particle size factor (1 = real sizes at 10 A/voxel)")
    parser.add_argument("--noise", type=float, help="noise factor (1 = preset level)")
    parser.add_argument("--missing", type=missing_entry, action="append",
                        help="leave out one tomogram type of one run, INDEX:TYPE (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    return guarded(generate, args, prefix="generate_synthetic: error")


def generate(args: argparse.Namespace) -> int:
    cfg = preset(args.preset, n_tomograms=args.n_tomograms, shape=tuple(args.shape) if args.shape else None,
                 particles_per_tomogram=args.particles_per_tomogram,
                 distractors_per_tomogram=args.distractors_per_tomogram, size_scale=args.size_scale,
                 noise=args.noise, missing=tuple(args.missing) if args.missing else None)
    summary = generate_synthetic(args.out, cfg, seed=args.seed, progress=not args.quiet)
    n = sum(sum(r["picks"].values()) for r in summary["runs"].values())
    print(f"wrote {len(summary['runs'])} tomograms, {n} particles to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
