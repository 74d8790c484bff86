"""Peak memory of one training step of each of the paper's four networks, per mode.

On CPU each case runs in a fresh subprocess and reports its peak resident set size (RSS,
getrusage), and the rise of that peak over the RSS just before the step (activations,
gradients, optimizer state: what the mode changes). On a GPU all cases share one process and
each reports torch.cuda.max_memory_allocated over its step, weights included; the step's
time (the second step, after a warm-up one) comes with it. With --paper-repo the paper's
model of the same network and mode is measured the same way.

The paper's cost table gives 0.44 GB for SEqSI against 1.26 GB for AffEq (as quoted in issue
18); the network and batch of that table are not stated in that quote.

    python benchmarks/memory.py [--paper-repo ../shared/seed-code]        # CPU, small inputs
    python benchmarks/memory.py --device cuda --scale paper               # paper batch sizes
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import torch

from paper_models import NETWORKS, example, loss_fn, paper_model

# network -> {scale: (batch, size)}; "paper" is each experiment's training batch and crop
SCALES = {
    "cifar": {"paper": (128, 32), "cpu": (32, 32), "tiny": (4, 32)},
    "czi": {"paper": (8, 64), "cpu": (1, 24), "tiny": (1, 16)},
    "unet2d": {"paper": (64, 128), "cpu": (2, 64), "tiny": (1, 32)},
    "unet3d": {"paper": (4, 90), "cpu": (1, 24), "tiny": (1, 16)},
}
MODES = ("standard", "seq", "seqsi", "affeq")
PAPER_REPORTED = "paper's cost table: SEqSI 0.44 GB, AffEq 1.26 GB"


def counterpart(net, mode: str) -> str | None:
    """Our mode whose paper counterpart stands for `mode` on `net` (the paper's UNets only have
    telescopic kernels; the reparametrisation does not change the memory), or None."""
    return next((m for m in (mode, f"{mode}_telescopic") if m in net.modes), None)


def rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def one_case(name: str, mode: str, side: str, scale: str, device: torch.device, paper_repo: str | None,
             dtype: str = "fp32") -> dict:
    """Build one model, run two train steps, return the peak memory (and the second step's time)."""
    net = NETWORKS[name]
    batch, size = SCALES[name][scale]
    torch.manual_seed(0)
    model = paper_model(paper_repo, net, counterpart(net, mode)) if side == "paper" else net.ours(mode)
    model = model.to(device).train()
    x, y = example(net, batch, size, device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    loss = loss_fn(net)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == "bf16")

    def step():
        opt.zero_grad(set_to_none=True)
        with autocast:
            out = model(x)
        loss(out.float(), y).backward()
        opt.step()

    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    before = rss_now()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    result = {"network": name, "mode": mode, "side": side, "batch": batch, "size": size, "seconds": seconds}
    if device.type == "cuda":
        result["peak_gb"] = torch.cuda.max_memory_allocated(device) / 1e9
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
        result["peak_gb"], result["step_gb"] = peak / 1e9, (peak - before) / 1e9
    return result


def run_cpu_case(args, name, mode, side) -> dict:
    """One case in a fresh interpreter, so that its RSS peak is its own."""
    cmd = [sys.executable, __file__, "--child", name, mode, side, "--scale", args.scale, "--device", "cpu"]
    if args.paper_repo:
        cmd += ["--paper-repo", args.paper_repo]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"network": name, "mode": mode, "side": side, "error": tail}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paper-repo", help="checkout of the paper's repository, e.g. ../shared/seed-code")
    parser.add_argument("--networks", nargs="+", choices=sorted(SCALES), default=list(SCALES))
    parser.add_argument("--modes", nargs="+", default=list(MODES))
    parser.add_argument("--scale", choices=("paper", "cpu", "tiny"), default=None,
                        help="input sizes (default: paper on a GPU, cpu on CPU)")
    parser.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32", help="bf16: autocast (GPU)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", nargs=3, metavar=("NETWORK", "MODE", "SIDE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    device = torch.device(args.device)
    args.scale = args.scale or ("paper" if device.type == "cuda" else "cpu")
    if args.child:
        print(json.dumps(one_case(*args.child, args.scale, device, args.paper_repo, args.dtype)))
        return
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("memory.py: --device cuda but torch sees no CUDA GPU")
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU, RSS of a fresh process per case"
    print(f"peak memory of one train step (SGD, {args.dtype}), {where}; {PAPER_REPORTED}")
    sides = ["ours", "paper"] if args.paper_repo else ["ours"]
    header = f"{'network':<8} {'input':<14} {'mode':<10} {'side':<6} {'peak GB':>8}"
    print(header + (f" {'step GB':>8}" if device.type == "cpu" else f" {'step s':>8}"))
    for name in args.networks:
        net = NETWORKS[name]
        for mode in args.modes:
            for side in sides:
                if side == "paper" and counterpart(net, mode) is None:
                    continue
                if device.type == "cpu":
                    r = run_cpu_case(args, name, mode, side)
                else:
                    try:
                        r = one_case(name, mode, side, args.scale, device, args.paper_repo, args.dtype)
                    except torch.cuda.OutOfMemoryError:
                        r = {"network": name, "mode": mode, "side": side, "error": "out of GPU memory"}
                    torch.cuda.empty_cache()
                batch, size = SCALES[name][args.scale]
                label = f"{batch} x {size}^{net.dims}"
                if "error" in r:
                    print(f"{name:<8} {label:<14} {mode:<10} {side:<6} failed: {r['error']}", flush=True)
                    continue
                extra = r["step_gb"] if device.type == "cpu" else r["seconds"]
                print(f"{name:<8} {label:<14} {mode:<10} {side:<6} {r['peak_gb']:>8.2f} {extra:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
