#!/usr/bin/env python
"""Train one ResNet3D particle classifier on ONE tomogram type, then test its best checkpoint on the
test split of EVERY type (macro accuracy, accuracy, macro-F1, confusion matrices; results.csv in the
run folder). best.pt is the epoch of best validation macro accuracy, as the paper.

    python train.py --model seqsi --train_type wbp --seed 5                  # paper scale (GPU)
    python train.py --preset quick --model standard --train_type wbp        # CPU, synthetic data, < 1 min
    torchrun --nproc_per_node=4 train.py --model standard --train_type wbp   # data parallel

The run folder is <out>/<mode>/<train_type>/seed<N>/. Every split the run needs (train and val of
the training type, test of every tested type) is checked before anything is written.
"""
from __future__ import annotations

import argparse

from czi import EXPERIMENT, HERE, check_data, evaluate_run, load_test_split, run_fields, training_data
from seqsi.cli import guarded
from seqsi.data.cryoet import TOMO_TYPES
from seqsi.engine import load_model
from seqsi.engine.classification import resolve_training_config, train_classifier
from seqsi.engine.experiment import RESULTS, add_common_arguments, run_folder, run_training
from seqsi.report.results import write_results

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, HERE / "configs" / "czi.yaml")
    parser.add_argument("--mode", "--model", help="mode (--model: its former name): standard, seqsi (the paper's two), or any other of the registry: "
                                        "seq, affeq, zscore, seqsi_sym, seqsi_telescopic, ...")
    parser.add_argument("--train_type", choices=TOMO_TYPES, help="tomogram type to train on")
    parser.add_argument("--test_types", nargs="+", choices=TOMO_TYPES, help="types to test on (default: all four)")
    parser.add_argument("--data_root", help="prepared patches: <data_root>/<type>/{train,val,test}/")
    parser.add_argument("--patch_size", type=int, help="centre-crop/pad the patches to this cube (paper: 64)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--batch_size", type=int)
    parser.add_argument("--no_eval", action="store_true", help="skip the test-split evaluation after training")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    config, mode = resolve_training_config(args, {
        "model.mode": args.mode, "data.train_type": args.train_type, "eval.test_types": args.test_types,
        "data.root": args.data_root, "data.patch_size": args.patch_size, "train.epochs": args.epochs,
        "train.lr": args.lr, "train.batch_size": args.batch_size,
    })
    if int(config["data"]["patch_size"]) < 8:
        raise ValueError(f"patch_size must be at least 8 (the ResNet3D halves it three times); "
                         f"got {config['data']['patch_size']}")
    train_type = config["data"]["train_type"]
    run_dir = run_folder(config, mode, train_type, args.run_dir)

    def train(ctx):
        counts = check_data(config["data"]["root"], train_type, [] if args.no_eval else config["eval"]["test_types"])
        data = training_data(config)
        if ctx.is_main:
            tested = ", ".join(f"{k.split('/')[0]} {n}" for k, n in counts.items() if k.endswith("/test"))
            print(f"run {run_dir}: {mode.label} on {train_type}, seed {config['seed']}, {len(data.train)} train / "
                  f"{len(data.val)} val patches of {config['data']['patch_size']}^3; test patches: {tested or 'none'}; "
                  f"device {ctx.device}")
        train_classifier(config, data, run_dir, {"experiment": EXPERIMENT}, ctx=ctx, resume=args.resume)

    def evaluate(ctx, _):
        best = load_model(run_dir / "best.pt", EXPERIMENT)
        test_data = {t: load_test_split(config["data"]["root"], t, config["data"]["patch_size"])
                     for t in config["eval"]["test_types"]}
        rows = evaluate_run(best, test_data, run_fields(config, mode), run_dir, config["eval"]["batch_size"],
                            ctx.device, f"{mode.label} trained on {train_type}, seed {config['seed']}")
        write_results(run_dir / RESULTS, rows)
        chosen = best.seqsi_checkpoint
        print(f"best epoch {chosen['best_epoch']} (val {chosen['monitor']} {100 * chosen['best']:.2f} %)")
        for tomo_type in config["eval"]["test_types"]:
            value = {r["metric"]: r["value"] for r in rows if r["testset"] == tomo_type}
            print(f"  test {tomo_type:<16} macro acc. {100 * value['macro_accuracy']:6.2f} %   accuracy "
                  f"{100 * value['accuracy']:6.2f} %   macro-F1 {100 * value['macro_f1']:6.2f} %")

    return run_training(args, run_dir, config, train, evaluate)

if __name__ == "__main__":
    raise SystemExit(guarded(main))
