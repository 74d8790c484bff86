"""The benchmark scripts' own plumbing (no timing is asserted)."""
import json
import os
import re
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


def test_gpu_script_stage_limits_fit_in_eight_minutes():
    """The issue's bound: with every full-size stage stopped at its limit, and 20 s for the
    interpreter's start and the GPU check, the whole script still ends within 8 minutes."""
    script = (ROOT / "benchmarks" / "gpu.sh").read_text()
    full = script.split("\nelse\n", 1)[1].split("\nfi\n", 1)[0]
    limits = {name: int(value) for name, value in re.findall(r"\b(T\d)=(\d+)", full)}
    stages = re.findall(r'^stage "\$(T\d)"', script, re.M)
    assert len(stages) == 4 and set(stages) <= set(limits)
    assert sum(limits[t] for t in stages) + 20 <= 8 * 60


def test_gpu_script_rejects_unknown_arguments_and_devices():
    for args, message in ((["--fast"], "unknown argument --fast"), (["--device", "gpu"], "expected cuda or cpu, got 'gpu'"),
                          (["--device"], "expected cuda or cpu, got ''")):
        proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu.sh"), *args], capture_output=True, text=True,
                              env=_env())
        assert proc.returncode == 2 and message in proc.stderr, args
        assert proc.stdout == ""


def test_gpu_script_names_an_interpreter_without_torch(tmp_path):
    bare = tmp_path / "python"  # the project's interpreter without its site-packages: torch cannot be imported
    bare.write_text(f'#!/bin/bash\nexec {sys.executable} -S "$@"\n')
    bare.chmod(0o755)
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu.sh"), "--device", "cpu", "--tiny"],
                          capture_output=True, text=True, env={**_env(), "PYTHON": str(bare)})
    assert proc.returncode == 2 and f"{bare} cannot import torch" in proc.stderr
    assert proc.stdout == ""


def _gpu_script_with_stage_statuses(tmp_path, statuses: dict[str, int]):
    """gpu.sh --device cpu --tiny with an interpreter that runs nothing: each benchmark script exits
    with the given status (0 if not given), and so does gpu.sh's own check of torch.
    What is tested is gpu.sh's stage bookkeeping alone."""
    cases = "".join(f"    *{name}*) exit {rc} ;;\n" for name, rc in statuses.items())
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/bash\ncase "$1" in\n{cases}esac\nexit 0\n')
    fake.chmod(0o755)
    return subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu.sh"), "--device", "cpu", "--tiny"],
                          capture_output=True, text=True, env={**_env(), "PYTHON": str(fake)})


def test_gpu_script_tells_a_missed_target_from_a_failed_stage(tmp_path):
    missed = _gpu_script_with_stage_statuses(tmp_path, {"overhead.py": 3})
    assert missed.returncode == 3, missed.stdout + missed.stderr
    assert missed.stdout.count("ran through and missed a target") == 2  # the fp32 and bf16 stages
    assert "a target missed (--tiny" in missed.stdout and "failed stage" not in missed.stdout

    failed = _gpu_script_with_stage_statuses(tmp_path, {"overhead.py": 3, "memory.py": 1})
    assert failed.returncode == 1
    assert "stage exited with status 1: one paper-scale train step" in failed.stdout
    assert "with a failed stage" in failed.stdout

    clean = _gpu_script_with_stage_statuses(tmp_path, {})
    assert clean.returncode == 0 and "target missed" not in clean.stdout and "failed" not in clean.stdout


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
