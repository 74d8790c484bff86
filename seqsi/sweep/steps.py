"""The commands around a matrix's runs (data preparation before them, tables after them):
Python scripts run one after the other in the matrix folder, each skipped when its output exists."""
from __future__ import annotations

import shlex
import subprocess
import sys

from .matrix import Matrix, Step


def run_steps(matrix: Matrix, steps: list[Step], what: str) -> int:
    """Run `steps` in order; the exit code of the first that fails, else 0."""
    for step in steps:
        if step.skip_if and matrix.path(step.skip_if).exists():
            continue
        print(f"[sweep] {what}: {shlex.join(step.args)}", flush=True)
        done = subprocess.run([sys.executable, *step.args], cwd=matrix.folder)
        if done.returncode:
            print(f"[sweep] {what} step failed (exit code {done.returncode}): {shlex.join(step.args)}", file=sys.stderr)
            return done.returncode
    return 0
