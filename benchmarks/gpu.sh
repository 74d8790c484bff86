#!/usr/bin/env bash
# GPU benchmark of the project, in at most 8 minutes on one GPU (each stage has its own timeout).
#
#   benchmarks/gpu.sh                      # on a machine with a CUDA GPU
#   benchmarks/gpu.sh --device cpu --tiny  # checks the script itself on CPU in about a minute
#
# Prints, in order:
#   1. img/s and peak train-step memory per mode, CIFAR ResNet batch 128, fp32 and bf16 autocast
#      (benchmarks/overhead.py);
#   2. one paper-scale training step of each experiment's network at its paper batch size, per mode,
#      with peak memory and step time (benchmarks/memory.py --scale paper): CIFAR ResNet 128 x 32^2,
#      CZI ResNet3D 8 x 64^3, 2D UNet 64 x 128^2, 3D UNet 4 x 90^3 (a failure to fit is printed);
#   3. the cost of the clean + 13 corrupted CIFAR-10 test sets at 10,000 images (benchmarks/evaluation.py).
# Exit status: 0, 1 if a stage failed or ran out of time, 3 if every stage ran but a target was missed.
# Set PYTHON to choose the interpreter (default .venv/bin/python, else python3), PAPER_REPO to add the paper's models to stage 2.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON; elif [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
DEVICE=cuda
TINY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --device) DEVICE=${2:-}; shift $(($# > 1 ? 2 : 1)) ;;
        --tiny) TINY=1; shift ;;
        *) echo "gpu.sh: unknown argument $1 (expected --device cuda|cpu, --tiny)" >&2; exit 2 ;;
    esac
done
if [ "$DEVICE" != cuda ] && [ "$DEVICE" != cpu ]; then
    echo "gpu.sh: --device: expected cuda or cpu, got '$DEVICE'" >&2
    exit 2
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# one start-up of the interpreter checks torch, and on cuda the GPU, and names it
CHECK='import sys
try:
    import torch
except ImportError:
    sys.exit(4)
if sys.argv[1] == "cuda":
    if not torch.cuda.is_available():
        sys.exit(5)
    p = torch.cuda.get_device_properties(0)
    print(f"GPU: {p.name}, {p.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, CUDA {torch.version.cuda}")'
rc=0
"$PY" -c "$CHECK" "$DEVICE" || rc=$?
if [ $rc = 5 ]; then
    echo "gpu.sh: no CUDA GPU visible to torch (torch.cuda.is_available() is False); run it on a GPU" \
         "machine, or check the script with: benchmarks/gpu.sh --device cpu --tiny" >&2
    exit 2
elif [ $rc = 4 ]; then
    echo "gpu.sh: $PY cannot import torch; set PYTHON to an interpreter with the project installed" >&2
    exit 2
elif [ $rc != 0 ]; then
    echo "gpu.sh: checking torch and the device with $PY failed (status $rc, see above)" >&2
    exit 2
fi
if [ "$DEVICE" = cuda ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv,noheader 2>/dev/null || true
fi
PAPER=()
if [ -n "${PAPER_REPO:-}" ]; then PAPER=(--paper-repo "$PAPER_REPO"); fi

if [ "$TINY" = 1 ]; then
    OVERHEAD=(--widths 8 8 16 --batch 8 --repeats 1)
    MEMORY=(--scale tiny --modes standard affeq)
    EVAL=(--images 64 --batch 32 --widths 8 8 16 --repeats 1)
    T1=120; T2=240; T3=120
else
    OVERHEAD=(--batch 128 --repeats 5)
    MEMORY=(--scale paper)
    EVAL=(--images 10000 --batch 1000 --repeats 2)
    T1=60; T2=200; T3=140   # 460 s if every stage ran to its limit: with start-up, under 8 minutes
fi

stage() {  # stage SECONDS TITLE COMMAND...: run one stage, report a timeout, failure or missed target and go on
    local limit=$1 title=$2; shift 2
    echo; echo "== $title"
    local start=$SECONDS rc=0
    timeout "$limit" "$@" || rc=$?
    if [ $rc = 124 ]; then echo "gpu.sh: stage stopped after its ${limit} s limit: $title"; FAILED=1
    elif [ $rc = 3 ]; then echo "gpu.sh: stage ran through and missed a target printed above: $title"; MISSED=1
    elif [ $rc != 0 ]; then echo "gpu.sh: stage exited with status $rc: $title"; FAILED=1; fi
    echo "($((SECONDS - start)) s)"
}
FAILED=0
MISSED=0
stage "$T1" "CIFAR ResNet per mode, fp32" "$PY" benchmarks/overhead.py --device "$DEVICE" --dtype fp32 "${OVERHEAD[@]}"
stage "$T1" "CIFAR ResNet per mode, bf16 autocast" "$PY" benchmarks/overhead.py --device "$DEVICE" --dtype bf16 "${OVERHEAD[@]}"
stage "$T2" "one paper-scale train step per network and mode" "$PY" benchmarks/memory.py --device "$DEVICE" "${MEMORY[@]}" "${PAPER[@]}"
stage "$T3" "corrupted CIFAR-10 test sets" "$PY" benchmarks/evaluation.py --device "$DEVICE" "${EVAL[@]}"
SUMMARY=""
if [ $MISSED = 1 ]; then SUMMARY=", a target missed"; fi
if [ $MISSED = 1 ] && [ $TINY = 1 ]; then SUMMARY="$SUMMARY (--tiny times a few tiny calls: that says nothing of speed)"; fi
if [ $FAILED = 1 ]; then SUMMARY="$SUMMARY, with a failed stage (see above)"; fi
echo; echo "gpu.sh: done in ${SECONDS} s$SUMMARY"
if [ $FAILED = 1 ]; then exit 1; elif [ $MISSED = 1 ]; then exit 3; fi
