"""The CZII domain-generalisation run matrix of the paper: every seed x
training tomogram type x mode (5 x 4 x 2 = 40 runs), each run tested on every type, then the
tables. Used by scripts/run_all_seeds.sh and `seqsi sweep ... classification/czi`.

Environment variables (a list variable set but empty means none of these):
  QUICK=1      quick preset on synthetic data (generated and prepared first when absent)
  SEEDS        default "5 7 42 137 181"
  MODES        default "standard seqsi"
  TRAIN_TYPES  default "denoised wbp isonetcorrected ctfdeconvolved" (QUICK=1: "wbp")
  DATA         prepared patch folder (default: the config's; QUICK=1: data/czi_quick/patches)
  OUT          run root, default runs/czi (QUICK=1: runs/czi_quick)
  TRAIN_FLAGS  extra train.py flags for every run
"""
from __future__ import annotations

import shlex
from pathlib import Path

from seqsi.data.cryoet import TOMO_TYPES
from seqsi.nn import get_mode
from seqsi.sweep import Matrix, Run, Step, env_choices, env_flag, env_ints, env_words

HERE = Path(__file__).resolve().parent
SEEDS = (5, 7, 42, 137, 181)
MODES = ("standard", "seqsi")
TRAIN_TYPES = ("denoised", "wbp", "isonetcorrected", "ctfdeconvolved")
QUICK_DATA = "data/czi_quick"


def matrix(env) -> Matrix:
    quick = env_flag(env, "QUICK")
    seeds = env_ints(env, "SEEDS", SEEDS)
    modes = env_words(env, "MODES", MODES)
    train_types = env_choices(env, "TRAIN_TYPES", ["wbp"] if quick else TRAIN_TYPES, TOMO_TYPES)
    out = env.get("OUT") or ("runs/czi_quick" if quick else "runs/czi")
    data = env.get("DATA") or None
    extra = tuple(shlex.split(env.get("TRAIN_FLAGS", "")))
    prepare = []
    if quick and data is None:
        prepare = [Step(("generate_synthetic.py", "--out", f"{QUICK_DATA}/raw", "--preset", "quick", "--n_tomograms",
                         "14", "--seed", "0", "--quiet"), skip_if=f"{QUICK_DATA}/patches/prepare.json"),
                   Step(("prepare_classification_data.py", "--data_root", f"{QUICK_DATA}/raw", "--out",
                         f"{QUICK_DATA}/patches", "--patch_size", "24", "--quiet"),
                        skip_if=f"{QUICK_DATA}/patches/prepare.json")]
    data_flag = ("--data_root", data) if data else ()
    runs = []
    for seed in seeds:
        for train_type in train_types:
            for mode in modes:
                folder = Path(out) / get_mode(mode).name / train_type / f"seed{seed}"
                args = ("train.py", "--preset", "quick" if quick else "paper", "--mode", mode, "--train_type",
                        train_type, "--seed", str(seed), "--out", out, *data_flag, "--run_dir", str(folder),
                        "--skip_done", "--no_progress", *extra)
                runs.append(Run(folder, args))
    tables = [Step(("generate_res_table.py", out, "--seeds", *map(str, seeds)))]
    return Matrix("czi", HERE, out, runs, prepare=prepare, tables=tables)
