"""The CIFAR-10 experiment folder, run as users run it (scripts in subprocesses)."""
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import side_by_side

from seqsi.data.classification import load_cifar10
from seqsi.photometric import load_suite
from seqsi.report.results import load_results

FOLDER = Path(__file__).resolve().parents[1] / "classification" / "cifar10"
TORCHRUN = Path(sys.executable).with_name("torchrun")


def script(name, *args, check=True, env=None):
    return scripts_at_once((name, *args), check=check, env=env)[0]


def scripts_at_once(*calls, check=True, env=None):
    """The experiment's scripts side by side, each call (name, *args) a process of its own, the
    2 cores shared out between them."""
    threads = str(max(1, 2 // len(calls)))
    results = side_by_side(*[dict(args=[sys.executable, str(FOLDER / name), *map(str, args)], cwd=FOLDER,
                                  env={**os.environ, "OMP_NUM_THREADS": threads, **(env or {})})
                             for name, *args in calls])
    for (name, *_), result in zip(calls, results):
        if check and result.returncode:
            raise AssertionError(f"{name} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return results


def write_cifar_layout(root: Path, per_batch=4, n_test=6) -> dict:
    """The real on-disk format: cifar-10-batches-py/ with pickled dicts of uint8 rows (3072 = 3x32x32)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = n_test if name == "test_batch" else per_batch
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n)]
        entry = {"batch_label": name, "labels": labels, "data": data, "filenames": [f"{name}_{i}.png" for i in range(n)]}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
        written[name] = (data, labels)
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": ["airplane"] * 10}, protocol=2))
    return written


def test_real_cifar_layout_is_read_without_download(tmp_path):
    written = write_cifar_layout(tmp_path)
    with pytest.warns(UserWarning, match="differ from the official CIFAR-10 release"):
        splits = load_cifar10(tmp_path, download=False)
    assert splits.train_x.shape == (20, 3, 32, 32) and splits.train_x.dtype == torch.uint8
    assert splits.test_x.shape == (6, 3, 32, 32)
    assert splits.train_y.tolist() == [label for i in range(1, 6) for label in written[f"data_batch_{i}"][1]]
    data, labels = written["test_batch"]
    # a row is 1024 red, then 1024 green, then 1024 blue values, row-major 32x32
    assert splits.test_x[2, 1, 3, 4] == data[2, 1024 + 3 * 32 + 4]
    assert splits.test_y.tolist() == labels


def test_training_script_runs_on_the_real_layout(tmp_path):
    write_cifar_layout(tmp_path / "data", per_batch=12, n_test=8)
    out = tmp_path / "runs"
    script("train.py", "--data_path", tmp_path / "data", "--preset", "quick", "--epochs", "1", "--model", "seqsi_avg",
           "--set", "data.download=false", "--set", "data.train_limit=null", "--set", "model.widths=[4,8,8]",
           "--out", out, "--seed", "5")
    rows = load_results(out / "seqsi" / "base" / "seed5" / "results.csv")
    assert {r["testset"] for r in rows} == set(load_suite("cifar10").test_sets)


def test_missing_truncated_and_hostile_data_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="cifar-10-python.tar.gz"):
        load_cifar10(tmp_path, download=False)
    write_cifar_layout(tmp_path)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:500])
    with pytest.raises(ValueError, match="data_batch_3 is truncated or corrupted"), pytest.warns(UserWarning):
        load_cifar10(tmp_path, download=False)

    class Hostile:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    batch.write_bytes(pickle.dumps({"data": Hostile()}, protocol=2))
    with pytest.raises(ValueError, match="refusing to load posix.system"), pytest.warns(UserWarning):
        load_cifar10(tmp_path, download=False)


@pytest.fixture(scope="module")
def digits_runs(tmp_path_factory):
    """Quick-preset Standard and SEqSI on digits: train -> eval -> invariance -> table."""
    out = tmp_path_factory.mktemp("digits")
    scripts_at_once(*[("train.py", "--dataset", "digits", "--preset", "quick", "--model", mode, "--seed", "3",
                       "--out", out, "--no_progress") for mode in ("standard", "seqsi_avg")])
    scripts_at_once(("eval.py", out), ("evaluate_invariance.py", out))
    script("generate_res_table.py", out)
    return out


@pytest.mark.slow
def test_digits_quick_run_end_to_end(digits_runs):
    results = load_results(digits_runs / "**" / "results.csv")
    acc = {(r["method"], r["testset"]): r["value"] for r in results}
    assert acc["seqsi", "clean"] >= acc["standard", "clean"] - 0.02
    suite = load_suite("cifar10")
    affine = [c.name for c in suite.test_corruptions() if c.affine and c.name != "clean"]
    assert len(affine) == 4
    for name in affine:  # SEqSI's decisions do not move under a*x + b
        assert acc["seqsi", name] == acc["seqsi", "clean"], name
    assert any(acc["standard", name] != acc["standard", "clean"] for name in affine)

    invariance = load_results(digits_runs / "**" / "invariance.csv")
    mismatch = [r for r in invariance if r["metric"] == "mismatch_pct"]
    assert len(mismatch) == 2 * 2 * 10  # two models, two dtypes, ten cases
    assert all(r["value"] == 0.0 for r in mismatch if r["method"] == "seqsi")
    assert max(r["value"] for r in mismatch if r["method"] == "standard") > 10.0
    tables = digits_runs / "tables"
    for name in ("accuracy.md", "accuracy.tex", "accuracy.csv", "invariance_float64.md", "accuracy_per_corruption.png"):
        assert (tables / name).is_file(), name
    assert "SEqSI" in (tables / "accuracy.md").read_text()


@pytest.mark.slow
def test_certify_a_trained_checkpoint(digits_runs):
    from seqsi.cli import main

    assert main(["certify", "--checkpoint", str(digits_runs / "seqsi" / "base" / "seed3" / "best.pt")]) == 0
    assert main(["certify", "--checkpoint", str(digits_runs / "standard" / "base" / "seed3" / "best.pt"),
                 "--property", "seqsi"]) == 1


@pytest.mark.slow
def test_torchrun_data_parallel_writes_one_checkpoint_that_eval_reads(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = subprocess.run(
        [str(TORCHRUN), "--nproc_per_node=2", f"--master_port={port}", str(FOLDER / "train.py"), "--dataset", "digits",
         "--preset", "quick", "--epochs", "2", "--model", "seqsi", "--out", str(tmp_path), "--no_eval", "--no_progress",
         "--set", "model.widths=[4,8,8]"],
        capture_output=True, text=True, cwd=FOLDER, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "world size 2" in result.stdout and result.stdout.count("run ") == 1  # only rank 0 reports and writes
    run = tmp_path / "seqsi" / "base" / "seed0"
    assert sorted(p.name for p in run.iterdir() if p.suffix in (".pt", ".csv")) == ["best.pt", "last.pt", "metrics.csv"]
    assert (run / "metrics.csv").read_text().count("\n") == 3
    script("eval.py", run / "best.pt")
    assert len(load_results(run / "results.csv")) == 14


def test_incompatible_flags_and_foreign_checkpoints(tmp_path):
    from seqsi.engine.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "best.pt", {"experiment": "czi", "model_spec": {}})
    flags, foreign = scripts_at_once(("train.py", "--dataset", "digits", "--affine_aug", "--random_aug"),
                                     ("eval.py", tmp_path / "best.pt"), check=False)
    assert flags.returncode == 2 and "not allowed with argument" in flags.stderr
    assert foreign.returncode != 0 and "belongs to experiment 'czi', not 'cifar10'" in foreign.stderr
