#!/usr/bin/env python
"""Score trained runs against ground truth on the clean and every altered test set.

Each run is rebuilt from its best.pt, with the threshold fitted after training
(threshold.json). Altered images are generated from a fixed seed, so every model sees the
same ones. Writes results.csv and per_image.csv in each run folder, and overlays of
detected and ground-truth centres under <run>/overlays/<test set>/<image>.png.

    python eval.py runs/loc2d                                   # every run below a folder
    python eval.py runs/loc2d/seqsi-zmse/none/seed1 --overlay test_0 --overlay_sets none shift noise_high
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
    parser.add_argument("--data_path", help="override the data folder recorded in the run")
    parser.add_argument("--overlay", nargs="*", default=None, help="image names to draw (default: the first)")
    parser.add_argument("--overlay_sets", nargs="*", default=["none"], help="test sets to draw (default: none)")
    parser.add_argument("--dtype", choices=("float32", "float64"), help="inference precision (default: config)")
    parser.add_argument("--seed", type=int, help="seed of the altered test images (default: config)")
    parser.add_argument("--skip_done", action="store_true", help=f"skip runs that already have {RESULTS}")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    device = select_device(args.device)
    overrides = {k: v for k, v in (("dtype", args.dtype), ("seed", args.seed)) if v is not None}
    for run in find_runs(args.runs):
        if args.skip_done and (run / RESULTS).is_file():
            continue
        rows = evaluate_run(run, data_root=args.data_path, eval_overrides=overrides, device=device,
                            overlay_images=args.overlay, overlay_sets=args.overlay_sets)
        scores = {r["testset"]: r["value"] for r in rows if r["metric"] == "score"}
        worst = min(scores, key=scores.get)
        print(f"{run}: clean score {scores.get('none', float('nan')):.4f}, worst {worst} {scores[worst]:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
