"""Cut particle patches per tomogram type and split (by tomogram) from CZII-layout or MRC data.

    python classification/czi/prepare_classification_data.py --data_root data/czii --out data/czi_patches

Reads <root>/[train/]static/ExperimentRuns/<run>/VoxelSpacing10.000/<type>.zarr (or .mrc) and
<root>/[train/]overlay/ExperimentRuns/<run>/Picks/<class>.json, or the flat layout
<root>/<run>/<type>.mrc + <root>/<run>/Picks/<class>.json. Writes <out>/<type>/<split>/
(patches/*.npy + metadata.csv) and <out>/prepare.json; --visualize adds <out>/examples/<type>/<class>.png.
"""
from __future__ import annotations

import argparse

from seqsi.cli import guarded
from seqsi.data.cryoet import CLASSES, TOMO_TYPES, prepare_classification_data
from seqsi.report.views import save_orthogonal_views


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_root", "--data-root", required=True, help="folder holding train/ (CZII) or one folder per run (flat)")
    parser.add_argument("--out", required=True, help="folder to create (replaced atomically if it exists)")
    parser.add_argument("--patch_size", "--patch-size", type=int, nargs="+", default=[64], help="one size or Z Y X (paper: 64)")
    parser.add_argument("--tomo_types", "--tomo-types", nargs="+", default=list(TOMO_TYPES))
    parser.add_argument("--classes", nargs="+", default=list(CLASSES), help="class names in id order")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--val_fraction", "--val-fraction", type=float, default=0.05)
    parser.add_argument("--test_fraction", "--test-fraction", type=float, default=0.15)
    parser.add_argument("--voxel_size", "--voxel-size", type=float, help="Angstrom; overrides the files' own voxel size")
    parser.add_argument("--spacing_dir", "--spacing-dir", default="VoxelSpacing10.000", help="voxel-spacing folder in the CZII layout")
    parser.add_argument("--visualize", action="store_true", help="one PNG per type and class, three orthogonal slices")
    parser.add_argument("--skip_missing_chunks", "--skip-missing-chunks", action="store_true",
                        help="leave out (and count) patches over zarr chunks absent from the store; default: an error")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if len(args.patch_size) not in (1, 3):
        parser.error("--patch_size takes one size or three (Z Y X)")
    return guarded(prepare, args, prefix="prepare_classification_data: error")


def prepare(args: argparse.Namespace) -> int:
    summary = prepare_classification_data(
        args.data_root, args.out, patch_size=args.patch_size[0] if len(args.patch_size) == 1 else args.patch_size,
        tomo_types=args.tomo_types, classes=args.classes, seed=args.seed, val_fraction=args.val_fraction,
        test_fraction=args.test_fraction, voxel_size=args.voxel_size, spacing_dir=args.spacing_dir,
        draw_example=save_orthogonal_views if args.visualize else None, progress=not args.quiet,
        skip_missing_chunks=args.skip_missing_chunks)
    for split, runs in summary["splits"].items():
        print(f"{split}: {len(runs)} tomograms ({', '.join(runs)})")
    for t, by_split in summary["counts"].items():
        print(f"{t}: " + ", ".join(f"{s} {sum(c.values())}" for s, c in by_split.items()) + " patches")
    print(f"picks outside the volume skipped: {summary['skipped_outside_total']}; "
          f"missing tomograms: {summary['missing_types_total']} {summary['missing_types'] or ''}")
    if summary["skipped_missing_chunks_total"]:
        print(f"patches left out over missing zarr chunks: {summary['skipped_missing_chunks_total']} "
              f"{summary['skipped_missing_chunks']}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
