#!/usr/bin/env python
"""Test trained checkpoints on the test split of every tomogram type (domain generalisation).

Each model is rebuilt from its checkpoint alone. Every checkpoint and every test split is
checked before anything is written; each test split is read once and shared by all models.
Writes results.csv (macro accuracy, accuracy and macro-F1 per tested type) and confusion/<type>.png +
confusion/counts.csv in each run folder (or under --out).

    python eval.py runs/czi                                   # every best.pt below a folder
    python eval.py runs/czi/seqsi/wbp/seed5/best.pt --data_root /data/czi_patches --test_types wbp denoised
"""
from __future__ import annotations

import argparse
from pathlib import Path

from czi import EXPERIMENT, DataError, check_data, evaluate_run, load_test_split, run_fields
from seqsi.cli import guarded
from seqsi.data.cryoet import TOMO_TYPES
from seqsi.engine import load_model
from seqsi.engine.distributed import select_device
from seqsi.engine.experiment import RESULTS, find_checkpoints, is_complete, run_folder
from seqsi.engine.config import ModelSection
from seqsi.report.results import write_results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="checkpoints (.pt) or folders searched for best.pt")
    parser.add_argument("--data_root", help="prepared patches (default: the folder recorded in each checkpoint)")
    parser.add_argument("--test_types", nargs="+", choices=TOMO_TYPES, help="types to test on (default: the run's)")
    parser.add_argument("--out", type=Path,
                        help="write <out>/<method>/<train_type>/seed<N>/ instead of the run folders")
    parser.add_argument("--skip_done", action="store_true", help="skip runs whose results.csv exists")
    parser.add_argument("--batch_size", type=int, help="evaluation batch size (default: the run's)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    device = select_device(args.device)

    jobs = []  # first every check, then the work: a bad checkpoint or split writes nothing at all
    for path in find_checkpoints(args.paths):
        try:
            config = load_model(path, EXPERIMENT).seqsi_checkpoint["config"]  # weights checked, then freed
        except (ValueError, FileNotFoundError) as err:
            raise ValueError(f"{err}. eval.py evaluates checkpoints of the czi experiment "
                             "(written by classification/czi/train.py)") from None
        mode = ModelSection.of(config).mode
        fields = run_fields(config, mode)
        train_type = config["data"]["train_type"]
        target = run_folder({**config, "out": args.out}, mode, train_type) if args.out else path.parent
        if args.skip_done and is_complete(target):
            print(f"skip {target}: {RESULTS} exists")
            continue
        root = args.data_root or config["data"]["root"]
        test_types = args.test_types or config["eval"]["test_types"]
        try:
            check_data(root, None, test_types)
        except DataError as err:
            raise DataError(f"{path}: {err}") from None
        jobs.append((path, config, fields, target, root, test_types))

    cache: dict = {}
    for path, config, fields, target, root, test_types in jobs:
        model = load_model(path, EXPERIMENT, map_location=device)
        size = int(config["data"]["patch_size"])
        for t in test_types:
            key = (str(Path(root).resolve()), t, size)
            if key not in cache:
                cache[key] = load_test_split(root, t, size)
        test_data = {t: cache[(str(Path(root).resolve()), t, size)] for t in test_types}
        mode = ModelSection.of(config).mode
        rows = evaluate_run(model, test_data, fields, target, args.batch_size or config["eval"]["batch_size"], device,
                            f"{mode.label} trained on {fields['train_type']}, seed {fields['seed']}")
        write_results(target / RESULTS, rows)
        summary = ", ".join(f"{r['testset']} {100 * r['value']:.1f}" for r in rows if r["metric"] == "macro_accuracy")
        print(f"{path}: macro accuracy (%) {summary} -> {target / RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
