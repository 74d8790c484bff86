"""Result tables: numbers, missing runs, best marking and the three output formats."""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import pytest

from seqsi.report.results import load_results, write_results
from seqsi.report.tables import (
    MissingRun,
    MissingRunsError,
    aggregate,
    latex_escape,
    merge_tables,
    per_seed_tables,
    read_table,
    write_table,
)


def _rows(values: dict[tuple[str, str, int], float], metric: str = "accuracy") -> list[dict]:
    """Long rows from {(method, testset, seed): value}."""
    return [{"method": m, "testset": t, "seed": s, "metric": metric, "value": v} for (m, t, s), v in values.items()]


# Hand-computed: cell (seqsi, affine) over seeds 1, 2, 3 = 0.9, 0.8, 0.7 -> mean 0.8, sample std 0.1
# (the population std would be 0.0816...); (standard, affine) = 0.2, 0.4, 0.9 -> mean 0.5,
# sample std sqrt(((0.3)^2 + (0.1)^2 + (0.4)^2) / 2) = sqrt(0.13).
FULL = {
    ("standard", "clean", 1): 0.95, ("standard", "clean", 2): 0.93, ("standard", "clean", 3): 0.91,
    ("standard", "affine", 1): 0.2, ("standard", "affine", 2): 0.4, ("standard", "affine", 3): 0.9,
    ("seqsi", "clean", 1): 0.94, ("seqsi", "clean", 2): 0.94, ("seqsi", "clean", 3): 0.94,
    ("seqsi", "affine", 1): 0.9, ("seqsi", "affine", 2): 0.8, ("seqsi", "affine", 3): 0.7,
}


def test_mean_and_sample_std_match_hand_computation():
    table = aggregate(_rows(FULL), "method")
    cell = table.cell("seqsi", "affine")
    assert cell.n == 3 and cell.seeds == ("1", "2", "3")
    assert cell.mean == pytest.approx(0.8) and cell.std == pytest.approx(0.1)
    cell = table.cell("standard", "affine")
    assert cell.mean == pytest.approx(0.5) and cell.std == pytest.approx(math.sqrt(0.13))
    assert table.cell("seqsi", "clean").std == pytest.approx(0.0)
    assert table.missing == []


def test_other_metrics_are_ignored_and_a_wrong_metric_name_is_an_error():
    rows = _rows(FULL) + _rows({("seqsi", "affine", 1): 123.0}, metric="macro_f1")
    assert aggregate(rows, "method").cell("seqsi", "affine").mean == pytest.approx(0.8)
    with pytest.raises(ValueError, match=r"'acc'.*accuracy, macro_f1"):
        aggregate(rows, "method", metric="acc")


def test_order_of_first_appearance_unless_an_explicit_order_is_given():
    table = aggregate(_rows(FULL), "method")
    assert table.rows == [("standard",), ("seqsi",)] and table.columns == [("clean",), ("affine",)]
    table = aggregate(_rows(FULL), "method", row_order=["seqsi"], col_order=["affine", "clean"])
    assert table.rows == [("seqsi",), ("standard",)]  # unlisted rows follow, never dropped
    assert table.columns == [("affine",), ("clean",)]


def test_expected_seeds_strict_error_lists_exactly_the_missing_runs():
    values = dict(FULL)
    del values[("seqsi", "affine", 2)]
    with pytest.raises(MissingRunsError) as info:
        aggregate(_rows(values), "method", expected_seeds=[1, 2, 3, 4])
    expected = {MissingRun(("seqsi",), ("affine",), "2")} | {
        MissingRun((m,), (t,), "4") for m in ("standard", "seqsi") for t in ("clean", "affine")}
    assert set(info.value.missing) == expected and len(info.value.missing) == len(expected)
    message = str(info.value)
    assert "method=seqsi, seed=2: testset affine" in message
    assert "method=standard, seed=4: all 2 testset columns" in message
    assert "method=seqsi, seed=4: all 2 testset columns" in message
    assert "seed=1" not in message and "seed=3" not in message


