"""`seqsi sweep` / `python -m seqsi.sweep`: plan, run (locally or on SLURM) and follow a matrix.

    seqsi sweep plan   classification/cifar10                  # the runs and how many are done
    seqsi sweep local  classification/cifar10 --jobs 4         # 4 at a time (one GPU each if present)
    seqsi sweep slurm  classification/cifar10 --partition gpu --gpus 1 --time 20:00:00 --concurrency 40
    seqsi sweep status classification/cifar10                  # done / running / failed / partial / missing
    seqsi sweep tables classification/cifar10                  # the experiment's tables, once all are done

MATRIX is an experiment folder (its sweep_matrix.py), a matrix file, or a module name; the
environment variables the matrix reads (SEEDS, MODES, QUICK=1, ...) select the runs.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections import Counter
from pathlib import Path

from ..io import write_text
from ..sweep.matrix import Matrix, Run, load_matrix
from ..sweep.state import STATES, RunState, matrix_states, pending_runs, state_of
from ..sweep.steps import run_steps
from . import guarded


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument("matrix", help="experiment folder (holding sweep_matrix.py), a matrix .py file, or a module")
        return cmd

    plan = command("plan", "list the runs of the matrix and how many are done, partial or missing")
    plan.add_argument("--write", type=Path, help="also write the plan (state, run folder, command) as a TSV file")
    plan.add_argument("--quiet", action="store_true", help="only the counts")

    local = command("local", "run the matrix on this machine, N runs at a time")
    local.add_argument("--jobs", type=int, default=None,
                       help="runs at a time (default: one per visible GPU, else 1)")
    local.add_argument("--gpus", default="auto",
                       help="GPU ids to share out (e.g. 0,1,2,3), 'none' for CPU slots, or auto (default)")
    local.add_argument("--gpus_per_run", type=int, default=1, help="GPUs given to each run (default 1)")
    local.add_argument("--threads", type=int, default=None,
                       help="CPU threads per run (default: this machine's cores / jobs)")
    local.add_argument("--launch", default=None,
                       help='launcher of each run, e.g. "torchrun --nproc_per_node=2" (default: this Python)')
    local.add_argument("--no_prepare", action="store_true", help="skip the matrix's data preparation steps")
    local.add_argument("--no_tables", action="store_true", help="do not make the tables after the runs")

    slurm = command("slurm", "submit the runs not yet done as one SLURM job array (one task per run)")
    slurm.add_argument("--partition")
    slurm.add_argument("--account")
    slurm.add_argument("--qos")
    slurm.add_argument("--time", help="time limit per task, e.g. 20:00:00")
    slurm.add_argument("--gpus", type=int, default=0, help="GPUs per task (--gres=gpu:N; default 0)")
    slurm.add_argument("--cpus", type=int, default=None, help="CPUs per task (default: 10 per GPU, else 1)")
    slurm.add_argument("--mem", help="memory per task, e.g. 32G")
    slurm.add_argument("--concurrency", type=int, help="at most this many tasks at once (the array's %%N)")
    slurm.add_argument("--torchrun", action="store_true",
                       help="run each task under torchrun, one process per GPU of the task (data parallel)")
    slurm.add_argument("--launch", default=None, help="launcher of each run instead (default: this Python)")
    slurm.add_argument("--job_name")
    slurm.add_argument("--setup", action="append", default=[], metavar="LINE",
                       help="shell line run before each task, e.g. 'module load pytorch-gpu' (repeatable)")
    slurm.add_argument("--sbatch", dest="sbatch_args", action="append", default=[], metavar="OPTION",
                       help="any other sbatch option, e.g. --sbatch=--constraint=v100-32g (repeatable)")
    slurm.add_argument("--no_prepare", action="store_true", help="skip the matrix's data preparation steps")
    slurm.add_argument("--dry_run", action="store_true", help="write the sbatch script, do not submit it")

    status = command("status", "what the run folders say: done, running, failed (with the log's last line), "
                               "partial, missing")
    status.add_argument("--all", action="store_true", help="list the done runs too")

    command("prepare", "only the matrix's data preparation steps")
    command("tables", "only the matrix's tables (every run must be done)")

    run_one = sub.add_parser("exec", help="(used by the SLURM tasks) run one command with the sweep's log and status",
                             description="run one command with the sweep's log, status and heartbeat in RUN_DIR")
    run_one.add_argument("run_dir", type=Path)
    run_one.add_argument("cmd", nargs=argparse.REMAINDER, help="-- then the command")


def run(args: argparse.Namespace) -> int:
    if args.action == "exec":
        from ..sweep.task import exec_run

        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        return exec_run(args.run_dir, cmd)
    matrix = load_matrix(args.matrix, os.environ)
    return ACTIONS[args.action](matrix, args)


def counts_line(matrix: Matrix, found: list[tuple[Run, RunState]]) -> str:
    counts = Counter(s.state for _, s in found)
    parts = ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s] or s in ("done", "partial", "missing"))
    return f"{matrix.name}: {len(found)} runs in {matrix.path(matrix.out)}: {parts}"


def plan(matrix: Matrix, args) -> int:
    found = matrix_states(matrix)
    if not args.quiet:
        width = max((len(str(r.folder)) for r in matrix.runs), default=0)
        for run, state in found:
            print(f"{state.state:<8} {str(run.folder):<{width}}  {shlex.join(run.args)}")
    if args.write:
        rows = ["state\tfolder\tcommand"] + [f"{s.state}\t{r.folder}\t{shlex.join(r.args)}" for r, s in found]
        write_text(args.write, "\n".join(rows) + "\n")
    print(counts_line(matrix, found))
    return 0


def status(matrix: Matrix, args) -> int:
    found = matrix_states(matrix)
    for run, state in found:
        if state.state != "done" or args.all:
            print(f"{state.state:<8} {run.folder}" + (f"  {state.detail}" if state.detail else ""))
    print(counts_line(matrix, found))
    return 0


def prepare(matrix: Matrix, args) -> int:
    return run_steps(matrix, matrix.prepare, "prepare")


def tables(matrix: Matrix, args) -> int:
    if not matrix.runs:
        print(f"{matrix.name}: the matrix is empty, no tables")
        return 0
    missing = [run for run, state in matrix_states(matrix) if state.state != "done"]
    if missing:
        raise ValueError(f"{len(missing)} of {len(matrix.runs)} runs are not done (first: {missing[0].folder}); "
                         "see `seqsi sweep status`, or run the table scripts by hand with --partial")
    return run_steps(matrix, matrix.tables, "tables")


def local(matrix: Matrix, args) -> int:
    from ..sweep.local import run_local, slot_envs, visible_gpus

    todo = pending_runs(matrix)
    if todo and not args.no_prepare and (rc := prepare(matrix, args)):
        return rc
    if args.gpus == "none":
        gpus = []
    elif args.gpus == "auto":
        gpus = visible_gpus(os.environ)
    else:
        gpus = [g.strip() for g in args.gpus.split(",") if g.strip()]
    jobs = args.jobs or max(1, len(gpus) // args.gpus_per_run)
    slots = slot_envs(jobs, gpus, args.gpus_per_run, args.threads, os.environ)
    print(f"{counts_line(matrix, matrix_states(matrix))}; {len(todo)} to run, {jobs} at a time "
          f"({'GPUs ' + ', '.join(s['CUDA_VISIBLE_DEVICES'] for s in slots) if gpus else 'CPU'}, "
          f"{slots[0]['OMP_NUM_THREADS']} thread(s) each); logs: <run folder>/sweep.log", flush=True)
    launch = shlex.split(args.launch) if args.launch else [sys.executable]
    outcome = run_local(matrix, todo, launch, slots, say=lambda line: print(line, flush=True))
    if outcome["stopped"]:
        return 130
    if outcome["failed"]:
        for run in outcome["failed"]:
            print(f"failed: {run.folder}  {state_of(matrix.path(run.folder)).detail}")
        return 1
    if args.no_tables:
        return 0
    if any(state.state != "done" for _, state in matrix_states(matrix)):
        print("[sweep] tables not made: some runs are still running elsewhere; `seqsi sweep tables` later")
        return 0
    return tables(matrix, args)


def slurm(matrix: Matrix, args) -> int:
    from ..sweep.slurm import SlurmOptions, submit, write_sbatch

    todo = pending_runs(matrix)
    if todo and not args.no_prepare and (rc := prepare(matrix, args)):
        return rc
    if not todo:
        print(f"{counts_line(matrix, matrix_states(matrix))}; nothing to submit")
        return 0
    cpus = args.cpus or (10 * args.gpus if args.gpus else 1)
    opts = SlurmOptions(partition=args.partition, account=args.account, qos=args.qos, time=args.time,
                        gpus=args.gpus, cpus=cpus, mem=args.mem, concurrency=args.concurrency,
                        torchrun=args.torchrun, launch=shlex.split(args.launch) if args.launch else None,
                        job_name=args.job_name, setup=args.setup, sbatch_args=args.sbatch_args)
    script = write_sbatch(matrix, todo, opts)
    if args.dry_run:
        print(f"wrote {script} ({len(todo)} tasks); submit it with: sbatch {script}")
        return 0
    job = submit(script)
    print(f"submitted job {job}: {len(todo)} tasks ({script}); follow with `seqsi sweep status {args.matrix}`, "
          f"task logs in {matrix.sweep_dir / 'slurm'}, run logs in <run folder>/sweep.log")
    return 0


ACTIONS = {"plan": plan, "status": status, "prepare": prepare, "tables": tables, "local": local, "slurm": slurm}


def main(argv: list[str] | None = None) -> int:
    """`python -m seqsi.sweep ...` (seqsi/sweep/__main__.py), the same as `seqsi sweep ...`."""
    parser = argparse.ArgumentParser(prog="python -m seqsi.sweep")
    add_arguments(parser)
    return guarded(run, parser.parse_args(argv), prefix="seqsi sweep: error")
