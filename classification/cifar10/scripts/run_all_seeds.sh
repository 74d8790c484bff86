#!/usr/bin/env bash
# The whole CIFAR-10 matrix of the paper, then the evaluations and the tables.
# The matrix (5 seeds x 38 runs) is defined once, in sweep_matrix.py; this script runs it with
# `seqsi sweep local` (see "Run the sweep on a cluster" in the root README for SLURM).
#
#   scripts/run_all_seeds.sh                     # paper scale: 5 seeds x 38 runs x 500 epochs (GPU)
#   QUICK=1 scripts/run_all_seeds.sh             # the quick preset (CPU smoke test of the pipeline)
#   DATASET=digits QUICK=1 SEEDS="5 7" MODES="standard seqsi_avg" TELESCOPIC="" scripts/run_all_seeds.sh
#   VARIANTS="base aug-affine" scripts/run_all_seeds.sh   # only these variants (names in sweep_matrix.py)
#   JOBS=4 scripts/run_all_seeds.sh              # 4 runs at a time (one GPU each; CPU: cores shared)
#   LAUNCH="torchrun --nproc_per_node=4" scripts/run_all_seeds.sh   # each run data parallel
#
# A list variable set but empty selects nothing (TELESCOPIC="" drops the telescopic runs).
# Re-running skips finished runs (results.csv present) and resumes interrupted ones (last.pt).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" -m seqsi.sweep local . ${JOBS:+--jobs "$JOBS"} ${LAUNCH:+--launch "$LAUNCH"}
