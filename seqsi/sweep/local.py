"""Run a matrix on one machine, N runs at a time: one GPU per run when GPUs are present
(CUDA_VISIBLE_DEVICES), otherwise CPU slots that share the cores (OMP_NUM_THREADS)."""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence

import torch

from .launch import Launched, restore_handlers, stop_all, stop_signals_raise
from .matrix import Matrix, Run
from .state import LOG, RESULTS, is_busy

POLL_S = 0.25


def visible_gpus(env: Mapping[str, str]) -> list[str]:
    """GPU ids a run may be given: CUDA_VISIBLE_DEVICES when set, else every device torch sees."""
    if "CUDA_VISIBLE_DEVICES" in env:
        return [g for g in env["CUDA_VISIBLE_DEVICES"].split(",") if g.strip() not in ("", "-1")]
    try:
        return [str(i) for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001 - no usable CUDA is simply no GPU
        return []


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def slot_envs(jobs: int, gpus: Sequence[str], gpus_per_run: int, threads: int | None,
              env: Mapping[str, str]) -> list[dict[str, str]]:
    """The environment of each of the `jobs` slots."""
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    if gpus and jobs * gpus_per_run > len(gpus):
        raise ValueError(f"--jobs {jobs} x --gpus_per_run {gpus_per_run} needs {jobs * gpus_per_run} GPUs; "
                         f"{len(gpus)} visible ({','.join(gpus)})")
    threads = threads or max(1, cpu_count() // jobs)
    slots = []
    for slot in range(jobs):
        slot_env = {**env, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        if gpus:
            slot_env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus[slot * gpus_per_run:(slot + 1) * gpus_per_run])
        slots.append(slot_env)
    return slots


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def run_local(matrix: Matrix, runs: Sequence[Run], launch: Sequence[str], slots: list[dict[str, str]],
              say: Callable[[str], None] = print) -> dict[str, list[Run]]:
    """Every run of `runs` (skipping those another launcher is running), len(slots) at a time.
    Returns {"done": [...], "failed": [...], "stopped": [...], "skipped": [...]}; on Ctrl-C or
    SIGTERM the running runs are stopped cleanly (resumable) and the rest left untouched."""
    waiting = list(runs)
    free = list(range(len(slots)))
    running: dict[int, tuple[Run, Launched]] = {}
    outcome: dict[str, list[Run]] = {"done": [], "failed": [], "stopped": [], "skipped": []}
    total, start = len(runs), time.monotonic()

    def progress(event: str) -> None:
        elapsed = time.monotonic() - start
        finished = len(outcome["done"]) + len(outcome["failed"])
        left = len(waiting) + len(running)
        eta = f", about {_clock(elapsed / finished * left)} left" if finished and left else ""
        say(f"[sweep {_clock(elapsed)}] {len(outcome['done'])}/{total} done, {len(running)} running, "
            f"{len(outcome['failed'])} failed, {len(waiting)} waiting{eta} | {event}")

    old_handlers = stop_signals_raise()
    try:
        while waiting or running:
            while waiting and free:
                run = waiting.pop(0)
                run_dir = matrix.path(run.folder)
                if is_busy(run_dir):
                    outcome["skipped"].append(run)
                    progress(f"skip {run.folder}: running elsewhere")
                    continue
                slot = free.pop(0)
                env = slots[slot]
                where = {"slot": slot}
                if "CUDA_VISIBLE_DEVICES" in env:
                    where["gpus"] = env["CUDA_VISIBLE_DEVICES"]
                running[slot] = (run, Launched(run_dir, [*launch, *run.args], matrix.folder, env, **where))
                progress(f"start {run.folder}")
            for slot, (run, launched) in list(running.items()):
                rc = launched.poll()
                if rc is None:
                    continue
                del running[slot]
                free.append(slot)
                if rc == 0 and (run_dir := matrix.path(run.folder)).joinpath(RESULTS).is_file():
                    outcome["done"].append(run)
                    progress(f"done {run.folder}")
                else:
                    outcome["failed"].append(run)
                    progress(f"FAILED {run.folder} (exit code {rc}, log {run_dir / LOG})")
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        say(f"[sweep] stopping {len(running)} running run(s) (Ctrl-C again to kill them at once) ...")
        stop_all([launched for _, launched in running.values()])
        outcome["stopped"] = [run for run, _ in running.values()]
        say(f"[sweep] stopped: {len(outcome['stopped'])} run(s) interrupted, {len(waiting)} not started; "
            "run the same command again to resume them")
    finally:
        restore_handlers(old_handlers)
        sys.stdout.flush()
    return outcome
