"""What the benchmarks share: the single-kernel ones' command line and alternated timing, and the
exit status of one that ran through but missed a printed target."""
from __future__ import annotations

import argparse
import statistics
import time

import torch

TARGET_MISSED = 3  # not 1, which a Python traceback also gives: gpu.sh tells the two apart


def parse(doc: str, rounds: int, **extra: int) -> argparse.Namespace:
    """--threads, --rounds and any `extra` int options; sets torch's threads."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--rounds", type=int, default=rounds)
    for name, default in extra.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def alternated(cases: dict, rounds: int) -> dict[str, float]:
    """Median seconds per case over `rounds`, the order flipped every round; a round 0 warms up."""
    times = {name: [] for name in cases}
    for r in range(rounds + 1):
        for name in (list(cases) if r % 2 else list(cases)[::-1]):
            start = time.perf_counter()
            cases[name]()
            if r:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}
