#!/usr/bin/env python
"""The invariance cases of the paper's code (classification/cifar10/evaluate_invariance.py) on the
whole test set, in float32 and float64: prediction mismatch (%), mean and max |logit error|,
and the same errors after undoing what the mode promises on the altered logits: (f - b) / a for
AffEq, f / a for SEqSI and SEq (and for Standard, which promises nothing). Writes invariance.csv per run.

Every run is evaluated; the paper's scripts/run_evaluation.sh evaluated only the telescopic
checkpoints trained without augmentation.

    python evaluate_invariance.py runs/cifar10
"""
from __future__ import annotations

import argparse

import torch

from cifar import EXPERIMENT, run_fields
from seqsi.cli import guarded
from seqsi.data.classification import to_unit_float
from seqsi.engine import load_model
from seqsi.engine.classification import load_splits
from seqsi.engine.distributed import select_device
from seqsi.engine.experiment import find_checkpoints
from seqsi.invariance.metrics import invariance_table
from seqsi.engine.config import ModelSection
from seqsi.photometric import CIFAR_INVARIANCE_CASES
from seqsi.report.results import write_results

INVARIANCE = "invariance.csv"
METRICS = ("mismatch_pct", "mean_abs_err", "max_abs_err", "mean_abs_err_rescaled", "max_abs_err_rescaled")


def invariance_rows(model, images: torch.Tensor, fields: dict, device, dtypes=(torch.float32, torch.float64)):
    rows = []
    for dtype in dtypes:
        for r in invariance_table(model, images, CIFAR_INVARIANCE_CASES, dtype=dtype, device=device):
            case = f"a={r['a']:g},b={r['b']:g}"
            rows += [{**fields, "dtype": r["dtype"], "testset": case, "metric": m, "value": r[m]} for m in METRICS]
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="checkpoints (.pt) or folders searched for best.pt")
    parser.add_argument("--data_path", help="override the data folder recorded in the checkpoint")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip_done", action="store_true", help=f"skip runs that already have {INVARIANCE}")
    args = parser.parse_args(argv)
    device = select_device(args.device)
    cache: dict = {}
    for path in find_checkpoints(args.paths):
        if args.skip_done and (path.parent / INVARIANCE).is_file():
            continue
        model = load_model(path, EXPERIMENT)
        config = model.seqsi_checkpoint["config"]
        data_cfg = {**config["data"], **({"root": args.data_path} if args.data_path else {})}
        key = (data_cfg["dataset"], str(data_cfg.get("root")), data_cfg.get("test_limit"))
        if key not in cache:
            cache[key] = to_unit_float(load_splits({**data_cfg, "train_limit": 1}).test_x)
        fields = run_fields(config, ModelSection.of(config).mode)
        rows = invariance_rows(model, cache[key], fields, device)
        write_results(path.parent / INVARIANCE, rows)
        worst = max(r["value"] for r in rows if r["metric"] == "mismatch_pct")
        print(f"{path}: worst prediction mismatch over the cases {worst:.2f} % -> {path.parent / INVARIANCE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
