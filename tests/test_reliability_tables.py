"""Issue 14, cases 4 and 12: tables refuse non-finite metrics and non-UTF-8 files, naming the
file and line, and the missing-run error names the scripts' --partial flag."""
import pytest

from helpers import ROOT, load_script
from seqsi.cli import guarded
from seqsi.report.results import load_results, write_results
from seqsi.report.tables import aggregate

CIFAR = ROOT / "classification" / "cifar10"


def _run(tmp_path, seed, value, testset="clean"):
    folder = tmp_path / "runs" / "standard" / "base" / f"seed{seed}"
    return write_results(folder / "results.csv", [{"method": "standard", "variant": "base", "seed": seed,
                                                   "testset": testset, "metric": "accuracy", "value": value}])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_metric_is_an_error_naming_file_and_line(tmp_path, value):
    path = _run(tmp_path, 1, value)
    with pytest.raises(ValueError, match=rf"{path}, line 2: value .* not a finite number"):
        load_results(path)


def test_table_script_refuses_nan_even_with_partial(tmp_path, capsys):
    _run(tmp_path, 1, 0.5)
    bad = _run(tmp_path, 2, float("nan"))
    script = load_script(CIFAR, "generate_res_table")
    code = guarded(script.main, [str(tmp_path / "runs"), "--out", str(tmp_path / "tables"), "--partial"])
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err and "line 2" in err and "nan ± nan" not in err
    assert not (tmp_path / "tables").exists()


def test_in_memory_nan_row_names_its_file():
    rows = [{"method": "m", "testset": "clean", "metric": "accuracy", "value": float("nan"), "seed": "1",
             "results_file": "runs/x/results.csv"}]
    with pytest.raises(ValueError, match="not a finite number.*runs/x/results.csv"):
        aggregate(rows, "method", "testset", "accuracy")


def test_non_utf8_results_file_is_named(tmp_path):
    path = tmp_path / "results.csv"
    path.write_bytes("method,seed,testset,metric,value\nm,1,clean,accuracy,0.5\n".encode("utf-16"))
    with pytest.raises(ValueError, match=rf"{path}: not a UTF-8 text results file"):
        load_results(path)


def test_missing_run_error_names_the_partial_flag(tmp_path, capsys):
    _run(tmp_path, 1, 0.5)
    script = load_script(CIFAR, "generate_res_table")
    code = guarded(script.main, [str(tmp_path / "runs"), "--out", str(tmp_path / "tables"), "--seeds", "1", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "missing run(s)" in err and "--partial" in err