def test_uneven_seed_counts_are_missing_runs_even_without_expected_seeds():
    values = dict(FULL)
    del values[("standard", "clean", 3)]
    with pytest.raises(MissingRunsError) as info:
        aggregate(_rows(values), "method")
    assert info.value.missing == [MissingRun(("standard",), ("clean",), "3")]


def test_a_method_with_no_result_is_missing_when_the_order_names_it():
    with pytest.raises(MissingRunsError) as info:
        aggregate(_rows(FULL), "method", row_order=["standard", "affeq", "seqsi"])
    assert {(m.row, m.column) for m in info.value.missing} == {(("affeq",), ("clean",)), (("affeq",), ("affine",))}
    assert {m.seed for m in info.value.missing} == {"1", "2", "3"}


def test_non_strict_table_marks_incomplete_cells_and_lists_the_missing_runs():
    values = dict(FULL)
    del values[("seqsi", "affine", 2)]
    table = aggregate(_rows(values), "method", strict=False, row_order=["standard", "seqsi", "affeq"])
    cell = table.cell("seqsi", "affine")
    assert cell.n == 2 and cell.mean == pytest.approx(0.8) and cell.std == pytest.approx(math.sqrt(0.02))
    assert table.cell("affeq", "clean").n == 0
    md = table.to_markdown()
    body = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in md.splitlines()[2:5]}
    assert body["seqsi"][1].endswith("†")  # incomplete
    assert not body["seqsi"][0].endswith("†") and not body["standard"][1].endswith("†")
    assert body["affeq"] == ["—", "—"]
    assert "- method=seqsi, seed=2: testset affine" in md
    assert "- method=affeq, seed=1: all 2 testset columns" in md
    tex = table.to_latex()
    assert r"$\pm$ " in tex and r"$^\dagger$" in tex and "missing run(s)" in tex
    wide = table.to_wide_rows()
    assert wide[2][2].endswith("†") and wide[3][1:] == ["n/a", "n/a"]


def test_single_seed_cells_show_the_mean_without_plus_minus():
    rows = _rows({("seqsi", "clean", 1): 0.912, ("standard", "clean", 1): 0.5})
    table = aggregate(rows, "method", scale=100, decimals=1)
    assert table.cell("seqsi", "clean").n == 1 and math.isnan(table.cell("seqsi", "clean").std)
    assert "| seqsi | **91.2** |" in table.to_markdown()
    assert "±" not in table.to_markdown().split("\n\n")[0]


def test_duplicate_measurements_and_unexpected_seeds_are_errors():
    rows = _rows(FULL)
    rows.append(dict(rows[0], loss="zmse"))  # a second run that row_keys cannot tell apart
    with pytest.raises(ValueError, match="(?s)duplicate.*method=standard, testset=clean, seed=1"):
        aggregate(rows, "method")
    assert aggregate(rows[:-1] + [dict(rows[-1], seed=9)], "method", strict=False).cell("standard", "clean").n == 4
    with pytest.raises(ValueError, match=r"seed\(s\) 3 not in expected_seeds"):
        aggregate(_rows(FULL), "method", expected_seeds=[1, 2])


def _best_labels(table):
    return {(r[0], c[0]) for r, c in table.best()}


