"""Issue 14, cases 2, 7 and 8, with real processes: one training per run folder (an OS lock,
released on crash), a resume removes the stale temp files of killed atomic writes, and a
stalled torchrun rank makes the others fail after the process-group timeout."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpers import ROOT
from seqsi.engine.runlock import LOCK_FILE, RunLock, RunLockedError, stale_temp_files
from seqsi.io import atomic_path

# A train.py in miniature: the real flags and run_training; train() waits for a file to appear.
WORKER = textwrap.dedent("""
    import argparse, pathlib, sys, time
    from seqsi.cli import guarded
    from seqsi.engine.experiment import add_common_arguments, run_training

    def main():
        parser = argparse.ArgumentParser()
        add_common_arguments(parser, None)
        parser.add_argument("--no_eval", action="store_true")
        parser.add_argument("--wait_for")
        args = parser.parse_args()

        def train(ctx):
            print("training", flush=True)
            while args.wait_for and not pathlib.Path(args.wait_for).exists():
                time.sleep(0.05)
            (args.run_dir / "last.pt").write_text("done")

        return run_training(args, args.run_dir, {}, train, lambda ctx, state: None)

    sys.exit(guarded(main))
""")


def _start(tmp_path, run_dir, *extra):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(script), "--run_dir", str(run_dir), "--no_eval", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_training(proc):
    line = proc.stdout.readline()
    assert line.strip() == "training", (line, proc.stderr.read() if proc.poll() is not None else "")


@pytest.mark.slow
def test_second_training_in_a_run_folder_is_refused_naming_the_holder(tmp_path):
    run_dir, go = tmp_path / "run", tmp_path / "go"
    first = _start(tmp_path, run_dir, "--wait_for", str(go))
    try:
        _wait_training(first)
        second = _start(tmp_path, run_dir)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 2, (out, err)
        assert str(run_dir) in err and f"PID {first.pid}" in err and socket.gethostname() in err
        assert "training" not in out and not (run_dir / "last.pt").exists()
    finally:
        go.touch()
        first.communicate(timeout=60)
    assert first.returncode == 0 and (run_dir / "last.pt").read_text() == "done"


def test_lock_is_released_when_the_holder_is_killed(tmp_path):
    run_dir = tmp_path / "run"
    first = _start(tmp_path, run_dir, "--wait_for", str(tmp_path / "never"))
    _wait_training(first)
    with pytest.raises(RunLockedError):
        RunLock(run_dir).acquire()
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    with RunLock(run_dir) as lock:  # the kernel dropped the dead holder's lock
        assert f"PID {os.getpid()}" in (run_dir / LOCK_FILE).read_text() and lock.since > 0


def test_only_rank_zero_locks(tmp_path):
    from seqsi.engine.runlock import lock_run

    held = lock_run(tmp_path / "run", rank=0)
    try:
        assert lock_run(tmp_path / "run", rank=1) is None  # other ranks never write, never lock
        with pytest.raises(RunLockedError):
            lock_run(tmp_path / "run", rank=0)
    finally:
        held.release()


def _killed_write(path: Path) -> Path:
    """A temp file as a kill in the middle of an atomic write leaves it (the real atomic_path)."""
    context = atomic_path(path)
    tmp = context.__enter__()
    tmp.write_bytes(b"x" * 4096)
    left = tmp.with_name(tmp.name + ".keep")
    os.link(tmp, left)  # keep it past the context's cleanup, under the name a kill leaves
    context.__exit__(RuntimeError, RuntimeError(), None)
    os.replace(left, tmp)
    return tmp


def test_resume_removes_only_stale_temp_files_of_its_run_folder(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    stale = [_killed_write(run_dir / "last.pt"), _killed_write(run_dir / "metrics.csv")]
    (run_dir / "sub").mkdir()
    nested = _killed_write(run_dir / "sub" / "x.pt")          # not the run folder's own
    keep = [run_dir / "notes.tmp", run_dir / ".hidden", run_dir / "last.pt"]
    for path in keep:
        path.write_text("keep")
    old = time.time() - 60
    for path in stale + [nested] + keep:
        os.utime(path, (old, old))
    fresh = _killed_write(run_dir / "best.pt")               # newer than the lock: not stale
    os.utime(fresh, (time.time() + 60, time.time() + 60))
    assert all(p.name.startswith(".") and p.name.endswith(".tmp") for p in stale)

    proc = _start(tmp_path, run_dir, "--resume")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "removed 2 stale temp file(s)" in out
    assert not any(p.exists() for p in stale)
    assert nested.exists() and fresh.exists() and all(p.exists() for p in keep)
    assert stale_temp_files(run_dir, time.time() + 120) == [fresh]


DDP_WORKER = textwrap.dedent("""
    import os, signal, sys, time, torch
    from seqsi.engine import distributed
    ctx = distributed.init("cpu", timeout_minutes=float(sys.argv[1]))
    if ctx.rank == 1:
        os.kill(os.getpid(), signal.SIGSTOP)            # a frozen rank
    started = time.time()
    try:
        distributed.all_reduce_sum(torch.ones(1), ctx)
    except RuntimeError as err:
        print(f"rank {ctx.rank} failed after {time.time() - started:.1f} s: {type(err).__name__}", flush=True)
        sys.exit(1)
    print("finished", flush=True)
""")


@pytest.mark.slow
def test_stalled_rank_fails_the_others_after_the_timeout(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(DDP_WORKER)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank in (0, 1):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "WORLD_SIZE": "2", "RANK": str(rank), "LOCAL_RANK": str(rank),
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        procs.append(subprocess.Popen([sys.executable, str(script), "0.05"], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=env))
    try:
        out, err = procs[0].communicate(timeout=120)  # 3 s timeout; the gloo default would be 30 min
        assert procs[0].returncode != 0 and "rank 0 failed after" in out, (out, err)  # gloo may abort (-6) on teardown
        assert float(out.split("after ")[1].split(" s")[0]) < 60
    finally:
        procs[1].kill()
        procs[1].wait()


def test_timeout_setting_is_checked(monkeypatch):
    from seqsi.engine.distributed import DEFAULT_TIMEOUT_MINUTES, timeout_of

    assert timeout_of().total_seconds() == 60 * DEFAULT_TIMEOUT_MINUTES
    monkeypatch.setenv("SEQSI_DIST_TIMEOUT", "2.5")
    assert timeout_of().total_seconds() == 150 and timeout_of(1).total_seconds() == 60
    monkeypatch.setenv("SEQSI_DIST_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="SEQSI_DIST_TIMEOUT"):
        timeout_of()


def test_a_refused_run_leaves_no_folder_behind(tmp_path):
    with RunLock(tmp_path / "runs" / "m" / "seed1"):
        pass  # refused before anything was written
    assert not (tmp_path / "runs").exists()
    with RunLock(tmp_path / "runs" / "m" / "seed1") as lock:
        (lock.run_dir / "config.yaml").write_text("a: 1")
    assert (tmp_path / "runs" / "m" / "seed1" / "config.yaml").is_file()
