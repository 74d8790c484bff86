#!/usr/bin/env bash
# The whole CIFAR-10 matrix of the paper (SPEC section 2), then the evaluations and the tables.
#
#   scripts/run_all_seeds.sh                     # paper scale: 5 seeds x 38 runs x 500 epochs (GPU)
#   QUICK=1 scripts/run_all_seeds.sh             # the quick preset (CPU smoke test of the pipeline)
#   DATASET=digits QUICK=1 SEEDS="5 7" MODES="standard seqsi_avg" scripts/run_all_seeds.sh
#   LAUNCH="torchrun --nproc_per_node=4" scripts/run_all_seeds.sh   # each run data parallel
#
# Re-running skips finished runs (results.csv present) and resumes interrupted ones (last.pt).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
LAUNCH=${LAUNCH:-$PYTHON}
DATASET=${DATASET:-cifar10}
SEEDS=${SEEDS:-"5 7 42 137 181"}
MODES=${MODES:-"standard se seqsi_avg affeq_avg"}
TELESCOPIC=${TELESCOPIC:-"seqsi_telescopic affeq_telescopic"}
OUT=${OUT:-runs/$DATASET}
PRESET=paper
if [ "${QUICK:-0}" = 1 ]; then PRESET=quick; fi
VARIANTS=("" "--norm_type instance" "--norm_type batch" "--norm_type layer" "--norm_type mix"
          "--dropout_rate 0.3" "--affine_aug" "--nonaffine_aug" "--random_aug")

train() {  # mode seed [variant flags...]
  local mode=$1 seed=$2; shift 2
  # shellcheck disable=SC2086
  $LAUNCH train.py --dataset "$DATASET" --preset "$PRESET" --model "$mode" --seed "$seed" --out "$OUT" \
    --skip_done --no_progress "$@"
}

for seed in $SEEDS; do
  for mode in $MODES; do
    for variant in "${VARIANTS[@]}"; do
      # shellcheck disable=SC2086
      train "$mode" "$seed" $variant
    done
  done
  for mode in $TELESCOPIC; do
    train "$mode" "$seed"
  done
done

"$PYTHON" evaluate_invariance.py "$OUT" --skip_done
"$PYTHON" generate_res_table.py "$OUT" --seeds $SEEDS
