"""What every experiment's entry scripts share: flags, config resolution and run folders.

A run lives in `<out>/<mode>/<variant>/seed<N>/` with `config.yaml`, `metrics.csv`,
`last.pt`, `best.pt` and, once evaluated, `results.csv`. A sweep skips a run whose
`results.csv` exists and resumes one that has only `last.pt`.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..nn.modes import Mode
from . import distributed
from .config import load_config, parse_override
from .runlock import lock_run, remove_stale_temp_files
from .trainer import TrainingDiverged

RESULTS = "results.csv"
# Config keys a resumed run may change: how it is shown, fed or evaluated, not what it learns.
RESUMABLE = ("out", "preset", "train.progress", "train.num_workers", "train.eval_batch_size", "eval.", "invariance.",
             "threshold.")


def add_common_arguments(parser: argparse.ArgumentParser, default_config: Path | None) -> None:
    parser.add_argument("--config", type=Path, default=default_config,
                        help=f"experiment config (default {default_config})")
    parser.add_argument("--preset", default="paper", help="paper (default, GPU scale) or quick (CPU smoke run)")
    parser.add_argument("--seed", type=int, default=None, help="run seed (default: the config's, else 0)")
    parser.add_argument("--out", default=None, help="root folder of the runs (default: the config's `out`)")
    parser.add_argument("--run_dir", type=Path, default=None, help="exact run folder (default <out>/<mode>/<variant>/seed<N>)")
    parser.add_argument("--resume", action="store_true", help="continue the run from its last.pt")
    parser.add_argument("--skip_done", action="store_true",
                        help="for sweeps: skip the run if its results exist, resume it if it has a last.pt")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. --set train.epochs=3 (repeatable)")
    parser.add_argument("--no_progress", action="store_true", help="no progress bars")
    parser.add_argument("--dist_timeout", type=float, default=None, metavar="MINUTES",
                        help="torchrun only: how long a collective waits for a stalled rank before the run fails "
                             f"(default {distributed.DEFAULT_TIMEOUT_MINUTES:g}, or $SEQSI_DIST_TIMEOUT)")


def resolve_config(args: argparse.Namespace, flag_overrides: dict[str, Any]) -> dict:
    """The config file, then the preset, then the named flags, then --set (highest)."""
    updates = [parse_override(f"{key}={_yaml(value)}") for key, value in flag_overrides.items() if value is not None]
    updates += [parse_override(text) for text in args.overrides]
    config = load_config(args.config, args.preset, updates)
    if args.out is not None:
        config["out"] = args.out
    if args.seed is not None:
        config["seed"] = args.seed
    config.setdefault("seed", 0)
    if args.no_progress:
        config.setdefault("train", {})["progress"] = False
    return config


def _yaml(value: Any) -> str:
    """A flag value as YAML text, so `--set` and named flags share one parser."""
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def run_folder(config: dict, mode: Mode, variant: str, explicit: Path | None = None) -> Path:
    if explicit is not None:
        return Path(explicit)
    return Path(config["out"]) / mode.name / variant / f"seed{config['seed']}"


def is_complete(run_dir: Path) -> bool:
    return (Path(run_dir) / RESULTS).is_file()


def flatten(config: dict, prefix: str = "") -> dict:
    """{"train": {"lr": 0.1}} -> {"train.lr": 0.1}."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _resumable(key: str) -> bool:
    return any(key == r or (r.endswith(".") and key.startswith(r)) for r in RESUMABLE)


def check_resume(run_dir: Path, config: dict) -> None:
    """A resumed run must continue with the settings it was started with (its config.yaml)."""
    run_dir = Path(run_dir)
    if not (run_dir / "last.pt").is_file():
        raise ValueError(f"--resume: {run_dir} holds no last.pt to resume; drop --resume to start this run")
    saved_path = run_dir / "config.yaml"
    if not saved_path.is_file():
        return
    saved, now = flatten(yaml.safe_load(saved_path.read_text()) or {}), flatten(config)
    changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k) and not _resumable(k))
    if changed:
        details = "; ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed)
        raise ValueError(f"--resume: {run_dir} was started with other settings ({details}); resume it with the "
                         "same flags, or start a new run in another folder")


def add_table_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every generate_res_table.py / merge script shares."""
    parser.add_argument("runs", nargs="+", help="run folders (searched for result files)")
    parser.add_argument("--out", type=Path, default=None, help="table folder (default <first runs folder>/tables)")
    parser.add_argument("--seeds", nargs="*", help="expected seeds (default: every seed found)")
    parser.add_argument("--partial", action="store_true", help="allow missing runs (marked with a dagger)")


def table_folder(args: argparse.Namespace) -> Path:
    return args.out or Path(args.runs[0]) / "tables"


def sweep_decision(args: argparse.Namespace, run_dir: Path) -> bool:
    """With --skip_done: False (skip) for a finished run, and resume an interrupted one."""
    if not args.skip_done:
        return True
    if is_complete(run_dir):
        print(f"skip {run_dir}: {RESULTS} exists")
        return False
    if (Path(run_dir) / "last.pt").is_file():
        print(f"resume {run_dir}")
        args.resume = True
    return True


def begin_run(args: argparse.Namespace, run_dir: Path, config: dict) -> bool:
    """Whether train.py goes on in `run_dir`: False for a finished run under --skip_done;
    a resume is checked against the run's settings, and a fresh start never overwrites a
    run (checked here, before any data is loaded)."""
    if not sweep_decision(args, run_dir):
        return False
    if args.resume:
        check_resume(run_dir, config)
    elif (Path(run_dir) / "last.pt").exists():
        raise FileExistsError(f"{run_dir} already holds a run (last.pt); pass --resume (or --skip_done) to "
                              "continue it, or choose another --out / --run_dir")
    return True


def run_training(args: argparse.Namespace, run_dir: Path, config: dict, train: Callable[[distributed.Context], Any],
                 evaluate: Callable[[distributed.Context, Any], None]) -> int:
    """Every train.py's body: the sweep decision, then `train(ctx)` on every rank (torchrun
    included) and `evaluate(ctx, what train returned)` on rank 0 unless --no_eval. The
    process group is always torn down. Exit code 3 when the loss diverged (the last good
    checkpoint is kept), 0 otherwise. The run folder is locked meanwhile (seqsi.engine.runlock):
    a second training started in it is refused; a resume first removes stale temp files."""
    lock = lock_run(run_dir)  # before the checks: two starts at once must not both pass them
    try:
        if not begin_run(args, run_dir, config):
            return 0
        if args.resume and lock is not None:
            remove_stale_temp_files(lock)
        return _train_and_evaluate(args, train, evaluate)
    finally:
        if lock is not None:
            lock.release()


def _train_and_evaluate(args: argparse.Namespace, train, evaluate) -> int:
    ctx = distributed.init(args.device, timeout_minutes=getattr(args, "dist_timeout", None))
    try:
        try:
            state = train(ctx)
        except TrainingDiverged as err:
            print(f"error: {err}")
            return 3
        distributed.barrier(ctx)
        if ctx.is_main and not args.no_eval:
            evaluate(ctx, state)
    finally:
        distributed.shutdown(ctx)
    return 0


def find_checkpoints(paths: list[str], name: str = "best.pt") -> list[Path]:
    """Checkpoint files given directly, or every `name` found below given folders."""
    found: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found += sorted(path.rglob(name))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path} is neither a checkpoint nor a folder")
    if not found:
        raise FileNotFoundError(f"no {name} found under {', '.join(map(str, paths))}")
    return found
