"""The experiment folders' localization scripts: train.py and eval.py are these functions."""
from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path

from .. import distributed
from ..config import ModelSection
from ..experiment import RESULTS, add_common_arguments, find_checkpoints, is_complete, resolve_config, run_training
from ..runcheck import load_localization_model
from .config import method_names, run_dir_for
from .evaluation import evaluate_run, evaluation_folder
from .threshold import fit_and_store_threshold
from .training import train_localizer


def find_runs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Run folders: those of the best.pt files given, or of every best.pt below given folders."""
    return list(dict.fromkeys(p.parent for p in find_checkpoints([str(p) for p in paths])))


def add_training_arguments(parser) -> None:
    """The flags both experiment folders' train.py share (each overrides one config key)."""
    parser.add_argument("--mode", help="standard (ordinary), seq (scale-equiv), affeq (norm-equiv), seqsi, ...")
    parser.add_argument("--loss", help="bce or zmse (default: the loss the paper pairs with the mode)")
    parser.add_argument("--aug", help="photometric augmentation group of the suite (none, Aff, Naff, All)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--batch_size", type=int)
    parser.add_argument("--data_path", help="data folder in the DSB2018 layout (train/, [val/], test/)")
    parser.add_argument("--no_eval", action="store_true", help="skip the test-set evaluation after training")
    parser.add_argument("--fit_threshold_only", action="store_true",
                        help="only refit the detection threshold of an existing run's best.pt")


def training_overrides(args) -> dict:
    return {"model.mode": args.mode, "model.loss": args.loss, "augment.group": args.aug, "train.epochs": args.epochs,
            "train.lr": args.lr, "train.batch_size": args.batch_size, "data.root": args.data_path}


def training_main(default_config: str | os.PathLike, description: str, argv=None) -> int:
    """The whole of a localization train.py: flags and config, then (unless the run is done) train,
    fit the threshold and evaluate on rank 0."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, Path(default_config))
    add_training_arguments(parser)
    args = parser.parse_args(argv)
    config = resolve_config(args, training_overrides(args))
    # stored as parsed, so that config.yaml, the run folder and the checkpoint name one method
    config["model"]["mode"], config["model"]["loss"] = ModelSection.of(config).mode_key, method_names(config)[1].name
    run_dir = run_dir_for(config, args.run_dir)
    if args.fit_threshold_only:
        fit_and_store_threshold(run_dir, load_localization_model(run_dir / "best.pt", config["experiment"])
                                .seqsi_checkpoint["config"],
                                device=distributed.select_device(args.device))
        return 0

    def evaluate(ctx, _):
        rows = evaluate_run(run_dir, device=ctx.device)
        for row in rows:
            if row["metric"] == "score":
                print(f"  {row['testset']:<18} score {row['value']:.4f}")
        print(f"results: {run_dir / 'results.csv'}, overlays: {run_dir / 'overlays'}")

    def train(ctx):
        train_localizer(config, run_dir, ctx=ctx, resume=args.resume)

    return run_training(args, run_dir, config, train, evaluate)


def evaluation_main(description: str, argv=None, experiment: str | None = None) -> int:
    """The whole of a localization eval.py: score every run found against ground truth.

    Every checkpoint is checked first (its experiment and dims, before any data is read).
    With --data_path other than the run's data, results go to a folder of their own
    (--out, by default <runs root>_on_<data name>/...), never over the run's results."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run folders, or folders searched for runs (best.pt)")
    parser.add_argument("--data_path", help="evaluate on another data folder (same layout); results then go to --out")
    parser.add_argument("--out", help="root of the result folders (<out>/<method-loss>/<aug>/seed<N>); default: "
                                      "the run folder for its own data, <runs root>_on_<data name> for other data")
    parser.add_argument("--artifact_sets", choices=("folders", "suite", "none"),
                        help="folders: test/arti_<k>/; suite: simulated artifacts on the clean volumes; none")
    parser.add_argument("--artifact_masks", choices=("own", "clean"),
                        help="clean: score artifact folders without masks/ against test/masks")
    parser.add_argument("--dtype", choices=("float32", "float64"), help="inference precision (default: config)")
    parser.add_argument("--max_pixels", type=int, help="images with more pixels are predicted in tiles")
    parser.add_argument("--tile", type=int, help="tile core size (pixels per axis)")
    parser.add_argument("--overlap", type=int, help="context around each tile (default: exact receptive margin)")
    parser.add_argument("--seed", type=int, help="seed of the altered test images (default: config)")
    parser.add_argument("--overlay", nargs="*", default=None, help="image names to draw (default: the first)")
    parser.add_argument("--overlay_sets", nargs="*", default=["none"], help="test sets to draw (default: none)")
    parser.add_argument("--skip_done", action="store_true", help=f"skip runs that already have {RESULTS}")
    parser.add_argument("--progress", action="store_true", help="print each image")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    device = distributed.select_device(args.device)
    keys = ("artifact_sets", "artifact_masks", "dtype", "max_pixels", "tile", "overlap", "seed")
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    jobs = []  # every checkpoint checked before any data is read or anything written
    for run in find_runs(args.runs):
        config = load_localization_model(run / "best.pt", experiment).seqsi_checkpoint["config"]
        target = evaluation_folder(run, config, args.data_path, args.out)
        if not (args.skip_done and is_complete(target)):
            jobs.append((run, target))
    for run, target in jobs:
        rows = evaluate_run(run, data_root=args.data_path, eval_overrides=overrides, device=device,
                            overlay_images=args.overlay, overlay_sets=args.overlay_sets, progress=args.progress,
                            experiment=experiment, out_root=args.out)
        scores = ", ".join(f"{r['testset']} {r['value']:.3f}" for r in rows if r["metric"] == "score")
        print(f"{run}: score {scores}" + (f" -> {target}" if target != run else ""))
    return 0


__all__ = ["add_training_arguments", "evaluation_main", "find_runs", "training_main",
           "training_overrides"]
