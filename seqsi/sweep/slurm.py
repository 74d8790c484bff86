"""Submit a matrix as one SLURM job array: one task per run, written as a plain sbatch script.

Why plain `sbatch --array` and not submitit: the script is the whole interface, so a cluster
user can read it, edit it (modules, partitions, constraints) and resubmit it with `sbatch`
alone; nothing is pickled, no Python object has to survive between the login node and the
compute nodes, and there is no dependency to install. Each task wraps its train.py in
`python -m seqsi.sweep exec RUN_DIR -- ...` (log, status, heartbeat in the run folder) and
passes --skip_done, so a requeued or resubmitted task skips a finished run and resumes an
interrupted one from its last.pt.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..io import write_text
from .matrix import Matrix, Run

SCRIPT = "sbatch.sh"
MAX_ARRAY = 1000  # SLURM's default MaxArraySize is 1001 (indices 0-1000)


@dataclass
class SlurmOptions:
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: str | None = None            # e.g. 20:00:00
    gpus: int = 0                      # GPUs per task (--gres=gpu:N)
    cpus: int = 1                      # CPUs per task
    mem: str | None = None             # e.g. 16G
    concurrency: int | None = None     # the array's %N: at most N tasks at once
    torchrun: bool = False             # one torchrun per task over its GPUs (or CPUs)
    launch: list[str] | None = None    # the launcher, default this Python
    job_name: str | None = None
    setup: list[str] = field(default_factory=list)       # shell lines before the run (module load ...)
    sbatch_args: list[str] = field(default_factory=list)  # any other #SBATCH option


def _quote(args: Sequence[str]) -> str:
    return " ".join(shlex.quote(str(a)) for a in args)


def launcher(opts: SlurmOptions) -> list[str]:
    if opts.launch:
        return list(opts.launch)
    if opts.torchrun:
        nproc = opts.gpus if opts.gpus > 0 else opts.cpus
        return ["$PYTHON", "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    return ["$PYTHON"]


def sbatch_script(matrix: Matrix, runs: Sequence[Run], opts: SlurmOptions, python: str = sys.executable) -> str:
    if not runs:
        raise ValueError("no run to submit")
    if len(runs) > MAX_ARRAY + 1:
        raise ValueError(f"{len(runs)} runs exceed SLURM's default array size ({MAX_ARRAY + 1}); "
                         "submit subsets (SEEDS=..., MODES=...)")
    logs = matrix.sweep_dir.resolve() / "slurm"
    array = f"0-{len(runs) - 1}" + (f"%{opts.concurrency}" if opts.concurrency else "")
    directives = [f"--job-name={opts.job_name or 'seqsi-' + matrix.name}", f"--array={array}",
                  f"--output={logs}/%A_%a.out", "--ntasks=1", f"--cpus-per-task={opts.cpus}", "--requeue"]
    for flag, value in (("partition", opts.partition), ("account", opts.account), ("qos", opts.qos),
                        ("time", opts.time), ("mem", opts.mem)):
        if value:
            directives.append(f"--{flag}={value}")
    if opts.gpus:
        directives.append(f"--gres=gpu:{opts.gpus}")
    directives += opts.sbatch_args
    launch = " ".join('"$PYTHON"' if a == "$PYTHON" else shlex.quote(a) for a in launcher(opts))
    lines = [
        "#!/bin/bash",
        f"# {len(runs)} run{'s' if len(runs) > 1 else ''} of the {matrix.name} sweep, one array task each; "
        "written by `seqsi sweep slurm`",
        f"# on {time.strftime('%Y-%m-%d %H:%M')}. Edit freely (modules, partition, ...) and submit with",
        f"#   sbatch {matrix.sweep_dir.resolve() / SCRIPT}",
        "# Every train.py has --skip_done: a requeued or resubmitted task skips a finished run and",
        "# resumes an interrupted one from its last.pt. Its output goes to <run folder>/sweep.log.",
        *(f"#SBATCH {d}" for d in directives),
        "set -euo pipefail",
        *opts.setup,
        f"cd {shlex.quote(str(matrix.folder))}",
        f"PYTHON={shlex.quote(python)}",
        f"LAUNCH=({launch})",
        "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}",
        "",
        'case "$SLURM_ARRAY_TASK_ID" in',
    ]
    for index, run in enumerate(runs):
        lines.append(f"  {index}) RUN={shlex.quote(str(run.folder))}; ARGS=({_quote(run.args)}) ;;")
    lines += ['  *) echo "no run for array task $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;', "esac",
              'exec "$PYTHON" -m seqsi.sweep exec "$RUN" -- "${LAUNCH[@]}" "${ARGS[@]}"', ""]
    return "\n".join(lines)


def write_sbatch(matrix: Matrix, runs: Sequence[Run], opts: SlurmOptions) -> Path:
    path = matrix.sweep_dir / SCRIPT
    (matrix.sweep_dir / "slurm").mkdir(parents=True, exist_ok=True)
    write_text(path, sbatch_script(matrix, runs, opts))
    path.chmod(0o755)
    return path


def submit(script: Path) -> str:
    """sbatch the script; the job id."""
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise OSError("sbatch not found: run this on a SLURM login node (or pass --dry_run to only write "
                      f"{script})")
    done = subprocess.run([sbatch, "--parsable", str(script)], capture_output=True, text=True)
    if done.returncode:
        raise OSError(f"sbatch {script} failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout.strip().split(";")[0]