def test_best_per_column_honours_direction_and_ties():
    rows = _rows({
        ("a", "x", 1): 0.50, ("b", "x", 1): 0.70, ("c", "x", 1): 0.70,  # tie at the top
        ("a", "y", 1): 0.10, ("b", "y", 1): 0.30, ("c", "y", 1): 0.20,
        ("a", "z", 1): 0.91234, ("b", "z", 1): 0.91231, ("c", "z", 1): 0.5,  # tie once shown as 91.23
    })
    higher = aggregate(rows, "method", scale=100)
    assert _best_labels(higher) == {("b", "x"), ("c", "x"), ("b", "y"), ("a", "z"), ("b", "z")}
    lower = higher.format(higher_is_better=False)
    assert _best_labels(lower) == {("a", "x"), ("a", "y"), ("c", "z")}
    assert _best_labels(higher.format(decimals=3)) == {("b", "x"), ("c", "x"), ("b", "y"), ("a", "z")}
    assert _best_labels(higher.format(mark_best="row")) == {("a", "z"), ("b", "z"), ("c", "x")}
    assert higher.format(mark_best=None).best() == set()
    md = higher.to_markdown()
    assert "| b | **70.00** | **30.00** | **91.23** |" in md and "| a | 50.00 | 10.00 | **91.23** |" in md
    tex = lower.to_latex()
    assert r"a & \textbf{50.00} & \textbf{10.00} & 91.23 \\" in tex
    # a column with a single value has nothing to beat
    single = aggregate(_rows({("a", "x", 1): 0.5}), "method")
    assert single.best() == set()


def test_markdown_parses_back_to_the_expected_cells():
    table = aggregate(_rows(FULL), "method", scale=100, labels={"affine": "Affine", "method": "Method"})
    lines = table.to_markdown().splitlines()
    parse = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]  # noqa: E731
    assert parse(lines[0]) == ["Method", "clean", "Affine"]
    assert set(lines[1].replace("|", "")) <= set("-:")
    assert parse(lines[2]) == ["standard", "93.00 ± 2.00", "50.00 ± 36.06"]
    assert parse(lines[3]) == ["seqsi", "**94.00 ± 0.00**", "**80.00 ± 10.00**"]
    assert "accuracy (x100), mean ± std over 3 seeds (1, 2, 3)" in lines[5]


def test_latex_is_booktabs_and_escaped():
    rows = [{"mode": "seqsi_avg", "testset": name, "seed": 1, "metric": "accuracy", "value": 0.5}
            for name in ("Scale (<1)", "50% & more", "gamma_dark")]
    tex = aggregate(rows, "mode").to_latex()
    lines = tex.splitlines()
    begin = lines.index(r"\begin{tabular}{lccc}")
    assert lines[begin + 1:begin + 3] == [r"\toprule", r"mode & Scale (\textless{}1) & 50\% \& more & gamma\_dark \\"]
    assert lines[begin + 3] == r"\midrule" and lines[begin + 4] == r"seqsi\_avg & 0.50 & 0.50 & 0.50 \\"
    assert lines[begin + 5:begin + 7] == [r"\bottomrule", r"\end{tabular}"]
    assert latex_escape(r"a_b&c%d$e#f{g}h~i^j\k<l>m") == (
        r"a\_b\&c\%d\$e\#f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k\textless{}l\textgreater{}m")


def test_csv_outputs_parse_back(tmp_path):
    values = dict(FULL)
    del values[("seqsi", "affine", 3)]
    table = aggregate(_rows(values), "method", strict=False, scale=100)
    paths = write_table(table, tmp_path / "tables", "cifar10_accuracy")
    assert sorted(p.name for p in paths.values()) == sorted(
        ["cifar10_accuracy.csv", "cifar10_accuracy_wide.csv", "cifar10_accuracy.md", "cifar10_accuracy.tex"])
    assert sorted(os.listdir(tmp_path / "tables")) == sorted(p.name for p in paths.values())  # no temp files left
    with open(paths["csv"], newline="", encoding="utf-8") as f:
        tidy = {(r["method"], r["testset"]): r for r in csv.DictReader(f)}
    assert len(tidy) == 4
    r = tidy[("seqsi", "affine")]
    assert float(r["mean"]) == table.cell("seqsi", "affine").mean  # full precision, unscaled
    assert float(r["std"]) == pytest.approx(math.sqrt(0.005))
    assert (r["n"], r["n_expected"], r["seeds"], r["best"]) == ("2", "3", "1;2", "1")
    assert r["display"] == "85.00 ± 7.07 *†"
    assert tidy[("standard", "affine")]["best"] == "0"
    with open(paths["wide_csv"], newline="", encoding="utf-8") as f:
        wide = list(csv.reader(f))
    assert wide == [["method", "clean", "affine"],
                    ["standard", "93.00 ± 2.00", "50.00 ± 36.06"],
                    ["seqsi", "94.00 ± 0.00 *", "85.00 ± 7.07 *†"]]
    assert paths["md"].read_text(encoding="utf-8") == table.to_markdown()
    assert paths["tex"].read_text(encoding="utf-8") == table.to_latex()


