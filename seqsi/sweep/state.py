"""What a run folder says about its run: the only state a sweep keeps.

A launcher (local slot or SLURM task) writes `sweep.json` into the run folder when the run
starts and again when it ends, touches it every HEARTBEAT_S seconds while it runs, and sends
the run's output to `sweep.log` there. So any machine that sees the folder (a login node,
another local sweep) can tell done / running / failed / partial / missing without a database,
and sweeps can be stopped, resumed, extended and mixed between local and SLURM freely.
"""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ..engine.experiment import RESULTS  # the experiments' finished-run marker
from ..io import write_json
from .matrix import Matrix, Run

CHECKPOINT = "last.pt"
LOG = "sweep.log"
STATUS = "sweep.json"
LOG_MARK = "==== "          # the launcher's own lines in the log (start, end)
HEARTBEAT_S = 10.0
STALE_S = 60.0               # a "running" run silent for longer died without a word (node lost, SIGKILL)
STATES = ("done", "running", "failed", "partial", "missing")


@dataclass(frozen=True)
class RunState:
    state: str       # one of STATES
    detail: str = ""  # failed: why, with the log's last line; running: where


def read_status(run_dir: Path) -> dict | None:
    try:
        return json.loads((Path(run_dir) / STATUS).read_text())
    except (OSError, ValueError):
        return None


def mark_started(run_dir: Path, command: list[str], **where) -> None:
    info = {"state": "running", "host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
            "command": command, **where}
    write_json(Path(run_dir) / STATUS, info)


def heartbeat(run_dir: Path) -> None:
    try:
        os.utime(Path(run_dir) / STATUS)
    except OSError:
        pass


def mark_ended(run_dir: Path, returncode: int, stopped: bool) -> None:
    """`stopped`: ended by the user or the scheduler (Ctrl-C, scancel, time limit): resumable,
    not a failure."""
    info = read_status(run_dir) or {}
    info.update(state="stopped" if stopped else "exited", returncode=returncode, ended=time.time())
    write_json(Path(run_dir) / STATUS, info)


def last_line(run_dir: Path, limit: int = 200) -> str:
    """The run's last non-empty output line (not the sweep's own ==== lines; tqdm's carriage
    returns split lines too)."""
    try:
        with open(Path(run_dir) / LOG, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            tail = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.replace("\r", "\n").splitlines()
             if line.strip() and not line.startswith(LOG_MARK)]
    return lines[-1][:limit] if lines else ""


def state_of(run_dir: Path, now: float | None = None) -> RunState:
    run_dir = Path(run_dir)
    if (run_dir / RESULTS).is_file():
        return RunState("done")
    status = read_status(run_dir)
    if status is not None:
        kind, rc = status.get("state"), status.get("returncode")
        if kind == "running":
            age = (now or time.time()) - (run_dir / STATUS).stat().st_mtime
            where = status.get("slurm_job") or f"{status.get('host')} pid {status.get('pid')}"
            if age <= STALE_S:
                return RunState("running", str(where))
            return RunState("failed", f"no heartbeat for {age:.0f} s (was running on {where}): {last_line(run_dir)}")
        if kind == "exited" and rc not in (0, None):
            return RunState("failed", f"exit code {rc}: {last_line(run_dir)}")
        if kind == "exited":
            return RunState("failed", f"exited 0 without {RESULTS}: {last_line(run_dir)}")
        return RunState("partial", f"stopped (exit code {rc}), resumable")
    if (run_dir / CHECKPOINT).is_file():
        return RunState("partial", f"has {CHECKPOINT}, resumable")
    return RunState("missing")


def is_busy(run_dir: Path) -> bool:
    """Another launcher is running this run now: never start it a second time."""
    return state_of(run_dir).state == "running"


def matrix_states(matrix: Matrix) -> list[tuple[Run, RunState]]:
    """Every run of the matrix with what its run folder says."""
    return [(run, state_of(matrix.path(run.folder))) for run in matrix.runs]


def pending_runs(matrix: Matrix) -> list[Run]:
    """The runs to start: neither done nor running anywhere."""
    return [run for run, state in matrix_states(matrix) if state.state not in ("done", "running")]
