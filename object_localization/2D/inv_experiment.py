#!/usr/bin/env python
"""The invariance experiment of the paper (2D/inv_experiment.py): for the 10 (lambda, mu) cases, detect centres on
lambda * x + mu and on x (x = a test image min-max normalised to [0, 1], float64 inference),
match them (MAX_DIST 10) and report accuracy_curve[0]; 1.0 = no detection moved.
Writes invariance.csv (metric acc0) in each run folder.

    python inv_experiment.py runs/loc2d
"""
from __future__ import annotations

import argparse

from loc2d import EXPERIMENT
from seqsi.cli import guarded
from seqsi.engine.distributed import select_device
from seqsi.engine.localization import INVARIANCE_FILE as INVARIANCE
from seqsi.engine.localization import find_runs, invariance_run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run folders, or folders searched for runs (best.pt)")
    parser.add_argument("--data_path", help="override the data folder recorded in the run")
    parser.add_argument("--skip_done", action="store_true", help=f"skip runs that already have {INVARIANCE}")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    device = select_device(args.device)
    for run in find_runs(args.runs):
        if args.skip_done and (run / INVARIANCE).is_file():
            continue
        rows = invariance_run(run, data_root=args.data_path, device=device, experiment=EXPERIMENT)
        worst = min(rows, key=lambda r: r["value"])
        print(f"{run}: accuracy_curve[0] min over cases {worst['value']:.4f} ({worst['testset']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
