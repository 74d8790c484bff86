"""The cryo-ET (CZII) experiment folder: quick pipeline end to end on data written in the real layout
(zarr tomograms + picks JSON, prepared patch folders), the 3D SEqSI certificate, and bad input."""
import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import load_script
from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score

from seqsi import build_model
from seqsi.cli import guarded
from seqsi.cli import main as seqsi_cli
from seqsi.data.cryoet import CLASSES, TOMO_TYPES, generate_synthetic, prepare_classification_data, preset
from seqsi.engine import load_model, save_checkpoint
from seqsi.engine.tasks import Classification
from seqsi.invariance import audit
from seqsi.io import read_csv

CZI = Path(__file__).resolve().parents[1] / "classification" / "czi"
TINY = ["--set", "model.widths=[4,8,8,8]", "--set", "model.blocks=[1,1,1,1]"]


czi = load_script(CZI, "czi")
train = load_script(CZI, "train")
evaluate = load_script(CZI, "eval")
table = load_script(CZI, "generate_res_table")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """5 small synthetic tomograms in the Kaggle layout, prepared as 20^3 patches (train 3 / val 1 / test 1)."""
    root = tmp_path_factory.mktemp("czi")
    cfg = preset("quick", n_tomograms=5, shape=(40, 56, 56), particles_per_tomogram=12)
    generate_synthetic(root / "raw", cfg, seed=0, progress=False)
    prepare_classification_data(root / "raw", root / "patches", patch_size=20, progress=False)
    return root / "patches"


def train_args(data, out, mode, *extra):
    return ["--preset", "quick", "--model", mode, "--data_root", str(data), "--out", str(out), "--seed", "3",
            "--epochs", "1", "--patch_size", "16", "--no_progress", *TINY, *extra]


def error_of(capsys, call) -> str:
    """What a script prints for bad input: one line on stderr, exit code 2 (seqsi.cli.guarded)."""
    assert guarded(call) == 2
    return capsys.readouterr().err


def test_macro_accuracy_by_hand_with_an_absent_class():
    """The paper's "accuracy" is torchmetrics' MulticlassAccuracy(num_classes=6): the mean per-class
    recall. Class 5 never occurs: left out while never predicted, counted with recall 0 once it is."""
    labels = np.array([0, 0, 1, 1, 2, 3, 4, 4])
    never = np.array([0, 1, 1, 1, 2, 3, 4, 0])  # recalls 1/2, 1, 1, 1, 1/2 (class 5 left out)
    once = np.array([0, 1, 1, 1, 2, 5, 4, 0])   # recalls 1/2, 1, 1, 0, 1/2, and 0 for class 5
    assert czi.scores(labels, never, 6) == pytest.approx({"macro_accuracy": 4 / 5, "accuracy": 6 / 8,
                                                          "macro_f1": f1_score(labels, never, average="macro")})
    # macro-F1 by hand: F1 = 2TP / (2TP + FP + FN) = 1/2, 4/5, 1, 0, 2/3 and 0 for the predicted class 5
    assert czi.scores(labels, once, 6) == pytest.approx({"macro_accuracy": 3 / 6, "accuracy": 5 / 8,
                                                         "macro_f1": (1 / 2 + 4 / 5 + 1 + 0 + 2 / 3 + 0) / 6})
    assert recall_score(labels, once, average="macro", zero_division=0) == pytest.approx(3 / 6)
    assert balanced_accuracy_score(labels, once) == pytest.approx(3 / 5)  # sklearn's drops class 5: not the paper's

    # the validation metric that selects best.pt: the task's per-class sums over batches, then summarise
    task = Classification(num_classes=6)
    logits = torch.nn.functional.one_hot(torch.as_tensor(once), 6).double()
    sums = [task.metric_sums(logits[i:i + 3], torch.as_tensor(labels[i:i + 3])) for i in (0, 3, 6)]
    averaged = {k: sum(float(b[k]) for b in sums) / len(labels) for k in sums[0]}
    assert task.summarise(averaged) == pytest.approx({"macro_accuracy": 3 / 6, "accuracy": 5 / 8,
                                                      "loss": averaged["loss"]})


def test_seqsi_resnet3d_passes_the_audit_in_3d_and_standard_fails():
    x = torch.rand(1, 1, 16, 16, 16, dtype=torch.float64)
    seqsi = build_model("resnet18", "seqsi", 3, widths=[8, 16, 32, 64])  # the paper's depth, 2 blocks per stage
    report = audit(seqsi, x)
    assert report.passed, report.table()
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in seqsi.modules())
    standard = build_model("resnet18", "standard", 3, widths=[8, 16, 16, 16])
    failed = audit(standard, x, "seqsi")
    assert not failed.passed and failed.first_break.name == "stem.0"


