"""Sort pooling written inside the next convolution's reflect frame (seqsi.nn.framed), against
the plain path (F.pad copies the input before every reflect-padded convolution).

AffEq CIFAR ResNet, eval forward under no_grad, batch 64, 32x32. Each side runs in processes
of its own (P eval passes per process, after one warm-up pass), the two sides alternating,
R pairs; printed are medians of wall, user and system time of the P passes and of the minor
page faults they cause, and the median of the per-pair wall ratios plain / framed (> 1: the
frame pays). What it saves is F.pad's fresh padded copy, whose pages the kernel faults in and
zeroes: hence system time. Two protocols:

- `fresh`: an eval-only process, as `seqsi predict` or a test-set evaluation from a checkpoint;
- `after-train`: one SGD train step first (paper_speed.py's protocol): the heap then holds
  the freed memory of the backward pass and F.pad's copy reuses it without faulting.

Before timing, the outputs of the two paths are checked to be bitwise equal in float64.

    PYTHONPATH=. python benchmarks/framed.py [--pairs 5] [--passes 8] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

from seqsi import build_model
from seqsi.nn import framed

PROTOCOLS = ("fresh", "after-train")


def model_and_input(dtype=torch.float32):
    torch.manual_seed(0)
    model = build_model("cifar_resnet", "affeq", 2).to(dtype)
    return model, torch.rand(64, 3, 32, 32, dtype=dtype)


def outputs_equal() -> bool:
    model, x = model_and_input(torch.float64)
    model.eval()
    with torch.no_grad():
        framed.ENABLED = False
        plain = model(x[:8])
        framed.ENABLED = True
        inside = model(x[:8])
    return torch.equal(plain, inside)


def child(enabled: bool, protocol: str, passes: int) -> dict:
    framed.ENABLED = enabled
    model, x = model_and_input()
    if protocol == "after-train":
        torch.nn.functional.cross_entropy(model.train()(x), torch.randint(0, 10, (len(x),))).backward()
    model.eval()
    with torch.no_grad():
        model(x)  # warm-up: the kernel cache, oneDNN's primitives
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        for _ in range(passes):
            model(x)
        wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    return {"wall": wall, "user": after.ru_utime - before.ru_utime, "sys": after.ru_stime - before.ru_stime,
            "faults": after.ru_minflt - before.ru_minflt}


def run_child(enabled: bool, protocol: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", "on" if enabled else "off", "--protocol", protocol,
           "--passes", str(args.passes), "--threads", str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--passes", type=int, default=8, help="eval passes timed in each process")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--protocols", nargs="+", choices=PROTOCOLS, default=list(PROTOCOLS))
    parser.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    parser.add_argument("--protocol", choices=PROTOCOLS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(child(args.child == "on", args.protocol, args.passes)))
        return
    equal = outputs_equal()
    print(f"AffEq CIFAR ResNet, eval, batch 64, 32x32; {args.threads} torch threads, torch {torch.__version__}; "
          f"{args.pairs} process pairs x {args.passes} passes; load average {os.getloadavg()[0]:.2f}")
    print(f"outputs of the two paths bitwise equal in float64: {equal}")
    print(f"{'protocol':<12} {'path':<7} {'wall s':>7} {'user s':>7} {'sys s':>6} {'page faults':>12}")
    for protocol in args.protocols:
        runs = {True: [], False: []}
        for pair in range(args.pairs):
            for enabled in ((True, False) if pair % 2 else (False, True)):
                runs[enabled].append(run_child(enabled, protocol, args))
        for enabled, name in ((False, "plain"), (True, "framed")):
            med = {k: statistics.median(r[k] for r in runs[enabled]) for k in ("wall", "user", "sys", "faults")}
            print(f"{protocol:<12} {name:<7} {med['wall']:>7.2f} {med['user']:>7.2f} {med['sys']:>6.2f} "
                  f"{med['faults']:>12,.0f}")
        ratio = statistics.median(p["wall"] / f["wall"] for p, f in zip(runs[False], runs[True]))
        print(f"{protocol:<12} plain / framed wall time: {ratio:.3f}")
    print(f"load average after {os.getloadavg()[0]:.2f}")
    raise SystemExit(0 if equal else 1)


if __name__ == "__main__":
    main()
