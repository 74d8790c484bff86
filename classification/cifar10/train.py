#!/usr/bin/env python
"""Train one CIFAR-10 (or digits) classifier, then evaluate its best checkpoint on the
clean and every corrupted test set (results.csv in the run folder).

    python train.py --model seqsi_avg --seed 5                      # paper scale (GPU)
    python train.py --dataset digits --preset quick --model seqsi   # CPU, offline, ~1 minute
    torchrun --nproc_per_node=4 train.py --model standard --seed 5   # data parallel
"""
from __future__ import annotations

import argparse

from cifar import EXPERIMENT, HERE, run_fields, variant_name
from seqsi.cli import guarded
from seqsi.engine import load_model
from seqsi.engine.classification import load_splits, robustness_rows, resolve_training_config, train_classifier
from seqsi.engine.experiment import RESULTS, add_common_arguments, run_folder, run_training
from seqsi.report.results import write_results


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=("cifar10", "digits"), default="cifar10",
                        help="picks configs/<dataset>.yaml when --config is not given")
    add_common_arguments(parser, None)
    parser.add_argument("--mode", "--model", help="standard, se, seqsi_avg, seqsi_telescopic, affeq_avg, affeq_telescopic, "
                        "zscore, seqsi_sym (paper names accepted; --model is the paper's flag)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--batch_size", type=int)
    parser.add_argument("--norm_type", choices=("none", "instance", "batch", "layer", "mix"))
    parser.add_argument("--dropout_rate", type=float)
    parser.add_argument("--data_path", help="folder holding cifar-10-batches-py/ or cifar-10-python.tar.gz")
    group = parser.add_mutually_exclusive_group()
    for name in ("affine", "nonaffine", "random"):
        group.add_argument(f"--{name}_aug", dest="aug", action="store_const", const=name,
                           help=f"train with the {name} photometric augmentation group")
    parser.add_argument("--no_eval", action="store_true", help="skip the test-set evaluation after training")
    args = parser.parse_args(argv)
    if args.config is None:
        args.config = HERE / "configs" / f"{args.dataset}.yaml"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    config, mode = resolve_training_config(args, {
        "model.mode": args.mode, "train.epochs": args.epochs, "train.lr": args.lr,
        "train.batch_size": args.batch_size, "model.norm": args.norm_type, "model.dropout": args.dropout_rate,
        "data.root": args.data_path, "augment.group": args.aug,
    })
    run_dir = run_folder(config, mode, variant_name(config), args.run_dir)

    def train(ctx):
        splits = load_splits(config["data"])
        if ctx.is_main:
            print(f"run {run_dir}: {mode.label}, {variant_name(config)}, seed {config['seed']}, "
                  f"{len(splits.train_y)} train+val / {len(splits.test_y)} test images, device {ctx.device}, "
                  f"world size {ctx.world_size}")
        data = splits.holdout(config["data"]["val_fraction"], config["seed"])
        train_classifier(config, data, run_dir, {"experiment": EXPERIMENT}, ctx=ctx, resume=args.resume)
        return splits

    def evaluate(ctx, splits):
        best = load_model(run_dir / "best.pt", EXPERIMENT)
        rows = robustness_rows(best, splits, config["eval"], run_fields(config, mode), ctx.device)
        write_results(run_dir / RESULTS, rows)
        width = max(len(r["testset"]) for r in rows)
        print("\n".join(f"  {r['testset']:<{width}}  {100 * r['value']:6.2f} %" for r in rows))

    return run_training(args, run_dir, config, train, evaluate)


if __name__ == "__main__":
    raise SystemExit(guarded(main))