def test_seqsi_certify_cli_in_3d(capsys):
    small = ["--network", "resnet18", "--dims", "3", "--batch", "1", "--set", "widths=[8,16,16,16]"]
    assert seqsi_cli(["certify", "--mode", "seqsi", *small]) == 0
    assert "PASS" in capsys.readouterr().out
    assert seqsi_cli(["certify", "--mode", "standard", "--property", "seqsi", *small]) == 1
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.slow
def test_quick_pipeline_train_eval_table(prepared, tmp_path, capsys):
    runs = tmp_path / "runs"
    for mode in ("standard", "seqsi"):
        assert train.main(train_args(prepared, runs, mode, "--train_type", "wbp")) == 0
    capsys.readouterr()
    expected = {(t, m) for t in TOMO_TYPES for m in czi.METRICS}
    first = {}
    for mode in ("standard", "seqsi"):
        run = runs / mode / "wbp" / "seed3"
        for name in ("config.yaml", "metrics.csv", "best.pt", "last.pt", "results.csv", "confusion/counts.csv"):
            assert (run / name).is_file(), name
        rows = read_csv(run / "results.csv")
        assert list(rows[0]) == ["experiment", "method", "train_type", "seed", "testset", "metric", "value"]
        assert {(r["testset"], r["metric"]) for r in rows} == expected and len(rows) == len(expected)
        assert {(r["experiment"], r["method"], r["train_type"], r["seed"]) for r in rows} == {("czi", mode, "wbp", "3")}
        counts = read_csv(run / "confusion" / "counts.csv")
        for tomo_type in TOMO_TYPES:
            png = run / "confusion" / f"{tomo_type}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            cells = [r for r in counts if r["testset"] == tomo_type]
            matrix = np.array([int(r["count"]) for r in cells]).reshape(len(CLASSES), len(CLASSES))
            n_test = len(read_csv(prepared / tomo_type / "test" / "metadata.csv"))
            assert matrix.sum() == n_test
            value = {r["metric"]: float(r["value"]) for r in rows if r["testset"] == tomo_type}
            assert value["accuracy"] == pytest.approx(np.trace(matrix) / n_test)
            recall = [matrix[c, c] / matrix[c].sum() for c in range(len(CLASSES)) if matrix[c].sum()]
            absent_predicted = sum(matrix[c].sum() == 0 < matrix[:, c].sum() for c in range(len(CLASSES)))
            assert value["macro_accuracy"] == pytest.approx(sum(recall) / (len(recall) + absent_predicted))
        first[mode] = {(r["testset"], r["metric"]): float(r["value"]) for r in rows}

    # the trained SEqSI checkpoint predicts the same classes on a x + b of the real test patches
    model = load_model(runs / "seqsi" / "wbp" / "seed3" / "best.pt", "czi").double()
    patches, _ = czi.load_test_split(prepared, "wbp", 16)
    patches = patches.double()
    with torch.no_grad():
        logits = model(patches)
        for a, b in ((6, 3), (0.3, -0.8)):  # the isonetcorrected and ctfdeconvolved ranges of the generator
            shifted = model(a * patches + b)
            assert torch.allclose(shifted, a * logits, rtol=1e-9, atol=1e-9 * logits.abs().max().item())
            assert torch.equal(shifted.argmax(1), logits.argmax(1))

    # eval.py rebuilds each model from its checkpoint alone and finds the same numbers
    again = tmp_path / "again"
    assert evaluate.main([str(runs), "--out", str(again), "--device", "cpu"]) == 0
    for mode in ("standard", "seqsi"):
        rows = read_csv(again / mode / "wbp" / "seed3" / "results.csv")
        assert {(r["testset"], r["metric"]): float(r["value"]) for r in rows} == pytest.approx(first[mode])
        assert (again / mode / "wbp" / "seed3" / "confusion" / "wbp.png").is_file()

    tables = tmp_path / "tables"
    assert table.main([str(runs), "--out", str(tables)]) == 0
    for metric in czi.METRICS:
        for suffix in (".csv", "_wide.csv", ".md", ".tex", ".png"):
            assert (tables / f"{metric}{suffix}").is_file()
        with open(tables / f"{metric}_wide.csv", newline="") as f:
            wide = list(csv.reader(f))
        assert wide[0][-4:] == list(TOMO_TYPES)
        assert wide[0][:2] == ["method", "train_type"]
        assert [row[:2] for row in wide[1:]] == [["Standard", "wbp"], ["SEqSI", "wbp"]]
        shown = [[float(cell.split()[0]) for cell in row[-4:]] for row in wide[1:]]
        assert np.allclose(shown, [[100 * first[m][(t, metric)] for t in TOMO_TYPES] for m in ("standard", "seqsi")],
                           atol=0.006)
        assert "**" in (tables / f"{metric}.md").read_text()  # best per column marked


