"""Start one run as a child process with its log and status in the run folder, and stop it
cleanly: the child gets SIGINT (Python's Ctrl-C), so its last.pt, written atomically every
epoch, is left whole and the run resumes from it next time (train.py --skip_done)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from .state import HEARTBEAT_S, LOG, LOG_MARK, heartbeat, mark_ended, mark_started

STOP_GRACE_S = 60.0


class Launched:
    """One running run. `poll()` keeps its heartbeat and returns its exit code once ended."""

    def __init__(self, run_dir: Path, command: list[str], cwd: Path, env: Mapping[str, str], **where):
        self.run_dir, self.command, self.stopped = Path(run_dir), command, False
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log = open(self.run_dir / LOG, "ab")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        extra = "".join(f" {k}={v}" for k, v in where.items())
        self.log.write(f"{LOG_MARK}{stamp} sweep start{extra}: {subprocess.list2cmdline(command)}\n".encode())
        self.log.flush()
        mark_started(self.run_dir, command, **where)
        self.proc = subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.started = self._beat = time.monotonic()
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        rc = self.proc.poll()
        if rc is None:
            if time.monotonic() - self._beat >= HEARTBEAT_S:
                heartbeat(self.run_dir)
                self._beat = time.monotonic()
            return None
        self._finish(rc)
        return rc

    def signal(self, sig: int) -> None:
        """Signal the run's whole process group (torchrun and its workers included)."""
        self.stopped = True
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def _finish(self, rc: int) -> None:
        self.returncode = rc
        mark_ended(self.run_dir, rc, stopped=self.stopped)
        self.log.write(f"{LOG_MARK}{time.strftime('%Y-%m-%d %H:%M:%S')} sweep end: "
                       f"{'stopped, ' if self.stopped else ''}exit code {rc}\n".encode())
        self.log.close()


def stop_all(runs: list[Launched], grace_s: float = STOP_GRACE_S) -> None:
    """SIGINT to every running run, SIGKILL to those still alive after `grace_s` (or at a
    second Ctrl-C)."""
    alive = [r for r in runs if r.poll() is None]
    for run in alive:
        run.signal(signal.SIGINT)
    deadline = time.monotonic() + grace_s
    try:
        while any(r.poll() is None for r in alive) and time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    for run in alive:
        if run.poll() is None:
            run.signal(signal.SIGKILL)
            run.proc.wait()
            run.poll()


def stop_signals_raise() -> dict:
    """SIGTERM (scancel, kill, a time limit) stops a sweep like Ctrl-C does; returns the old
    handlers for restore_handlers."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def restore_handlers(handlers: dict) -> None:
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
