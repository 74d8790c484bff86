"""The 3D localization run matrix of the paper: seeds x 4 methods (each with
its paper loss) x 4 augmentation groups (5 x 4 x 4 = 80 runs), then one table per seed and the
merged mean ± std table. Used by scripts/run_all_seeds.sh and `seqsi sweep ... object_localization/3D`.

Environment variables (a list variable set but empty means none of these):
  QUICK=1      quick preset: generated quick data, seeds 1 2, group none
  SEEDS        default "1 2 3 4 5" (QUICK=1: "1 2")
  METHODS      default "standard seq affeq seqsi"
  GROUPS_      augmentation groups, default "none Aff Naff All" (QUICK=1: "none")
  DATA         your own data folder (train/ [val/] test/); default: generated into data/fluo3d
               (QUICK=1: data/fluo3d_quick) when absent
  OUT          run root, default runs/loc3d (QUICK=1: runs/loc3d_quick)
  TRAIN_FLAGS  extra train.py flags for every run
"""
from __future__ import annotations

import shlex
from pathlib import Path

from loc3d import CONFIG
from seqsi.engine.config import load_config
from seqsi.engine.localization import run_dir_for
from seqsi.sweep import Matrix, Run, Step, env_choices, env_flag, env_ints, env_words

HERE = Path(__file__).resolve().parent
METHODS = ("standard", "seq", "affeq", "seqsi")
GROUPS = ("none", "Aff", "Naff", "All")


def matrix(env) -> Matrix:
    quick = env_flag(env, "QUICK")
    preset = "quick" if quick else "paper"
    config = load_config(CONFIG, preset)
    seeds = env_ints(env, "SEEDS", (1, 2) if quick else (1, 2, 3, 4, 5))
    methods = env_words(env, "METHODS", METHODS)
    groups = env_choices(env, "GROUPS_", ["none"] if quick else GROUPS, GROUPS)
    out = env.get("OUT") or ("runs/loc3d_quick" if quick else "runs/loc3d")
    data = env.get("DATA") or ("data/fluo3d_quick" if quick else "data/fluo3d")
    extra = tuple(shlex.split(env.get("TRAIN_FLAGS", "")))
    prepare = [] if env.get("DATA") else [
        Step(("generate_synthetic.py", "--out", data, "--preset", preset), skip_if=f"{data}/dataset.json")]
    runs = []
    for seed in seeds:
        for mode in methods:
            for group in groups:
                folder = run_dir_for({**config, "out": out, "seed": seed, "model": {**config["model"], "mode": mode},
                                      "augment": {**config["augment"], "group": group}})
                args = ("train.py", "--preset", preset, "--mode", mode, "--aug", group, "--seed", str(seed), "--out",
                        out, "--data_path", data, "--run_dir", str(folder), "--skip_done", "--no_progress", *extra)
                runs.append(Run(folder, args))
    seed_words = tuple(map(str, seeds))
    tables = [Step(("generate_res_table.py", out, "--out", f"{out}/tables", "--seeds", *seed_words)),
              Step(("merge_tabs.py", f"{out}/tables", "--seeds", *seed_words))]
    return Matrix("loc3d", HERE, out, runs, prepare=prepare, tables=tables)