def test_columns_from_several_fields():
    rows = [{"method": m, "loss": loss, "testset": "shift", "seed": 1, "metric": "score", "value": v}
            for m, loss, v in (("ordinary", "bce", 0.2), ("seqsi", "zmse", 1.0))]
    table = aggregate(rows, "testset", col_key=("method", "loss"), metric="score")
    assert table.columns == [("ordinary", "bce"), ("seqsi", "zmse")]
    assert table.cell("shift", ("seqsi", "zmse")).mean == 1.0
    assert "| testset | ordinary / bce | seqsi / zmse |" in table.to_markdown()


def _write_run(folder: Path, method: str, seed: int, accuracy: dict[str, float]) -> Path:
    rows = [{"method": method, "seed": seed, "testset": t, "metric": "accuracy", "value": v} for t, v in accuracy.items()]
    return write_results(folder / "results.csv", rows)


def test_load_results_reads_globs_folders_and_files(tmp_path):
    for (m, t, s), v in FULL.items():
        path = tmp_path / "runs" / f"{m}_seed{s}" / "results.csv"
        old = load_results(path) if path.exists() else []
        write_results(path, [*old, {"method": m, "seed": s, "testset": t, "metric": "accuracy", "value": v}])
    header = (tmp_path / "runs" / "seqsi_seed1" / "results.csv").read_text().splitlines()[0]
    assert header == "method,seed,testset,metric,value"
    by_glob = load_results(str(tmp_path / "runs" / "*" / "results.csv"))
    by_folder = load_results(tmp_path / "runs")
    assert len(by_glob) == len(by_folder) == len(FULL)
    assert all(isinstance(r["value"], float) for r in by_glob)
    assert {r["results_file"] for r in by_glob} == {str(p) for p in (tmp_path / "runs").glob("*/results.csv")}
    table = aggregate(by_folder, "method")
    assert table.cell("seqsi", "affine").mean == pytest.approx(0.8)
    with pytest.raises(FileNotFoundError, match="no results file matches"):
        load_results(str(tmp_path / "nothing" / "*.csv"))
    copy = _write_run(tmp_path / "copy_of_seqsi_seed1", "seqsi", 1, {"clean": 0.94})
    with pytest.raises(ValueError, match=rf"(?s)duplicate.*seed=1 \(from .*seqsi_seed1/results.csv and {copy}\)"):
        aggregate(load_results([tmp_path / "runs", copy]), "method")


def test_load_results_names_the_malformed_file(tmp_path):
    good = _write_run(tmp_path / "good", "seqsi", 1, {"clean": 0.9})
    no_value = tmp_path / "no_value" / "results.csv"
    no_value.parent.mkdir()
    no_value.write_text("method,seed,testset,metric,accuracy\nseqsi,1,clean,accuracy,0.9\n")
    with pytest.raises(ValueError, match=rf"{no_value}.*lacks column\(s\) value"):
        load_results([good, no_value])
    not_number = tmp_path / "not_number" / "results.csv"
    not_number.parent.mkdir()
    not_number.write_text("method,seed,testset,metric,value\nseqsi,1,clean,accuracy,0.9\nseqsi,1,affine,accuracy,oops\n")
    with pytest.raises(ValueError, match=rf"{not_number}, line 3: value 'oops' is not a number"):
        load_results([good, not_number])
    short = tmp_path / "short" / "results.csv"
    short.parent.mkdir()
    short.write_text("method,seed,testset,metric,value\nseqsi,1,clean,accuracy\n")
    with pytest.raises(ValueError, match=rf"{short}, line 2: fewer fields"):
        load_results(short)
    with pytest.raises(ValueError, match="row 0 value 'x' is not a number"):
        write_results(tmp_path / "bad.csv", [{"testset": "clean", "metric": "accuracy", "value": "x"}])


