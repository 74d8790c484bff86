#!/usr/bin/env python
"""Score trained 3D runs against ground truth on every alteration of SPEC section 5 and on the
bright-artifact sets (test/arti_<k>/), MAX_DIST 6.

Each run is rebuilt from its best.pt with its fitted threshold (threshold.json). Altered
volumes come from a fixed seed, so every model sees the same ones. Volumes with more than
eval.max_pixels voxels are predicted in tiles (exact receptive-field overlap by default).
Writes results.csv and per_image.csv in each run folder and, for the first test volume (or
--overlay names), orthogonal max projections with detected and ground-truth centres under
<run>/overlays/<test set>/<volume>.png.

    python eval.py runs/loc3d
    python eval.py runs/loc3d/seqsi-zmse/none/seed1 --data_path my_volumes --artifact_masks clean
    python eval.py runs/loc3d --dtype float64 --max_pixels 1000000 --tile 64 --overlap 32
"""
from __future__ import annotations

import argparse

from seqsi.cli import guarded
from seqsi.engine.distributed import select_device
from seqsi.engine.experiment import RESULTS
from seqsi.engine.localization import evaluate_run, find_runs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run folders, or folders searched for runs (best.pt)")
    parser.add_argument("--data_path", help="override the data folder recorded in the run (same layout)")
    parser.add_argument("--artifact_sets", choices=("folders", "suite", "none"),
                        help="folders: test/arti_<k>/; suite: simulated artifacts on the clean volumes; none")
    parser.add_argument("--artifact_masks", choices=("own", "clean"),
                        help="clean: score artifact folders without masks/ against test/masks")
    parser.add_argument("--dtype", choices=("float32", "float64"), help="inference precision (default: config)")
    parser.add_argument("--max_pixels", type=int, help="volumes with more voxels are predicted in tiles")
    parser.add_argument("--tile", type=int, help="tile core size (voxels per axis)")
    parser.add_argument("--overlap", type=int, help="context around each tile (default: exact receptive margin)")
    parser.add_argument("--seed", type=int, help="seed of the altered volumes (default: config)")
    parser.add_argument("--overlay", nargs="*", default=None, help="volume names to draw (default: the first)")
    parser.add_argument("--overlay_sets", nargs="*", default=["none"], help="test sets to draw (default: none)")
    parser.add_argument("--skip_done", action="store_true", help=f"skip runs that already have {RESULTS}")
    parser.add_argument("--progress", action="store_true", help="print each volume")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    device = select_device(args.device)
    keys = ("artifact_sets", "artifact_masks", "dtype", "max_pixels", "tile", "overlap", "seed")
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    for run in find_runs(args.runs):
        if args.skip_done and (run / RESULTS).is_file():
            continue
        rows = evaluate_run(run, data_root=args.data_path, eval_overrides=overrides, device=device,
                            overlay_images=args.overlay, overlay_sets=args.overlay_sets, progress=args.progress)
        scores = {r["testset"]: r["value"] for r in rows if r["metric"] == "score"}
        line = ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
        print(f"{run}: score {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
