"""What a pre-padded input costs one 3x3 convolution, at the CIFAR ResNet's three stage shapes.

An AffEq convolution must pad by reflection before convolving (the convolution library pads
only with zeros), so it calls the convolution with padding=0 on an input one pixel larger on
each side. Side by side, alternated, median of the rounds, batch 64: the convolution with
padding=1 (Standard's), the same convolution on an input padded beforehand, and F.pad itself.
Same arithmetic in both; what differs is the kernel the library picks and the bigger input.

    PYTHONPATH=. python benchmarks/padded_conv.py [--threads 1] [--rounds 15]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

SHAPES = ((64, 32), (128, 16), (256, 8))  # channels, side: the three stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"3x3 convolution, batch {args.batch}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, "
          f"median of {args.rounds} alternated rounds")
    print(f"{'channels x size':<16} {'padding=1':>10} {'pre-padded':>11} {'extra':>6} {'F.pad':>8}")
    for channels, side in SHAPES:
        torch.manual_seed(0)
        x = torch.randn(args.batch, channels, side, side)
        weight = torch.randn(channels, channels, 3, 3) / (3 * channels ** 0.5)
        padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
        cases = {"padding=1": lambda: F.conv2d(x, weight, padding=1), "pre-padded": lambda: F.conv2d(padded, weight),
                 "F.pad": lambda: F.pad(x, (1, 1, 1, 1), mode="reflect")}
        times = {name: [] for name in cases}
        for r in range(args.rounds + 1):  # round 0 warms up
            for name in (list(cases) if r % 2 else list(cases)[::-1]):
                start = time.perf_counter()
                cases[name]()
                if r:
                    times[name].append(time.perf_counter() - start)
        ms = {name: statistics.median(t) * 1e3 for name, t in times.items()}
        print(f"{f'{channels} x {side}²':<16} {ms['padding=1']:>8.1f}ms {ms['pre-padded']:>9.1f}ms "
              f"{ms['pre-padded'] / ms['padding=1'] - 1:>5.0%} {ms['F.pad']:>6.1f}ms")


if __name__ == "__main__":
    main()
