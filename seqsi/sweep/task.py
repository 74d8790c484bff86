"""One run inside a SLURM task (`python -m seqsi.sweep exec RUN_DIR -- CMD ...`): the same
log, status and heartbeat as a local slot, and a clean stop on scancel or a time limit."""
from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .launch import Launched, restore_handlers, stop_all, stop_signals_raise
from .state import read_status, state_of

GRACE_S = 20.0  # below SLURM's usual KillWait (30 s) so the status is written before SIGKILL


def slurm_task(env: Mapping[str, str]) -> str | None:
    if env.get("SLURM_ARRAY_JOB_ID"):
        return f"{env['SLURM_ARRAY_JOB_ID']}_{env.get('SLURM_ARRAY_TASK_ID', '')}"
    return env.get("SLURM_JOB_ID")


def exec_run(run_dir: Path, command: Sequence[str], env: Mapping[str, str] = os.environ) -> int:
    if not command:
        raise ValueError("exec: no command given after --")
    run_dir = Path(run_dir)
    task = slurm_task(env)
    state = state_of(run_dir)
    if state.state == "done":
        print(f"skip {run_dir}: done")
        return 0
    if state.state == "running" and (read_status(run_dir) or {}).get("slurm_job") != task:
        print(f"skip {run_dir}: already running ({state.detail})")
        return 0
    where = {"slurm_job": task} if task else {}
    print(f"run {run_dir}{f' as SLURM task {task}' if task else ''} on {os.uname().nodename}", flush=True)
    handlers, launched = stop_signals_raise(), None
    try:
        launched = Launched(run_dir, list(command), Path.cwd(), env, **where)
        while launched.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        if launched is None:
            return 130
        stop_all([launched], GRACE_S)
        print(f"stopped {run_dir}: resumable from its last.pt", flush=True)
    finally:
        restore_handlers(handlers)
    rc = launched.returncode
    print(f"{run_dir}: exit code {rc}", flush=True)
    return 128 - rc if rc < 0 else rc
