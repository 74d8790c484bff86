#!/usr/bin/env bash
# Domain generalisation on the CZII data (the paper's cryo-ET experiment): every mode x training type x seed, each run
# tested on the test split of every tomogram type, then the tables. The matrix is defined once, in
# sweep_matrix.py; this script runs it with `seqsi sweep local` (SLURM: see the root README).
#
#   scripts/run_all_seeds.sh                         # paper scale: 5 seeds x 2 modes x 4 training types (GPU)
#   QUICK=1 scripts/run_all_seeds.sh                 # quick preset on synthetic data (made here if absent), CPU
#   TRAIN_TYPES="wbp denoised" SEEDS="5 7" MODES="standard seqsi seq" scripts/run_all_seeds.sh
#   JOBS=4 scripts/run_all_seeds.sh                  # 4 runs at a time (one GPU each; CPU: cores shared)
#   LAUNCH="torchrun --nproc_per_node=4" scripts/run_all_seeds.sh   # each run data parallel
#
# DATA = prepared patch folder (default: the config's, data/czi_patches; QUICK=1: data/czi_quick/patches).
# TRAIN_TYPES defaults to all four types at paper scale and to wbp with QUICK=1.
# A list variable set but empty selects nothing.
# Re-running skips finished runs (results.csv present) and resumes interrupted ones (last.pt).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" -m seqsi.sweep local . ${JOBS:+--jobs "$JOBS"} ${LAUNCH:+--launch "$LAUNCH"}
