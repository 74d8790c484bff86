#!/usr/bin/env bash
# The 3D localization matrix of the paper (SPEC section 5): seeds x 4 methods x 4 augmentation
# groups, then one table per seed and the merged mean ± std table.
#
#   scripts/run_all_seeds.sh                     # paper scale: seeds 1-5 x 4 x 4 runs x 6000 epochs (GPU)
#   QUICK=1 scripts/run_all_seeds.sh             # quick preset: generated data, seeds 1 2, group none (CPU)
#   SEEDS="1" GROUPS_="none Aff" METHODS="seqsi standard" scripts/run_all_seeds.sh
#   DATA=/path/to/volumes scripts/run_all_seeds.sh   # your own folder (train/ [val/] test/, images/ + masks/)
#   LAUNCH="torchrun --nproc_per_node=4" scripts/run_all_seeds.sh
#
# The data set is generated first unless DATA names a folder. Re-running skips finished runs
# (results.csv present) and resumes interrupted ones (last.pt).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
LAUNCH=${LAUNCH:-$PYTHON}
METHODS=${METHODS:-"standard seq affeq seqsi"}   # each with its paper loss (BCE, BCE, ZMSE, ZMSE)
PRESET=paper
SEEDS_DEFAULT="1 2 3 4 5"
GROUPS_DEFAULT="none Aff Naff All"
DATA_DEFAULT=data/fluo3d
OUT_DEFAULT=runs/loc3d
if [ "${QUICK:-0}" = 1 ]; then
  PRESET=quick
  SEEDS_DEFAULT="1 2"
  GROUPS_DEFAULT="none"
  DATA_DEFAULT=data/fluo3d_quick
  OUT_DEFAULT=runs/loc3d_quick
fi
SEEDS=${SEEDS:-$SEEDS_DEFAULT}
GROUPS_=${GROUPS_:-$GROUPS_DEFAULT}
OUT=${OUT:-$OUT_DEFAULT}
if [ -z "${DATA:-}" ]; then
  DATA=$DATA_DEFAULT
  if [ ! -f "$DATA/dataset.json" ]; then
    "$PYTHON" generate_synthetic.py --out "$DATA" --preset "$PRESET"
  fi
fi

for seed in $SEEDS; do
  for mode in $METHODS; do
    for group in $GROUPS_; do
      # shellcheck disable=SC2086
      $LAUNCH train.py --preset "$PRESET" --mode "$mode" --aug "$group" --seed "$seed" --out "$OUT" \
        --data_path "$DATA" --skip_done --no_progress
    done
  done
done

# shellcheck disable=SC2086
"$PYTHON" generate_res_table.py "$OUT" --out "$OUT/tables" --seeds $SEEDS
# shellcheck disable=SC2086
"$PYTHON" merge_tabs.py "$OUT/tables" --seeds $SEEDS
