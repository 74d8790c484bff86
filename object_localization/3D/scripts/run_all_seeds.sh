#!/usr/bin/env bash
# The 3D localization matrix of the paper: seeds x 4 methods x 4 augmentation
# groups, then one table per seed and the merged mean ± std table. The matrix is defined once, in
# sweep_matrix.py; this script runs it with `seqsi sweep local` (SLURM: see the root README).
#
#   scripts/run_all_seeds.sh                     # paper scale: seeds 1-5 x 4 x 4 runs x 6000 epochs (GPU)
#   QUICK=1 scripts/run_all_seeds.sh             # quick preset: generated data, seeds 1 2, group none (CPU)
#   SEEDS="1" GROUPS_="none Aff" METHODS="seqsi standard" scripts/run_all_seeds.sh
#   DATA=/path/to/volumes scripts/run_all_seeds.sh   # your own folder (train/ [val/] test/, images/ + masks/)
#   JOBS=4 scripts/run_all_seeds.sh              # 4 runs at a time (one GPU each; CPU: cores shared)
#   LAUNCH="torchrun --nproc_per_node=4" scripts/run_all_seeds.sh
#
# The data set is generated first unless DATA names a folder. A list variable set but empty
# selects nothing. Re-running skips finished runs (results.csv present) and resumes interrupted
# ones (last.pt).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" -m seqsi.sweep local . ${JOBS:+--jobs "$JOBS"} ${LAUNCH:+--launch "$LAUNCH"}
