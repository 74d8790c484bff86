"""What a pre-padded input costs one 3x3 convolution, at the CIFAR ResNet's three stage shapes.

An AffEq convolution must pad by reflection before convolving (the convolution library pads
only with zeros), so it calls the convolution with padding=0 on an input one pixel larger on
each side. Side by side, alternated, median of the rounds, batch 64: the convolution with
padding=1 (Standard's), the same convolution on an input padded beforehand, and F.pad itself.
Same arithmetic in both; what differs is the kernel the library picks and the bigger input.

    PYTHONPATH=. python benchmarks/padded_conv.py [--threads 1] [--rounds 15]
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from side_by_side import alternated, parse

SHAPES = ((64, 32), (128, 16), (256, 8))  # channels, side: the three stages


def main() -> None:
    args = parse(__doc__, rounds=15, batch=64)
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
        ms = {name: t * 1e3 for name, t in alternated(cases, args.rounds).items()}
        print(f"{f'{channels} x {side}²':<16} {ms['padding=1']:>8.1f}ms {ms['pre-padded']:>9.1f}ms "
              f"{ms['pre-padded'] / ms['padding=1'] - 1:>5.0%} {ms['F.pad']:>6.1f}ms")


if __name__ == "__main__":
    main()
