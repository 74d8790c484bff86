#!/usr/bin/env bash
# The 2D localization matrix of the paper (SPEC section 4): 4 modes x 2 losses, then the
# evaluations, the invariance experiment and the tables.
#
#   scripts/run_all_seeds.sh                        # paper scale: seed 1, 8 runs x 1000 epochs (GPU)
#   QUICK=1 scripts/run_all_seeds.sh                # quick preset on the embedded sample (CPU, ~3 minutes)
#   SEEDS="1 2 3" MODES="standard seqsi" LOSSES=zmse scripts/run_all_seeds.sh
#   LAUNCH="torchrun --nproc_per_node=4" scripts/run_all_seeds.sh
#
# Re-running skips finished runs (results.csv present) and resumes interrupted ones (last.pt).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
LAUNCH=${LAUNCH:-$PYTHON}
SEEDS=${SEEDS:-"1"}
MODES=${MODES:-"standard seq affeq seqsi"}
LOSSES=${LOSSES:-"bce zmse"}
PRESET=paper
OUT_DEFAULT=runs/loc2d
if [ "${QUICK:-0}" = 1 ]; then
  PRESET=quick
  OUT_DEFAULT=runs/loc2d_quick
  "$PYTHON" prepare_sample.py --out data/dsb2018_sample
fi
OUT=${OUT:-$OUT_DEFAULT}

for seed in $SEEDS; do
  for mode in $MODES; do
    for loss in $LOSSES; do
      # shellcheck disable=SC2086
      $LAUNCH train.py --preset "$PRESET" --mode "$mode" --loss "$loss" --seed "$seed" --out "$OUT" \
        --skip_done --no_progress
    done
  done
done

"$PYTHON" inv_experiment.py "$OUT" --skip_done
# shellcheck disable=SC2086
"$PYTHON" generate_res_table.py "$OUT" --seeds $SEEDS
