"""One training per run folder: an OS file lock held for the run's lifetime.

`fcntl.flock` on `<run>/.run.lock` is released by the kernel when the holder exits, however
it exits (kill -9 included), so a crashed run never leaves a stale lock behind. The file
records the holder's PID, host and start time for the error a second start gets. Under
torchrun only rank 0 locks (the other ranks write nothing). flock is local to one machine
on some network file systems (older NFS): two hosts may then not see each other's lock.

A resume also removes the run folder's stale temp files: `.<name>.<random>.tmp` files (and
folders) that `seqsi.io` atomic writes leave when killed mid-write. Only the folder's own
top-level entries of that pattern, older than the lock, are removed: with the lock held no
other training writes there.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import time
from pathlib import Path

LOCK_FILE = ".run.lock"
_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}\.tmp$")  # tempfile.mkstemp(prefix=".<name>.", suffix=".tmp")


class RunLockedError(OSError):
    """The run folder is locked by another training."""


class RunLock:
    """Context manager: hold `<run_dir>/.run.lock` exclusively, or raise RunLockedError."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self._fd: int | None = None
        self._created: list[Path] = []  # folders this lock made (removed again if the run wrote nothing)
        self.since = 0.0

    def acquire(self) -> "RunLock":
        missing = [d for d in (self.run_dir, *self.run_dir.parents) if not d.exists()]
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._created = missing
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "unknown holder"
            os.close(fd)
            raise RunLockedError(f"{self.run_dir} is in use by another training ({holder}); wait for it to end, "
                                 "or choose another --run_dir / --out") from None
        self.since = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"PID {os.getpid()} on host {socket.gethostname()}, since {stamp}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock. A run folder this lock created and nothing else wrote into (the run was
        refused before starting) is removed again, so bad input leaves no trace on disk."""
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        if self._created and [p.name for p in self.run_dir.iterdir()] == [LOCK_FILE]:
            self.path.unlink(missing_ok=True)
            for folder in self._created:  # deepest first
                try:
                    folder.rmdir()
                except OSError:
                    break
        os.close(self._fd)  # closing the descriptor drops the flock
        self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def lock_run(run_dir: str | os.PathLike, rank: int | None = None) -> RunLock | None:
    """The run folder's lock, taken now; None on ranks other than 0 (they never write)."""
    rank = int(os.environ.get("RANK", "0")) if rank is None else rank
    return RunLock(run_dir).acquire() if rank == 0 else None


def stale_temp_files(run_dir: str | os.PathLike, older_than: float) -> list[Path]:
    """Top-level temp entries of atomic writes in `run_dir` last modified before `older_than`."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = []
    for entry in sorted(run_dir.iterdir()):
        if _TEMP.match(entry.name) and not entry.is_symlink() and entry.lstat().st_mtime < older_than:
            found.append(entry)
    return found


def remove_stale_temp_files(lock: RunLock) -> list[Path]:
    """Remove the stale temp files of the locked run folder; prints what went and how much."""
    removed, size = [], 0
    for entry in stale_temp_files(lock.run_dir, lock.since):
        if entry.is_dir():
            size += sum(f.stat().st_size for f in entry.rglob("*") if f.is_file())
            shutil.rmtree(entry, ignore_errors=True)
        else:
            size += entry.stat().st_size
            entry.unlink(missing_ok=True)
        removed.append(entry)
    if removed:
        names = ", ".join(e.name for e in removed[:5]) + (" ..." if len(removed) > 5 else "")
        print(f"removed {len(removed)} stale temp file(s) of interrupted writes from {lock.run_dir} "
              f"({size / 1e6:.1f} MB): {names}", flush=True)
    return removed


__all__ = ["LOCK_FILE", "RunLock", "RunLockedError", "lock_run", "remove_stale_temp_files", "stale_temp_files"]
