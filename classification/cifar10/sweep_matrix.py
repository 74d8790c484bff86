"""The CIFAR-10 run matrix of the paper: for each seed, every base mode in
each of the 9 variants, plus the telescopic modes without variants (5 x (4 x 9 + 2) = 190 runs),
then the invariance evaluation and the tables. Used by scripts/run_all_seeds.sh and
`seqsi sweep ... classification/cifar10`.

Environment variables (a list variable set but empty means none of these):
  DATASET     cifar10 (default) or digits (offline)
  QUICK=1     the quick preset (CPU smoke run)
  SEEDS       default "5 7 42 137 181"
  MODES       base modes, default "standard se seqsi_avg affeq_avg"
  VARIANTS    default all: base norm-instance norm-batch norm-layer norm-mix dropout-0.3
              aug-affine aug-nonaffine aug-random
  TELESCOPIC  modes trained without variants, default "seqsi_telescopic affeq_telescopic"
  OUT         run root, default runs/<DATASET>
  TRAIN_FLAGS extra train.py flags for every run, e.g. "--set train.amp=true"
"""
from __future__ import annotations

import shlex
from pathlib import Path

from seqsi.nn import get_mode
from seqsi.sweep import Matrix, Run, Step, env_choices, env_flag, env_ints, env_words

HERE = Path(__file__).resolve().parent
SEEDS = (5, 7, 42, 137, 181)
MODES = ("standard", "se", "seqsi_avg", "affeq_avg")
TELESCOPIC = ("seqsi_telescopic", "affeq_telescopic")
DATA = "data/cifar10"  # configs/cifar10.yaml's data.root
# variant folder name (cifar.variant_name) -> train.py flags, in the paper's order (run_training.sh)
VARIANTS = {
    "base": (),
    "norm-instance": ("--norm_type", "instance"),
    "norm-batch": ("--norm_type", "batch"),
    "norm-layer": ("--norm_type", "layer"),
    "norm-mix": ("--norm_type", "mix"),
    "dropout-0.3": ("--dropout_rate", "0.3"),
    "aug-affine": ("--affine_aug",),
    "aug-nonaffine": ("--nonaffine_aug",),
    "aug-random": ("--random_aug",),
}


def matrix(env) -> Matrix:
    dataset = env_choices(env, "DATASET", ["cifar10"], ("cifar10", "digits"))
    if len(dataset) != 1:
        raise ValueError(f"DATASET: expected one of cifar10, digits; got {env.get('DATASET')!r}")
    dataset = dataset[0]
    preset = "quick" if env_flag(env, "QUICK") else "paper"
    seeds = env_ints(env, "SEEDS", SEEDS)
    modes, telescopic = env_words(env, "MODES", MODES), env_words(env, "TELESCOPIC", TELESCOPIC)
    variants = env_choices(env, "VARIANTS", list(VARIANTS), list(VARIANTS))
    out = env.get("OUT") or f"runs/{dataset}"
    extra = tuple(shlex.split(env.get("TRAIN_FLAGS", "")))

    def run(mode: str, seed: int, variant: str) -> Run:
        folder = Path(out) / get_mode(mode).name / variant / f"seed{seed}"
        args = ("train.py", "--dataset", dataset, "--preset", preset, "--mode", mode, "--seed", str(seed),
                "--out", out, *VARIANTS[variant], "--run_dir", str(folder), "--skip_done", "--no_progress", *extra)
        return Run(folder, args)

    runs = []
    for seed in seeds:
        runs += [run(mode, seed, variant) for mode in modes for variant in variants]
        runs += [run(mode, seed, "base") for mode in telescopic]
    prepare = []
    if dataset == "cifar10" and "--data_path" not in extra:
        # fetched once before the runs: parallel runs (SLURM tasks) must not all download it at once
        prepare = [Step(("-c", f"from seqsi.data.classification import load_cifar10; load_cifar10({DATA!r})"),
                        skip_if=f"{DATA}/cifar-10-batches-py")]
    tables = [Step(("evaluate_invariance.py", out, "--skip_done")),
              Step(("generate_res_table.py", out, "--seeds", *map(str, seeds)))]
    return Matrix(f"cifar10-{dataset}", HERE, out, runs, prepare=prepare, tables=tables)
