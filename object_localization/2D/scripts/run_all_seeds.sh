#!/usr/bin/env bash
# The 2D localization matrix of the paper: 4 modes x 2 losses, then the
# evaluations, the invariance experiment and the tables. The matrix is defined once, in
# sweep_matrix.py; this script runs it with `seqsi sweep local` (SLURM: see the root README).
#
#   scripts/run_all_seeds.sh                        # paper scale: seed 1, 8 runs x 1000 epochs (GPU)
#   QUICK=1 scripts/run_all_seeds.sh                # quick preset on the embedded sample (CPU, ~3 minutes)
#   SEEDS="1 2 3" MODES="standard seqsi" LOSSES=zmse scripts/run_all_seeds.sh
#   JOBS=4 scripts/run_all_seeds.sh                 # 4 runs at a time (one GPU each; CPU: cores shared)
#   LAUNCH="torchrun --nproc_per_node=4" scripts/run_all_seeds.sh
#
# A list variable set but empty selects nothing.
# Re-running skips finished runs (results.csv present) and resumes interrupted ones (last.pt).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" -m seqsi.sweep local . ${JOBS:+--jobs "$JOBS"} ${LAUNCH:+--launch "$LAUNCH"}
