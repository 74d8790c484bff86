#!/usr/bin/env python
"""Robustness of one or many trained checkpoints on the clean and every corrupted test set.

Each model is rebuilt from its checkpoint alone. The test set is read once per data set
and the corrupted copies are generated on the fly from a fixed seed, so every model sees
bit-identical images. Results go to results.csv in each run folder (or under --out).

    python eval.py runs/cifar10                      # every best.pt below a folder
    python eval.py runs/cifar10/seqsi/base/seed5/best.pt --suite my_suite.yaml
"""
from __future__ import annotations

import argparse
from pathlib import Path

from cifar import EXPERIMENT, run_fields, variant_name
from seqsi.cli import guarded
from seqsi.engine import load_model
from seqsi.engine.classification import load_splits, robustness_rows
from seqsi.engine.distributed import select_device
from seqsi.engine.experiment import RESULTS, find_checkpoints, run_folder
from seqsi.engine.config import ModelSection
from seqsi.report.results import write_results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="checkpoints (.pt) or folders searched for best.pt")
    parser.add_argument("--suite", help="corruption suite (default: the one the run was configured with)")
    parser.add_argument("--seed", type=int, help="seed of the corrupted test sets (default: the run's eval seed)")
    parser.add_argument("--data_path", help="override the data folder recorded in the checkpoint")
    parser.add_argument("--out", type=Path, help="write <out>/<method>/<variant>/seed<N>/results.csv instead")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    device = select_device(args.device)
    data_cache: dict = {}
    for path in find_checkpoints(args.paths):
        model = load_model(path, EXPERIMENT, map_location=device)
        config = model.seqsi_checkpoint["config"]
        data_cfg = {**config["data"], **({"root": args.data_path} if args.data_path else {})}
        key = (data_cfg["dataset"], str(data_cfg.get("root")), data_cfg.get("test_limit"))
        if key not in data_cache:
            data_cache[key] = load_splits({**data_cfg, "train_limit": 1})
        eval_cfg = {**config["eval"], **({"suite": args.suite} if args.suite else {}),
                    **({"seed": args.seed} if args.seed is not None else {})}
        mode = ModelSection.of(config).mode
        rows = robustness_rows(model, data_cache[key], eval_cfg, run_fields(config, mode), device)
        run_dir = run_folder({**config, "out": args.out}, mode, variant_name(config)) if args.out else path.parent
        target = run_dir / RESULTS
        write_results(target, rows)
        clean = next(r["value"] for r in rows if r["testset"] == "clean")
        worst = min(rows, key=lambda r: r["value"])
        print(f"{path}: clean {100 * clean:.2f} %, worst {worst['testset']} {100 * worst['value']:.2f} % -> {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
