"""The benchmark scripts' own plumbing (no timing is asserted)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHON": sys.executable}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given on a machine without a GPU")
def test_gpu_script_fails_clearly_without_a_gpu():
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu.sh")], capture_output=True, text=True, env=_env())
    assert proc.returncode == 2
    assert "no CUDA GPU visible to torch" in proc.stderr and "--device cpu --tiny" in proc.stderr
    assert proc.stdout == ""  # no stage started


def test_gpu_script_rejects_unknown_arguments():
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu.sh"), "--fast"], capture_output=True, text=True,
                          env=_env())
    assert proc.returncode == 2 and "unknown argument --fast" in proc.stderr


@pytest.mark.slow
def test_memory_case_reports_the_rise_of_its_own_peak():
    """One case in a fresh process: the AffEq train step's peak exceeds the RSS before it."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "memory.py"), "--child", "cifar", "affeq", "ours",
           "--scale", "tiny", "--device", "cpu"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["network"] == "cifar" and result["batch"] == 4 and result["size"] == 32
    assert result["peak_gb"] > result["step_gb"] > 0