def test_per_seed_tables_line_up_and_merge_to_the_aggregate():
    values = dict(FULL)
    del values[("seqsi", "clean", 2)]
    rows = _rows(values)
    with pytest.raises(MissingRunsError) as info:
        per_seed_tables(rows, "method", expected_seeds=[1, 2, 3, 4])
    assert len(info.value.missing) == 1 + 4  # seqsi/clean of seed 2, every cell of seed 4
    tables = per_seed_tables(rows, "method", expected_seeds=[1, 2, 3, 4], strict=False, scale=100)
    assert list(tables) == ["1", "2", "3", "4"]
    assert all(t.rows == [("standard",), ("seqsi",)] and t.columns == [("clean",), ("affine",)] for t in tables.values())
    assert tables["3"].cell("standard", "affine").mean == 0.9 and tables["3"].cell("standard", "affine").n == 1
    assert tables["2"].cell("seqsi", "clean").n == 0 and tables["4"].cell("seqsi", "affine").n == 0
    assert "| seqsi | — |" in tables["2"].to_markdown()
    merged = merge_tables({s: tables[s] for s in ("1", "2", "3")}, strict=False)
    direct = aggregate(rows, "method", strict=False)
    for key, cell in direct.cells.items():
        assert merged.cells[key].n == cell.n and merged.cells[key].mean == pytest.approx(cell.mean)
        assert merged.cells[key].std == pytest.approx(cell.std, nan_ok=True)
    assert merged.missing == direct.missing == [MissingRun(("seqsi",), ("clean",), "2")]
    with pytest.raises(MissingRunsError):
        merge_tables(tables)  # seed 4 has nothing: strict by default


def test_per_seed_tables_read_back_from_their_files_merge_as_in_memory(tmp_path):
    """What merge_tabs.py does: per-seed tables written, read back and merged; a column that no
    seed evaluated (shown in every per-seed table) is a missing run unless dropped."""
    tables = per_seed_tables(_rows(FULL), "method", expected_seeds=[1, 2, 3], strict=False,
                             col_order=["clean", "affine", "arti_3"])
    assert all(t.cell("seqsi", "arti_3").n == 0 for t in tables.values())
    for seed, table in tables.items():
        write_table(table, tmp_path / f"seed{seed}", "accuracy")
    read = {seed: read_table(tmp_path / f"seed{seed}" / "accuracy.csv", "method") for seed in tables}
    for seed, table in tables.items():
        assert read[seed].rows == table.rows and read[seed].columns == table.columns
        for key, cell in table.cells.items():
            back = read[seed].cells[key]
            assert (back.n, back.seeds) == (cell.n, cell.seeds) and (cell.n == 0 or back.mean == cell.mean)
    with pytest.raises(MissingRunsError, match="testset arti_3"):
        merge_tables(read)
    merged = merge_tables(read, drop_unevaluated=True, ddof=0, decimals=3)
    assert merged.columns == [("clean",), ("affine",)] and merged.decimals == 3
    assert merged.cell("seqsi", "affine").mean == pytest.approx(0.8)
    assert merged.cell("seqsi", "affine").std == pytest.approx(math.sqrt(0.02 / 3))  # population std
    assert merged.cells == merge_tables(tables, drop_unevaluated=True, ddof=0).cells
    with pytest.raises(ValueError, match="lacks loss"):
        read_table(tmp_path / "seed1" / "accuracy.csv", ["method", "loss"])
