"""Wall time of a local sweep run N at a time against one at a time.

Target (issue 16): on a machine with N free slots, `seqsi sweep local --jobs N` finishes a
quick matrix in about 1/N of the sequential (`--jobs 1`) time. The matrix: the digits quick
preset of classification/cifar10 (RUNS seeds of the Standard base run, EPOCHS epochs each,
no tables). `--jobs 1` gives its run every core (OMP_NUM_THREADS = cores), `--jobs N` splits
them (cores / N each), as the sweep does by default. Runs alternate between the two settings
over the repeats; the load average is printed before and after, since on a shared machine
other users' work takes slots away.

    .venv/bin/python benchmarks/sweep.py [--jobs 2] [--runs 4] [--epochs 10] [--repeats 1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CIFAR = ROOT / "classification" / "cifar10"


def sweep_seconds(jobs: int, runs: int, epochs: int) -> float:
    with tempfile.TemporaryDirectory(prefix="seqsi_sweep_bench_") as out:
        env = {**os.environ, "DATASET": "digits", "QUICK": "1", "SEEDS": " ".join(str(s) for s in range(runs)),
               "MODES": "standard", "VARIANTS": "base", "TELESCOPIC": "", "OUT": out,
               "TRAIN_FLAGS": f"--epochs {epochs}",
               "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "seqsi.sweep", "local", str(CIFAR), "--jobs", str(jobs),
                               "--gpus", "none", "--no_tables"], env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode:
            raise SystemExit(f"sweep --jobs {jobs} failed:\n{done.stdout}\n{done.stderr}")
        finished = len(list(Path(out).rglob("results.csv")))
        if finished != runs:
            raise SystemExit(f"sweep --jobs {jobs}: {finished} of {runs} runs finished")
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average before {os.getloadavg()[0]:.2f}; {args.runs} digits quick runs "
          f"x {args.epochs} epochs")
    times: dict[int, list[float]] = {1: [], args.jobs: []}
    for _ in range(args.repeats):
        for jobs in (1, args.jobs):
            times[jobs].append(sweep_seconds(jobs, args.runs, args.epochs))
            print(f"  --jobs {jobs}: {times[jobs][-1]:7.1f} s   (load average {os.getloadavg()[0]:.2f})", flush=True)
    one, many = statistics.median(times[1]), statistics.median(times[args.jobs])
    ratio = many / one
    print(f"--jobs {args.jobs} / --jobs 1 = {many:.1f} s / {one:.1f} s = {ratio:.2f} (ideal {1 / args.jobs:.2f}); "
          f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