def test_empty_training_split_fails_before_anything_is_written(prepared, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(prepared, data)
    metadata = data / "wbp" / "train" / "metadata.csv"
    metadata.write_text(metadata.read_text().splitlines()[0] + "\n")  # header only: no patch of this type
    runs = tmp_path / "runs"
    message = error_of(capsys, lambda: train.main(train_args(data, runs, "seqsi", "--train_type", "wbp")))
    assert "empty" in message and str(data / "wbp" / "train") in message
    assert not runs.exists()


def test_missing_test_split_fails_before_training(prepared, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(prepared, data)
    shutil.rmtree(data / "denoised")
    runs = tmp_path / "runs"
    message = error_of(capsys, lambda: train.main(train_args(data, runs, "seqsi", "--train_type", "wbp")))
    assert "'denoised' was not prepared" in message
    assert not runs.exists()
    (data / "isonetcorrected" / "test" / "metadata.csv").unlink()
    message = error_of(capsys, lambda: train.main(train_args(data, runs, "seqsi", "--test_types", "wbp",
                                                             "isonetcorrected")))
    assert "has no metadata.csv" in message and "isonetcorrected" in message
    assert not runs.exists()


def fake_run(folder, experiment, data_root, mode="seqsi"):
    """A real-format checkpoint of an untrained tiny model, as train.py would leave it."""
    model = build_model("resnet18", mode, 3, widths=[4, 8, 8, 8], blocks=[1, 1, 1, 1])
    config = {"seed": 1, "model": {"mode": mode},
              "data": {"root": str(data_root), "train_type": "wbp", "patch_size": 16},
              "eval": {"test_types": list(TOMO_TYPES), "batch_size": 8}}
    save_checkpoint(folder / "best.pt", {"experiment": experiment, "model_spec": model.seqsi_spec, "config": config,
                                         "model": model.state_dict()})
    return folder / "best.pt"


def test_eval_refuses_another_experiments_checkpoint_and_writes_nothing(prepared, tmp_path, capsys):
    good = fake_run(tmp_path / "runs" / "a", "czi", prepared)
    other = fake_run(tmp_path / "runs" / "b", "cifar10", prepared)
    message = error_of(capsys, lambda: evaluate.main([str(good), str(other)]))
    assert str(other) in message and "'cifar10', not 'czi'" in message
    assert not (good.parent / "results.csv").exists() and not (good.parent / "confusion").exists()

    data = tmp_path / "data"
    shutil.copytree(prepared, data)
    (data / "ctfdeconvolved" / "test" / "metadata.csv").write_text(
        (prepared / "ctfdeconvolved" / "test" / "metadata.csv").read_text().splitlines()[0] + "\n")
    message = error_of(capsys, lambda: evaluate.main([str(good), "--data_root", str(data)]))
    assert "empty" in message and "ctfdeconvolved" in message
    assert not (good.parent / "results.csv").exists()
    assert evaluate.main([str(good), "--data_root", str(data), "--test_types", "wbp", "denoised"]) == 0
    assert {r["testset"] for r in read_csv(good.parent / "results.csv")} == {"wbp", "denoised"}


def test_incompatible_flags_are_clear_errors(prepared, tmp_path, capsys):
    runs = tmp_path / "runs"
    message = error_of(capsys, lambda: train.main(train_args(prepared, runs, "seqsi", "--resume")))
    assert "no last.pt to resume" in message
    message = error_of(capsys, lambda: train.main(train_args(prepared, runs, "seqsi", "--patch_size", "4")))
    assert "patch_size must be at least 8" in message
    message = error_of(capsys, lambda: train.main(train_args(prepared, runs, "seqsi", "--set", "model.widht=[4]")))
    assert "unknown config key 'model.widht'" in message
    message = error_of(capsys, lambda: train.main(train_args(prepared, runs, "seqsi", "--set", "train.epochs=two")))
    assert "training setting epochs must be int; got 'two'" in message
    message = error_of(capsys, lambda: train.main(train_args(prepared, runs, "fancy")))
    assert "unknown mode 'fancy'" in message
    assert not runs.exists()

    # a run resumed with another training type would mix two experiments in one folder
    run_dir = tmp_path / "run"
    assert train.main(train_args(prepared, runs, "seqsi", "--run_dir", str(run_dir), "--no_eval")) == 0
    before = (run_dir / "last.pt").read_bytes(), (run_dir / "config.yaml").read_bytes()
    message = error_of(capsys, lambda: train.main(train_args(prepared, runs, "seqsi", "--run_dir", str(run_dir),
                                                             "--epochs", "2")))
    assert "already holds a run" in message and "--resume" in message
    message = error_of(capsys, lambda: train.main(train_args(prepared, runs, "seqsi", "--run_dir", str(run_dir),
                                                             "--set", "model.widths=[4,8]", "--resume")))
    assert "model.widths" in message
    message = error_of(capsys, lambda: train.main(train_args(prepared, runs, "seqsi", "--run_dir", str(run_dir),
                                                             "--resume", "--train_type", "denoised")))
    assert "data.train_type: 'wbp' -> 'denoised'" in message
    message = error_of(capsys, lambda: train.main(train_args(prepared, tmp_path / "other", "seqsi",
                                                             "--set", "model.widths=[4,8]")))
    assert "widths, blocks and strides need one entry per stage" in message
    assert ((run_dir / "last.pt").read_bytes(), (run_dir / "config.yaml").read_bytes()) == before
    assert not (tmp_path / "other").exists()
