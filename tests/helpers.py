"""Shared test utilities."""
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(folder: Path, name: str):
    """An experiment folder's entry script as a module under a unique name.

    Every experiment has a train.py and an eval.py; the folder is on sys.path only while the
    script's own imports run, so those generic names never shadow another experiment's.
    """
    folder = Path(folder)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"{folder.parent.name}_{folder.name}_{name}", folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


def side_by_side(*calls: dict) -> list[subprocess.CompletedProcess]:
    """Start every call (subprocess.Popen keyword arguments, args included) at once, then wait
    for all of them: independent scripts, mostly an interpreter's start-up, share the 2 cores."""
    procs = [subprocess.Popen(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **call) for call in calls]
    outputs = [proc.communicate() for proc in procs]
    return [subprocess.CompletedProcess(proc.args, proc.returncode, *output) for proc, output in zip(procs, outputs)]
