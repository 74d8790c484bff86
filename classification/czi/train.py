#!/usr/bin/env python
"""Train one ResNet3D particle classifier on ONE tomogram type, then test its best checkpoint on the
test split of EVERY type (accuracy, macro-F1, confusion matrices; results.csv in the run folder).

    python train.py --model seqsi --train_type wbp --seed 5                  # paper scale (GPU)
    python train.py --preset quick --model standard --train_type wbp        # CPU, synthetic data, < 1 min
    torchrun --nproc_per_node=4 train.py --model standard --train_type wbp   # data parallel

The run folder is <out>/<mode>/<train_type>/seed<N>/. Every split the run needs (train and val of
the training type, test of every tested type) is checked before anything is written.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
import yaml

from czi import EXPERIMENT, HERE, DataError, check_data, datasets, die, evaluate_run, load_test_split, run_fields
from seqsi import build_model
from seqsi.data.cryoet import TOMO_TYPES
from seqsi.engine import Classification, TrainingDiverged, TrainSettings, fit, load_model, save_config
from seqsi.engine import distributed
from seqsi.engine.experiment import RESULTS, add_common_arguments, resolve_config, run_folder, sweep_decision
from seqsi.engine.seeding import seed_all
from seqsi.nn import get_mode
from seqsi.report.tables import write_results

# Settings that may differ when a run is resumed: they change how it is shown or run, not what is learned.
RESUMABLE_CHANGES = {"out", "train.progress", "train.num_workers", "train.eval_batch_size", "eval.batch_size",
                     "eval.test_types"}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, HERE / "configs" / "czi.yaml")
    parser.add_argument("--model", help="mode: standard, seqsi (the paper's two), or any other of the registry: "
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


def flatten(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_resume(run_dir: Path, config: dict) -> None:
    """A resumed run must continue with the settings it was started with."""
    if not (run_dir / "last.pt").is_file():
        raise DataError(f"--resume: {run_dir} holds no last.pt to resume; drop --resume to start this run")
    saved_path = run_dir / "config.yaml"
    if not saved_path.is_file():
        return
    saved, now = flatten(yaml.safe_load(saved_path.read_text()) or {}), flatten(config)
    changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
        details = "; ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed)
        raise DataError(f"--resume: {run_dir} was started with other settings ({details}); resume it with the "
                        "same flags, or start a new run in another folder")


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        config = resolve_config(args, {
            "model.mode": args.model, "data.train_type": args.train_type, "eval.test_types": args.test_types,
            "data.root": args.data_root, "data.patch_size": args.patch_size, "train.epochs": args.epochs,
            "train.lr": args.lr, "train.batch_size": args.batch_size,
        })
        mode = get_mode(config["model"]["mode"])
        config["model"]["mode"] = mode.name
        settings = TrainSettings.from_dict({**config["train"], "seed": config["seed"]})
        if int(config["data"]["patch_size"]) < 8:
            raise ValueError(f"patch_size must be at least 8 (the ResNet3D halves it three times); "
                             f"got {config['data']['patch_size']}")
    except (ValueError, FileNotFoundError) as err:
        die(str(err))
    except TypeError as err:  # e.g. --set train.lr=1e-4, which YAML reads as the string "1e-4"
        die(f"a setting has the wrong type ({err}); write numbers as YAML numbers, e.g. --set train.lr=1.0e-4")
    train_type = config["data"]["train_type"]
    ctx = distributed.init(args.device)
    run_dir = run_folder(config, mode, train_type, args.run_dir)
    if not sweep_decision(args, run_dir):
        return 0
    try:
        counts = check_data(config["data"]["root"], train_type, [] if args.no_eval else config["eval"]["test_types"])
        if args.resume:
            check_resume(run_dir, config)
        elif (run_dir / "last.pt").exists():
            raise DataError(f"{run_dir} already holds a run (last.pt); pass --resume (or --skip_done) to continue "
                            "it, or choose another --out / --run_dir")
        train_set, val_set = datasets(config)
        seed_all(config["seed"])
        model_cfg = {k: v for k, v in config["model"].items() if k not in ("name", "mode")}
        model = build_model(config["model"]["name"], mode, 3, **model_cfg)
    except (DataError, FileNotFoundError, ValueError) as err:
        die(str(err))

    meta = {"experiment": EXPERIMENT, "dataset": f"czi/{train_type}", "model_spec": model.seqsi_spec, "config": config}
    if ctx.is_main:
        tested = ", ".join(f"{k.split('/')[0]} {n}" for k, n in counts.items() if k.endswith("/test"))
        print(f"run {run_dir}: {mode.label} on {train_type}, seed {config['seed']}, {len(train_set)} train / "
              f"{len(val_set)} val patches of {config['data']['patch_size']}^3; test patches: {tested or 'none'}; "
              f"device {ctx.device}")
        save_config(run_dir / "config.yaml", config)
    try:
        fit(model, Classification(), train_set, val_set, settings, run_dir, meta, ctx=ctx, resume=args.resume)
    except TrainingDiverged as err:
        print(f"error: {err}")
        return 3
    finally:
        distributed.barrier(ctx)
    if ctx.is_main and not args.no_eval:
        best = load_model(run_dir / "best.pt", EXPERIMENT)
        test_data = {t: load_test_split(config["data"]["root"], t, config["data"]["patch_size"])
                     for t in config["eval"]["test_types"]}
        rows = evaluate_run(best, test_data, run_fields(config, mode), run_dir, config["eval"]["batch_size"],
                            ctx.device, f"{mode.label} trained on {train_type}, seed {config['seed']}")
        write_results(run_dir / RESULTS, rows)
        chosen = best.seqsi_checkpoint
        print(f"best epoch {chosen['best_epoch']} (val accuracy {100 * chosen['best']:.2f} %)")
        for tomo_type in config["eval"]["test_types"]:
            acc, f1 = (r["value"] for r in rows if r["testset"] == tomo_type)
            print(f"  test {tomo_type:<16} accuracy {100 * acc:6.2f} %   macro-F1 {100 * f1:6.2f} %")
    distributed.shutdown(ctx)
    return 0


if __name__ == "__main__":
    torch.set_float32_matmul_precision("high")
    raise SystemExit(main())
