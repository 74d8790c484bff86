"""A sweep on a real SLURM cluster (slurm-wlm + munge on localhost, tests/slurm_cluster.py):
the digits quick matrix as a job array, one task cancelled mid-run and resumed from its last.pt
by resubmitting, and results and tables identical to a local sweep of the same matrix."""
import os
import re
import time
from pathlib import Path

import pytest
from helpers import ROOT

from seqsi.io import read_csv
from seqsi.sweep import load_matrix, state_of
from seqsi.commands.sweep import main
from seqsi.sweep.state import LOG

pytestmark = pytest.mark.slow
CIFAR = ROOT / "classification" / "cifar10"
EPOCHS = 8
MATRIX_ENV = {"DATASET": "digits", "QUICK": "1", "SEEDS": "5 7", "MODES": "standard", "VARIANTS": "base",
              "TELESCOPIC": "", "TRAIN_FLAGS": f"--epochs {EPOCHS}"}


def sweep(capsys, *args):
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out = capsys.readouterr().out
    assert rc == 0, out
    return out


def epochs(run_dir: Path) -> list[int]:
    return [int(row["epoch"]) for row in read_csv(run_dir / "metrics.csv")]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.05)


def test_slurm_array_cancel_resubmit_resume_and_tables_identical_to_local(slurm_cluster, tmp_path, monkeypatch,
                                                                         capsys):
    for key, value in MATRIX_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SLURM_CONF", str(slurm_cluster.conf))

    # the reference: the same matrix run locally, both at once, one thread each (as the SLURM tasks)
    monkeypatch.setenv("OUT", str(tmp_path / "local"))
    sweep(capsys, "local", CIFAR, "--jobs", "2", "--gpus", "none", "--threads", "1")

    monkeypatch.setenv("OUT", str(tmp_path / "slurm"))
    matrix = load_matrix(CIFAR, dict(os.environ))
    runs = [matrix.path(r.folder) for r in matrix.runs]
    out = sweep(capsys, "slurm", CIFAR, "--cpus", "1", "--time", "00:10:00")
    job = re.search(r"submitted job (\d+): 2 tasks", out).group(1)
    script = (matrix.sweep_dir / "sbatch.sh").read_text()
    assert "#SBATCH --array=0-1" in script and "--skip_done" in script

    victim = runs[0]  # cancel task 0 once it has written a checkpoint, long before its last epoch
    wait_for(lambda: (victim / "metrics.csv").is_file() and len(epochs(victim)) >= 1, 240, "task 0's first epoch")
    assert not (victim / "results.csv").exists()
    slurm_cluster.run("scancel", f"{job}_0")
    slurm_cluster.wait_empty(240)
    assert state_of(victim).state == "partial" and (victim / "last.pt").is_file()
    stopped_at = epochs(victim)
    assert 1 <= len(stopped_at) < EPOCHS
    assert [state_of(r).state for r in runs[1:]] == ["done"]
    status = sweep(capsys, "status", CIFAR)
    assert f"partial  {victim}  stopped" in status and "1 done, 1 partial, 0 missing" in status

    out = sweep(capsys, "slurm", CIFAR, "--cpus", "1")  # resubmit: only the unfinished run
    assert re.search(r"submitted job \d+: 1 tasks", out), out
    slurm_cluster.wait_empty(240)
    assert all(state_of(r).state == "done" for r in runs)
    log = (victim / LOG).read_text()
    assert log.count("sweep start") == 2 and f"resume {victim}" in log.split("sweep start")[2]
    assert epochs(victim) == list(range(1, EPOCHS + 1))  # continued from the checkpoint, no epoch twice
    sweep(capsys, "tables", CIFAR)

    local, remote = tmp_path / "local", tmp_path / "slurm"
    for run in runs:
        twin = local / run.relative_to(remote)
        assert (run / "results.csv").read_text() == (twin / "results.csv").read_text(), run
    tables = sorted(p.name for p in (local / "tables").iterdir() if p.suffix in (".csv", ".md", ".tex"))
    assert "accuracy.md" in tables and "invariance_float64.csv" in tables
    for name in tables:
        assert (remote / "tables" / name).read_text() == (local / "tables" / name).read_text(), name
