#!/usr/bin/env bash
# Domain generalisation on the CZII data (SPEC section 3): every mode x training type x seed, each run
# tested on the test split of every tomogram type, then the tables.
#
#   scripts/run_all_seeds.sh                         # paper scale: 5 seeds x 2 modes x 4 training types (GPU)
#   QUICK=1 scripts/run_all_seeds.sh                 # quick preset on synthetic data (made here if absent), CPU
#   TRAIN_TYPES="wbp denoised" SEEDS="5 7" MODES="standard seqsi seq" scripts/run_all_seeds.sh
#   LAUNCH="torchrun --nproc_per_node=4" scripts/run_all_seeds.sh   # each run data parallel
#
# DATA = prepared patch folder (default: the config's, data/czi_patches; QUICK=1: data/czi_quick/patches).
# TRAIN_TYPES defaults to all four types at paper scale and to wbp with QUICK=1.
# Re-running skips finished runs (results.csv present) and resumes interrupted ones (last.pt).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
LAUNCH=${LAUNCH:-$PYTHON}
SEEDS=${SEEDS:-"5 7 42 137 181"}
MODES=${MODES:-"standard seqsi"}
PRESET=paper
DEFAULT_TYPES="denoised wbp isonetcorrected ctfdeconvolved"
DEFAULT_OUT=runs/czi
if [ "${QUICK:-0}" = 1 ]; then
  PRESET=quick
  DEFAULT_TYPES=wbp
  DEFAULT_OUT=runs/czi_quick
  QUICK_DATA=data/czi_quick
  if [ -z "${DATA:-}" ] && [ ! -f "$QUICK_DATA/patches/prepare.json" ]; then
    "$PYTHON" generate_synthetic.py --out "$QUICK_DATA/raw" --preset quick --n-tomograms 14 --seed 0 --quiet
    "$PYTHON" prepare_classification_data.py --data-root "$QUICK_DATA/raw" --out "$QUICK_DATA/patches" \
      --patch-size 24 --quiet
  fi
fi
TRAIN_TYPES=${TRAIN_TYPES:-$DEFAULT_TYPES}
OUT=${OUT:-$DEFAULT_OUT}
DATA_FLAG=()
if [ -n "${DATA:-}" ]; then DATA_FLAG=(--data_root "$DATA"); fi

for seed in $SEEDS; do
  for train_type in $TRAIN_TYPES; do
    for mode in $MODES; do
      # shellcheck disable=SC2086
      $LAUNCH train.py --preset "$PRESET" --model "$mode" --train_type "$train_type" --seed "$seed" \
        --out "$OUT" "${DATA_FLAG[@]}" --skip_done --no_progress
    done
  done
done

# shellcheck disable=SC2086
"$PYTHON" generate_res_table.py "$OUT" --seeds $SEEDS
