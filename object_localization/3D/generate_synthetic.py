"""Generate the synthetic 3D fluorescence data set (the paper's was never published).

    python object_localization/3D/generate_synthetic.py --out data/fluo3d --preset quick --preview fluo3d.png

Writes <out>/{train,val,test}/{images,masks,scores}/*.tif, <out>/test/arti_<k>/{images,masks}/
and <out>/dataset.json. The image model and its defaults are documented in
seqsi/data/fluorescence.py; the same --seed gives byte-identical files.
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from seqsi.cli import guarded
from seqsi.data.bioimage import IMAGES, MASKS, read_image, read_mask
from seqsi.data.fluorescence import ARTIFACT_LEVELS, SPLITS, preset, volume_name, write_dataset
from seqsi.localization import label_centres
from seqsi.report.views import save_orthogonal_views


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, type=Path, help="data set folder to create")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preset", choices=("quick", "paper"), default="paper")
    for split in SPLITS:
        p.add_argument(f"--n-{split}", type=int, default=None, help=f"number of {split} volumes")
    p.add_argument("--shape", type=int, nargs=3, metavar=("Z", "Y", "X"), help="volume shape in voxels")
    p.add_argument("--voxel_size", "--voxel-size", type=float, nargs=3, metavar=("Z", "Y", "X"), help="voxel size in micrometres")
    p.add_argument("--density", type=float, help="objects per 1000 um^3")
    p.add_argument("--count", type=int, help="exact number of objects per volume (overrides --density)")
    p.add_argument("--artifact_levels", "--artifact-levels", type=float, nargs="*", default=list(ARTIFACT_LEVELS),
                   help="k of the arti_<k> test sets (none: no artifact sets)")
    p.add_argument("--overwrite", action="store_true", help="replace a data set this script wrote before")
    p.add_argument("--preview", type=Path, help="PNG of orthogonal views of the first test volume "
                                                "(slices; a max projection goes to <name>_max.png)")
    return p.parse_args(argv)


def preview(root: Path, split: str, png: Path, spacing) -> None:
    """Orthogonal views through the largest of the five objects nearest the volume centre
    (a nucleus, usually: small dim spots hide under their markers), and max projections."""
    name = volume_name(split, 0)
    image = read_image(root / split / IMAGES / f"{name}.tif", ndim=3)
    mask = read_mask(root / split / MASKS / f"{name}.tif", ndim=3, shape=image.shape)
    centres, ids = label_centres(mask, return_labels=True)
    middle = (np.array(image.shape) - 1) / 2
    at = middle
    if len(centres):
        near = np.argsort(((centres - middle) ** 2).sum(1))[:5]
        sizes = np.bincount(mask.ravel())[ids[near]]
        at = centres[near[np.argmax(sizes)]]
    points = {"ground-truth centres": centres}
    save_orthogonal_views(image, png, points=points, spacing=spacing, at=at,
                          title=f"{name}: slices through an object near the centre")
    save_orthogonal_views(image, png.with_name(f"{png.stem}_max.png"), points=points, spacing=spacing,
                          projection="max", title=f"{name}: maximum projections")


def main(argv=None) -> int:
    args = parse_args(argv)
    params, counts = preset(args.preset)
    overrides = {"shape": args.shape, "voxel_size": args.voxel_size, "density": args.density, "count": args.count}
    params = params.replace(**{k: v for k, v in overrides.items() if v is not None})
    counts.update({s: getattr(args, f"n_{s}") for s in SPLITS if getattr(args, f"n_{s}") is not None})
    start = time.time()

    def progress(split, index, record):
        print(f"  {split} {index + 1}/{counts[split]}: {record['n_objects']} objects", flush=True)

    print(f"generating {counts} volumes of shape {params.shape} (voxel {params.voxel_size} um), seed {args.seed}")
    meta = write_dataset(args.out, params, seed=args.seed, counts=counts, artifact_levels=args.artifact_levels,
                         overwrite=args.overwrite, progress=progress)
    n_objects = [r["n_objects"] for records in meta["volumes"].values() for r in records]
    print(f"wrote {args.out} in {time.time() - start:.1f} s: {sum(counts.values())} volumes, "
          f"{np.mean(n_objects):.1f} objects per volume (min {min(n_objects)}, max {max(n_objects)}), "
          f"artifact sets {meta['artifact_folders'] if counts['test'] else []}")
    for key, value in dataclasses.asdict(params).items():
        print(f"  {key} = {value}")
    if args.preview is not None:
        split = next(s for s in ("test", "val", "train") if counts[s])
        preview(args.out, split, args.preview, params.voxel_size)
        print(f"preview: {args.preview} and {args.preview.with_name(args.preview.stem + '_max.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main, prefix="generate_synthetic: error"))
