"""The 2D localization run matrix of the paper: 4 modes x 2 losses for each
seed (8 runs with the paper's seed 1), then the invariance experiment and the tables. Used by
scripts/run_all_seeds.sh and `seqsi sweep ... object_localization/2D`.

Environment variables (a list variable set but empty means none of these):
  QUICK=1      quick preset on the embedded sample (written first)
  SEEDS        default "1"
  MODES        default "standard seq affeq seqsi"
  LOSSES       default "bce zmse"
  OUT          run root, default runs/loc2d (QUICK=1: runs/loc2d_quick)
  TRAIN_FLAGS  extra train.py flags for every run
"""
from __future__ import annotations

import shlex
from pathlib import Path

from loc2d import CONFIG, LOSSES
from seqsi.engine.config import load_config
from seqsi.engine.localization import run_dir_for
from seqsi.sweep import Matrix, Run, Step, env_choices, env_flag, env_ints, env_words

HERE = Path(__file__).resolve().parent
MODES = ("standard", "seq", "affeq", "seqsi")  # the configs make affeq/seqsi telescopic, as the paper


def matrix(env) -> Matrix:
    preset = "quick" if env_flag(env, "QUICK") else "paper"
    config = load_config(CONFIG, preset)
    seeds = env_ints(env, "SEEDS", (1,))
    modes = env_words(env, "MODES", MODES)
    losses = env_choices(env, "LOSSES", LOSSES, ("bce", "zmse"))
    out = env.get("OUT") or config["out"]
    extra = tuple(shlex.split(env.get("TRAIN_FLAGS", "")))
    prepare = [Step(("prepare_sample.py", "--out", "data/dsb2018_sample"))] if preset == "quick" else []
    runs = []
    for seed in seeds:
        for mode in modes:
            for loss in losses:
                folder = run_dir_for({**config, "out": out, "seed": seed,
                                      "model": {**config["model"], "mode": mode, "loss": loss}})
                args = ("train.py", "--preset", preset, "--mode", mode, "--loss", loss, "--seed", str(seed),
                        "--out", out, "--run_dir", str(folder), "--skip_done", "--no_progress", *extra)
                runs.append(Run(folder, args))
    tables = [Step(("inv_experiment.py", out, "--skip_done")),
              Step(("generate_res_table.py", out, "--seeds", *map(str, seeds)))]
    return Matrix("loc2d", HERE, out, runs, prepare=prepare, tables=tables)
