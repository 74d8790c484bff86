"""Cost of the CIFAR-10 photometric suite vs one forward pass of the paper's CIFAR ResNet.

Target (issue 3): corrupting a batch of 128 images with every test set of the suite
costs at most 10 % of one forward pass of build_model("cifar_resnet", "standard") on
that batch, on CPU. Medians of several repeats after a warm-up, torch.no_grad, 2 threads.
On a busy machine, the suite's many small multi-threaded ops wait for a free core far
more than the large convolutions do: read the printed load average with the ratio.

    .venv/bin/python benchmarks/corruptions.py [--repeats 7] [--batch 128] [--threads 2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

import seqsi
from seqsi.photometric import load_suite

TARGET = 0.10


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    return statistics.median(seconds(fn) for _ in range(repeats))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--suite", default="cifar10")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    suite = load_suite(args.suite)
    x = torch.rand(args.batch, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    model = seqsi.build_model("cifar_resnet", "standard").eval()

    def corrupt_all():
        g = torch.Generator().manual_seed(1)
        for corruption in suite.test_corruptions():
            corruption(x, g)

    with torch.no_grad():
        corrupt_all(), model(x)  # warm-up
        # interleaved, so both sides see the same load on a shared machine
        pairs = [(seconds(corrupt_all), seconds(lambda: model(x))) for _ in range(args.repeats)]
        per_set = {c.name: median_seconds(lambda c=c: c(x, 1), args.repeats) for c in suite.test_corruptions()}
    t_suite = statistics.median(p[0] for p in pairs)
    t_model = statistics.median(p[1] for p in pairs)

    ratio = t_suite / t_model
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"batch {args.batch} x 3 x 32 x 32, CPU, {args.threads} threads, median of {args.repeats}, load average {load}")
    for name, t in per_set.items():
        print(f"  {name:<24s} {t * 1e3:8.2f} ms")
    print(f"{args.suite} suite ({len(per_set)} test sets): {t_suite * 1e3:8.1f} ms")
    print(f"cifar_resnet standard forward:       {t_model * 1e3:8.1f} ms")
    print(f"ratio suite / forward: {ratio:.3f} (target <= {TARGET:.2f}): {'PASS' if ratio <= TARGET else 'FAIL'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
