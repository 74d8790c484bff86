"""Paper-style result tables: many runs' `results.csv` (seqsi.report.results) -> mean ± std over seeds.

A table is a pivot of the long result rows: `aggregate` picks the fields that make the rows,
the field that makes the columns and the metric.

Missing runs are never averaged away silently. A cell with fewer seeds than expected is an
error by default (`strict=True`, the message lists exactly the missing runs); with
`strict=False` it is marked with a dagger and the rendered table carries a footnote.

A cell over a single seed shows its mean without "± std": a sample std needs two values, and
"± 0" would claim a spread that was never measured.
"""
from __future__ import annotations

import csv
import dataclasses
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..io import atomic_path, read_csv, write_csv, write_text
from .results import SOURCE_KEY

DAGGER = "†"
CSV_BEST_MARK = "*"
MAX_LISTED_MISSING = 20

Key = tuple[str, ...]


# --------------------------------------------------------------------------- table model


@dataclass(frozen=True)
class Cell:
    """Statistics of one (row, column) over seeds; `std` is the sample std (nan when n < 2), or
    the population std of a table aggregated with ddof=0 (the paper's 3D merge)."""

    mean: float
    std: float
    n: int
    seeds: tuple[str, ...] = ()


class MissingRun(NamedTuple):
    row: Key
    column: Key
    seed: str | None  # None in a table without a seed field


class MissingRunsError(ValueError):
    """Raised by strict aggregation; `.missing` holds the exact (row, column, seed) triples."""

    def __init__(self, message: str, missing: list[MissingRun]) -> None:
        super().__init__(message)
        self.missing = missing


def _natural_key(text: str | None) -> tuple:
    """Seeds sort numerically when they are integers ("5" < "42"), otherwise as text."""
    if text is None:
        return (0, 0, "")
    try:
        return (0, int(text), text)
    except ValueError:
        return (1, 0, text)


def _describe(fields: Sequence[str], values: Key) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(fields, values))


def describe_missing(missing: Sequence[MissingRun], row_keys: Sequence[str], col_keys: Sequence[str],
                     n_columns: int, seed_key: str | None = "seed") -> list[str]:
    """One line per missing (row, seed): which columns are missing, or "all N columns"."""
    grouped: dict[tuple[Key, str | None], list[Key]] = {}
    for run in missing:
        grouped.setdefault((run.row, run.seed), []).append(run.column)
    lines = []
    for (row, seed), cols in grouped.items():
        head = _describe(row_keys, row)
        if seed is not None:
            head += f", {seed_key}={seed}"
        col_name = "/".join(col_keys)
        if len(cols) == n_columns and n_columns > 1:
            what = f"all {n_columns} {col_name} columns"
        else:
            what = f"{col_name} " + "; ".join("/".join(c) for c in cols)
        lines.append(f"{head}: {what}")
    return lines


@dataclass
class Table:
    """A rows x columns grid of `Cell`s plus how to show it.

    Rows and columns are tuples of strings (one entry per row/column key); accessors also take
    a plain string when there is one key. Formatting (decimals, scale, which value is best) is
    part of the table so every output format shows the same thing.
    """

    row_keys: tuple[str, ...]
    col_keys: tuple[str, ...]
    metric: str
    rows: list[Key]
    columns: list[Key]
    cells: dict[tuple[Key, Key], Cell]
    seed_key: str | None = "seed"
    expected_seeds: tuple[str | None, ...] = ()
    missing: list[MissingRun] = field(default_factory=list)
    decimals: int = 2
    scale: float = 1.0
    higher_is_better: bool = True
    mark_best: str | None = "column"  # "column", "row" or None
    labels: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # shown under the table (e.g. test sets not evaluated)
    ddof: int = 1  # 1: sample std over seeds; 0: population std, as the paper's 3D/merge_tabs.py

    def __post_init__(self) -> None:
        if self.mark_best not in ("column", "row", None):
            raise ValueError(f"Table: mark_best must be 'column', 'row' or None; got {self.mark_best!r}")
        if self.decimals < 0:
            raise ValueError(f"Table: decimals must be >= 0; got {self.decimals}")

    # ---- access

    @property
    def expected_n(self) -> int:
        return max(len(self.expected_seeds), 1)

    def _key(self, value: str | Sequence[str], width: int, what: str) -> Key:
        key = (str(value),) if isinstance(value, (str, int)) else tuple(str(v) for v in value)
        if len(key) != width:
            raise KeyError(f"{what} {value!r} needs {width} value(s)")
        return key

    def cell(self, row: str | Sequence[str], column: str | Sequence[str]) -> Cell:
        return self.cells[(self._key(row, len(self.row_keys), "row"), self._key(column, len(self.col_keys), "column"))]

    def format(self, **options: Any) -> Table:
        """A copy with other display options (decimals, scale, higher_is_better, mark_best, labels)."""
        return dataclasses.replace(self, **options)

    def is_incomplete(self, row: Key, column: Key) -> bool:
        return 0 < self.cells[(row, column)].n < self.expected_n

    def label(self, value: str) -> str:
        return self.labels.get(value, value)

    def row_label(self, row: Key) -> str:
        return " / ".join(self.label(v) for v in row)

    def column_label(self, column: Key) -> str:
        return " / ".join(self.label(v) for v in column)

    # ---- numbers as shown

    def _number(self, x: float, scale: float) -> str:
        text = f"{x * scale:.{self.decimals}f}"
        if text.startswith("-") and float(text) == 0.0:
            text = text[1:]  # no "-0.00"
        return text

    def shown_mean(self, row: Key, column: Key) -> float:
        """The mean as displayed (scaled and rounded): what best-marking and ties compare."""
        return float(self._number(self.cells[(row, column)].mean, self.scale))

    def best(self) -> set[tuple[Key, Key]]:
        """Cells holding the best shown value of their column (or row); all tied cells count.

        Values are compared as displayed, so two cells that read the same are both marked.
        A column with a single value marks nothing (there is nothing to beat).
        """
        if self.mark_best is None:
            return set()
        if self.mark_best == "column":
            groups = [[(r, c) for r in self.rows] for c in self.columns]
        else:
            groups = [[(r, c) for c in self.columns] for r in self.rows]
        marked: set[tuple[Key, Key]] = set()
        for group in groups:
            shown = {rc: self.shown_mean(*rc) for rc in group if self.cells[rc].n > 0}
            shown = {rc: v for rc, v in shown.items() if math.isfinite(v)}
            if len(shown) < 2:
                continue
            target = max(shown.values()) if self.higher_is_better else min(shown.values())
            marked.update(rc for rc, v in shown.items() if v == target)
        return marked

    def _text(self, rc: tuple[Key, Key], style: str, best: set) -> str:
        cell = self.cells[rc]
        if cell.n == 0:
            return {"md": "—", "tex": "--", "csv": "n/a"}[style]
        text = self._number(cell.mean, self.scale)
        if cell.n >= 2:
            pm = r" $\pm$ " if style == "tex" else " ± "
            text += pm + self._number(cell.std, abs(self.scale))
        if rc in best:
            text = {"md": f"**{text}**", "tex": rf"\textbf{{{text}}}", "csv": f"{text} {CSV_BEST_MARK}"}[style]
        if self.is_incomplete(*rc):
            text += r"$^\dagger$" if style == "tex" else DAGGER
        return text

    # ---- notes shown under the table

    def describe_missing(self) -> list[str]:
        return describe_missing(self.missing, self.row_keys, self.col_keys, len(self.columns), self.seed_key)

    def _summary(self) -> str:
        what = self.metric + (f" (x{self.scale:g})" if self.scale != 1 else "")
        seeds = [s for s in self.expected_seeds if s is not None]
        if seeds:
            kind = "" if self.ddof == 1 else f" (ddof {self.ddof})"
            what += f", mean ± std{kind} over {len(seeds)} {self.seed_key}s ({', '.join(seeds)})"
        if self.mark_best:
            what += f"; best per {self.mark_best} ({'higher' if self.higher_is_better else 'lower'} is better) marked"
        return what

    def _footnote(self) -> list[str]:
        if not self.missing:
            return []
        lines = self.describe_missing()
        shown = lines[:MAX_LISTED_MISSING]
        if len(lines) > len(shown):
            shown.append(f"... and {len(lines) - len(shown)} more")
        head = f"{DAGGER} mean over fewer than the {self.expected_n} expected {self.seed_key or 'value'}s; — no result. Missing runs ({len(self.missing)}):"
        return [head, *shown]

    # ---- renderers

    def to_records(self) -> list[dict[str, Any]]:
        """Tidy form: one dict per cell with mean, std, n (unscaled) and its display text."""
        best = self.best()
        records = []
        for r in self.rows:
            for c in self.columns:
                cell = self.cells[(r, c)]
                records.append({
                    **dict(zip(self.row_keys, r)),
                    **dict(zip(self.col_keys, c)),
                    "metric": self.metric,
                    "mean": "" if cell.n == 0 else repr(cell.mean),
                    "std": "" if cell.n < 2 else repr(cell.std),
                    "n": cell.n,
                    "n_expected": self.expected_n,
                    "seeds": ";".join(cell.seeds),
                    "best": int((r, c) in best),
                    "display": self._text((r, c), "csv", best),
                })
        return records

    def to_wide_rows(self) -> list[list[str]]:
        """Display form as a list of rows (header first): what a person reads in a spreadsheet."""
        best = self.best()
        header = [self.label(k) for k in self.row_keys] + [self.column_label(c) for c in self.columns]
        body = [[self.label(v) for v in r] + [self._text((r, c), "csv", best) for c in self.columns] for r in self.rows]
        return [header, *body]

    def to_csv(self, path: str | os.PathLike, *, wide: bool = False) -> Path:
        """Tidy CSV (default; full precision, machine-readable) or the wide display form.

        In the display form `*` marks the best value and `†` an incomplete cell.
        """
        path = Path(path)
        if wide:
            with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows(self.to_wide_rows())
        else:
            write_csv(path, self.to_records(), [*self.row_keys, *self.col_keys, "metric", "mean", "std", "n",
                                                "n_expected", "seeds", "best", "display"])
        return path

    def to_markdown(self) -> str:
        """GitHub Markdown table, best in bold, a summary line and the missing-run footnote."""
        def esc(text: str) -> str:
            return text.replace("|", r"\|")

        best = self.best()
        header = [esc(self.label(k)) for k in self.row_keys] + [esc(self.column_label(c)) for c in self.columns]
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join(["---"] * len(self.row_keys) + [":---:"] * len(self.columns)) + "|"]
        for r in self.rows:
            cells = [esc(self.label(v)) for v in r] + [self._text((r, c), "md", best) for c in self.columns]
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", self._summary() + "."]
        foot = self._footnote()
        if foot:
            lines += ["", foot[0], *(f"- {line}" for line in foot[1:])]
        lines += [line for note in self.notes for line in ("", f"Note: {esc(note)}")]
        return "\n".join(lines) + "\n"

    def to_latex(self) -> str:
        """A booktabs `tabular` to \\input into a table float; best in \\textbf."""
        best = self.best()
        n_cols = len(self.row_keys) + len(self.columns)
        header = [latex_escape(self.label(k)) for k in self.row_keys] + [latex_escape(self.column_label(c)) for c in self.columns]
        lines = [f"% {latex_escape(self._summary())}",
                 r"\begin{tabular}{" + "l" * len(self.row_keys) + "c" * len(self.columns) + "}",
                 r"\toprule",
                 " & ".join(header) + r" \\",
                 r"\midrule"]
        for r in self.rows:
            cells = [latex_escape(self.label(v)) for v in r] + [self._text((r, c), "tex", best) for c in self.columns]
            lines.append(" & ".join(cells) + r" \\")
        lines.append(r"\bottomrule")
        foot = self._footnote()
        if foot:
            note = (rf"$^\dagger$ mean over fewer than the {self.expected_n} expected "
                    rf"{latex_escape(self.seed_key or 'value')}s; -- no result; {len(self.missing)} missing run(s)")
            lines.append(rf"\multicolumn{{{n_cols}}}{{l}}{{\footnotesize {note}}} \\")
        for note in self.notes:
            lines.append(rf"\multicolumn{{{n_cols}}}{{l}}{{\footnotesize {latex_escape(note)}}} \\")
        lines.append(r"\end{tabular}")
        lines += [f"% missing: {latex_escape(line)}" for line in foot[1:]]
        return "\n".join(lines) + "\n"

    def to_grouped(self) -> dict[str, dict[str, tuple[float, float | None]]]:
        """{column label: {row label: (mean, std or None)}}, scaled: input for plot_grouped_bars."""
        out: dict[str, dict[str, tuple[float, float | None]]] = {}
        for c in self.columns:
            group = out.setdefault(self.column_label(c), {})
            for r in self.rows:
                cell = self.cells[(r, c)]
                if cell.n:
                    std = cell.std * abs(self.scale) if cell.n >= 2 else None
                    group[self.row_label(r)] = (cell.mean * self.scale, std)
        return out


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "±": r"$\pm$", DAGGER: r"$^\dagger$", "—": "---",
}


def latex_escape(text: Any) -> str:
    """Text safe in LaTeX text mode (underscores of mode names, % of units, < of "Scale (<1)")."""
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in str(text))


# --------------------------------------------------------------------------- aggregation


def _as_keys(keys: str | Sequence[str], what: str) -> tuple[str, ...]:
    keys = (keys,) if isinstance(keys, str) else tuple(keys)
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ValueError(f"{what} must be a field name or a non-empty list of field names; got {keys!r}")
    return keys


def _field(row: Mapping[str, Any], name: str) -> str:
    if name not in row:
        source = row.get(SOURCE_KEY)
        where = f" ({source})" if source else ""
        raise ValueError(f"result row lacks field {name!r}{where}: {dict(row)}")
    return str(row[name])


def _ordered(seen: list[Key], order: Sequence | None, width: int, what: str) -> list[Key]:
    """Explicit order first (the paper's), then anything else in order of first appearance."""
    if order is None:
        return seen
    keys = []
    for item in order:
        key = (str(item),) if isinstance(item, (str, int)) else tuple(str(v) for v in item)
        if len(key) != width:
            raise ValueError(f"{what} entry {item!r} needs {width} value(s)")
        keys.append(key)
    keys = list(dict.fromkeys(keys))
    listed = set(keys)
    return keys + [k for k in seen if k not in listed]


def _missing_error(missing: list[MissingRun], row_keys, col_keys, n_columns, seed_key, metric) -> MissingRunsError:
    lines = describe_missing(missing, row_keys, col_keys, n_columns, seed_key)
    message = (f"{len(missing)} missing run(s) for metric {metric!r} (pass --partial, strict=False in "
               f"Python, to build a partial, marked table):\n  " + "\n  ".join(lines))
    return MissingRunsError(message, missing)


def _metric_rows(rows: Iterable[Mapping[str, Any]], metric: str) -> list[Mapping[str, Any]]:
    rows = list(rows)
    selected = [r for r in rows if _field(r, "metric") == metric]
    if not selected and rows:
        present = sorted({str(r["metric"]) for r in rows})
        raise ValueError(f"no result rows with metric {metric!r}; metrics present: {', '.join(present)}")
    return selected


def aggregate(
    rows: Iterable[Mapping[str, Any]],
    row_keys: str | Sequence[str],
    col_key: str | Sequence[str] = "testset",
    metric: str = "accuracy",
    seed_key: str | None = "seed",
    expected_seeds: Iterable[Any] | None = None,
    *,
    strict: bool = True,
    row_order: Sequence | None = None,
    col_order: Sequence | None = None,
    decimals: int = 2,
    scale: float = 1.0,
    higher_is_better: bool = True,
    mark_best: str | None = "column",
    labels: Mapping[str, str] | None = None,
    ddof: int = 1,
) -> Table:
    """Pivot long result rows into a Table of mean and sample std over seeds (`ddof=0`:
    population std, the paper's 3D merge_tabs.py convention).

    Rows: the distinct values of `row_keys`; columns: of `col_key` (one field or several);
    only rows of `metric` are used. The expected seeds are `expected_seeds`, or else every
    seed seen in the table; each (row, column, seed) without a value is a missing run.
    `strict` (the default) raises MissingRunsError listing them; otherwise the table keeps
    them in `Table.missing` and marks incomplete cells. Pass `row_order`/`col_order` (e.g. the
    paper's) so that a method with no result at all is reported too. With `seed_key=None`
    each cell holds exactly one value. Two values for the same (row, column, seed) are an
    error: usually a field that distinguishes runs is missing from `row_keys`.

    Args:
        rows: long result rows (dicts) with the key fields, "metric" and a numeric "value".
        row_keys: field name(s) whose distinct values make the table rows (e.g. "mode").
        col_key: field name(s) whose distinct values make the columns; by default "testset".
        metric: only rows whose "metric" is this are used.
        seed_key: field that tells the seeds apart; None when each cell holds exactly one value.
        expected_seeds: the seeds every cell should have; None expects every seed seen in the rows.
            A row of a seed not listed is an error.
        strict: raise MissingRunsError when a run is missing instead of keeping it in `Table.missing`.
        row_order: rows to put first, in this order (a value, or a tuple of values with several row keys);
            the others follow in order of first appearance.
        col_order: the same for the columns.
        decimals: digits shown after the point, at least 0.
        scale: factor applied to the values shown (e.g. 100 for percent); stored values stay unscaled.
        higher_is_better: whether the largest (else the smallest) shown mean is the best one.
        mark_best: mark the best value per "column", per "row", or None for no marks.
        labels: {value: display text} for row and column values (e.g. mode names to titles).
        ddof: delta degrees of freedom of the std over seeds: 1 for the sample std, 0 for the population std.
    """
    row_keys = _as_keys(row_keys, "row_keys")
    col_keys = _as_keys(col_key, "col_key")
    if seed_key is not None and seed_key in row_keys + col_keys:
        raise ValueError(f"seed_key {seed_key!r} cannot also be a row or column key")
    selected = _metric_rows(rows, metric)

    values: dict[tuple[Key, Key], dict[str | None, float]] = {}
    sources: dict[tuple[Key, Key, str | None], str | None] = {}
    rows_seen: dict[Key, None] = {}
    cols_seen: dict[Key, None] = {}
    seeds_seen: dict[str | None, None] = {}
    duplicates = []
    for record in selected:
        r = tuple(_field(record, k) for k in row_keys)
        c = tuple(_field(record, k) for k in col_keys)
        s = _field(record, seed_key) if seed_key is not None else None
        rows_seen.setdefault(r)
        cols_seen.setdefault(c)
        seeds_seen.setdefault(s)
        got = values.setdefault((r, c), {})
        source = record.get(SOURCE_KEY)
        if s in got:
            origin = sources.get((r, c, s))
            duplicates.append(f"{_describe(row_keys, r)}, {_describe(col_keys, c)}"
                              + (f", {seed_key}={s}" if s is not None else "")
                              + (f" (from {origin} and {source})" if origin and source else ""))
        _field(record, "value")  # present
        try:
            got[s] = float(record["value"])
        except (TypeError, ValueError):
            raise ValueError(f"result row value {record['value']!r} is not a number: {dict(record)}") from None
        if not math.isfinite(got[s]):
            raise ValueError(f"result row value {got[s]} is not a finite number"
                             f"{f' (in {source})' if source else ''}: {dict(record)}")
        sources[(r, c, s)] = source
    if duplicates:
        raise ValueError(f"{len(duplicates)} duplicate measurement(s) for metric {metric!r} (is a field that "
                         f"tells runs apart missing from row_keys?):\n  " + "\n  ".join(duplicates))

    row_list = _ordered(list(rows_seen), row_order, len(row_keys), "row_order")
    col_list = _ordered(list(cols_seen), col_order, len(col_keys), "col_order")
    if not row_list or not col_list:
        raise ValueError(f"no result rows for metric {metric!r} and no row_order/col_order to lay out a table")

    if seed_key is None:
        expected: list[str | None] = [None]
    elif expected_seeds is not None:
        expected = list(dict.fromkeys(str(s) for s in expected_seeds))
        extra = [s for s in seeds_seen if s not in expected]
        if extra:
            raise ValueError(f"results for {seed_key}(s) {', '.join(sorted(extra, key=_natural_key))} not in "
                             f"expected_seeds ({', '.join(expected)}); filter the rows or extend expected_seeds")
    else:
        expected = sorted(seeds_seen, key=_natural_key)

    cells: dict[tuple[Key, Key], Cell] = {}
    missing: list[MissingRun] = []
    for r in row_list:
        for c in col_list:
            got = values.get((r, c), {})
            present = [s for s in expected if s in got]
            data = np.array([got[s] for s in present], dtype=np.float64)
            n = len(data)
            mean = float(data.mean()) if n else math.nan
            std = float(data.std(ddof=ddof)) if n > max(ddof, 0) else math.nan
            cells[(r, c)] = Cell(mean, std, n, tuple(s for s in present if s is not None))
            missing.extend(MissingRun(r, c, s) for s in expected if s not in got)

    if strict and missing:
        raise _missing_error(missing, row_keys, col_keys, len(col_list), seed_key, metric)
    return Table(row_keys, col_keys, metric, row_list, col_list, cells, seed_key,
                 tuple(s for s in expected if s is not None), missing, decimals, float(scale),
                 higher_is_better, mark_best, dict(labels or {}), ddof=int(ddof))


def per_seed_tables(
    rows: Iterable[Mapping[str, Any]],
    row_keys: str | Sequence[str],
    col_key: str | Sequence[str] = "testset",
    metric: str = "accuracy",
    seed_key: str = "seed",
    expected_seeds: Iterable[Any] | None = None,
    *,
    strict: bool = True,
    row_order: Sequence | None = None,
    col_order: Sequence | None = None,
    **display: Any,
) -> dict[str, Table]:
    """One Table per seed, all with the same rows and columns (so they line up side by side).

    A seed with no result at all still gets a table when it is in `expected_seeds`. With
    `strict`, the missing runs of every seed are raised together.

    Args:
        rows: long result rows (dicts) with the key fields, "metric", a numeric "value" and `seed_key`.
        row_keys: field name(s) whose distinct values make the table rows (e.g. "mode").
        col_key: field name(s) whose distinct values make the columns; by default "testset".
        metric: only rows whose "metric" is this are used.
        seed_key: field that tells the seeds apart; one table is made per value.
        expected_seeds: the seeds to make tables for; None uses every seed seen in the rows.
            A row of a seed not listed is an error.
        strict: raise MissingRunsError when a run is missing instead of keeping it in each `Table.missing`.
        row_order: rows to put first, in this order; the others follow in order of first appearance.
        col_order: the same for the columns.
    """
    row_keys = _as_keys(row_keys, "row_keys")
    col_keys = _as_keys(col_key, "col_key")
    selected = _metric_rows(rows, metric)
    all_rows = _ordered(list(dict.fromkeys(tuple(_field(r, k) for k in row_keys) for r in selected)),
                        row_order, len(row_keys), "row_order")
    all_cols = _ordered(list(dict.fromkeys(tuple(_field(r, k) for k in col_keys) for r in selected)),
                        col_order, len(col_keys), "col_order")
    seen = list(dict.fromkeys(_field(r, seed_key) for r in selected))
    if expected_seeds is not None:
        seeds = list(dict.fromkeys(str(s) for s in expected_seeds))
        extra = [s for s in seen if s not in seeds]
        if extra:
            raise ValueError(f"results for {seed_key}(s) {', '.join(extra)} not in expected_seeds ({', '.join(seeds)})")
    else:
        seeds = sorted(seen, key=_natural_key)
    tables = {}
    for seed in seeds:
        subset = [r for r in selected if _field(r, seed_key) == seed]
        tables[seed] = aggregate(subset, row_keys, col_keys, metric, seed_key, [seed], strict=False,
                                 row_order=all_rows, col_order=all_cols, **display)
    missing = [m for t in tables.values() for m in t.missing]
    if strict and missing:
        raise _missing_error(missing, row_keys, col_keys, len(all_cols), seed_key, metric)
    return tables


def seed_rows(tables: Mapping[Any, Table]) -> list[dict[str, Any]]:
    """The long rows that per-seed tables (one value per cell; the mapping's keys are the seeds)
    hold: one per filled cell, what merging them aggregates, in whichever layout."""
    if not tables:
        raise ValueError("merge_tables: no tables to merge")
    first = next(iter(tables.values()))
    seed_key = first.seed_key or "seed"
    rows: list[dict[str, Any]] = []
    for seed, table in tables.items():
        if (table.row_keys, table.col_keys, table.metric) != (first.row_keys, first.col_keys, first.metric):
            raise ValueError(f"merge_tables: table for seed {seed} has keys/metric {table.row_keys}, {table.col_keys}, "
                             f"{table.metric!r}; expected {first.row_keys}, {first.col_keys}, {first.metric!r}")
        for (r, c), cell in table.cells.items():
            if cell.n == 0:
                continue
            if cell.n != 1:
                raise ValueError(f"merge_tables: seed {seed} cell {r}, {c} averages {cell.n} values; "
                                 "expected per-seed tables")
            rows.append({**dict(zip(first.row_keys, r)), **dict(zip(first.col_keys, c)), seed_key: str(seed),
                         "metric": first.metric, "value": cell.mean})
    return rows


def merge_tables(tables: Mapping[Any, Table], *, expected_seeds: Iterable[Any] | None = None,
                 strict: bool = True, drop_unevaluated: bool = False, **options: Any) -> Table:
    """Merge per-seed tables (one value per cell) into one mean ± std table.

    The mapping's keys are the seeds; `expected_seeds` defaults to them. Cells empty in a
    per-seed table become missing runs of the merged table (an error when `strict`), except
    with `drop_unevaluated` in the columns that no seed has any value for (e.g. artifact sets
    never evaluated), which are left out. `options` (aggregate's decimals, labels, ddof, ...)
    override the first table's.
    """
    rows = seed_rows(tables)
    first = next(iter(tables.values()))
    row_order = list(dict.fromkeys(r for t in tables.values() for r in t.rows))
    col_order = list(dict.fromkeys(c for t in tables.values() for c in t.columns))
    if drop_unevaluated:
        evaluated = {tuple(str(r[k]) for k in first.col_keys) for r in rows}
        col_order = [c for c in col_order if c in evaluated]
    display = dict(decimals=first.decimals, scale=first.scale, higher_is_better=first.higher_is_better,
                   mark_best=first.mark_best, labels=first.labels)
    return aggregate(rows, first.row_keys, first.col_keys, first.metric, first.seed_key or "seed",
                     list(tables) if expected_seeds is None else expected_seeds, strict=strict,
                     row_order=row_order, col_order=col_order, **{**display, **options})


def _float_or_nan(text: str) -> float:
    return float(text) if text != "" else math.nan  # to_records writes no mean for an empty cell


def read_table(path: str | os.PathLike, row_keys: str | Sequence[str], col_key: str | Sequence[str] = "testset",
               seed_key: str | None = "seed") -> Table:
    """A table written by write_table (its tidy <stem>.csv) read back: rows, columns and cells
    (mean, std, n, seeds) in the file's order, e.g. per-seed tables to merge. Display options
    and the missing-run list are not in the file: they are the defaults and empty."""
    path = Path(path)
    row_keys, col_keys = _as_keys(row_keys, "row_keys"), _as_keys(col_key, "col_key")
    records = read_csv(path)
    needed = [*row_keys, *col_keys, "metric", "mean", "std", "n", "seeds"]
    header = list(records[0]) if records else []
    lacking = [k for k in needed if k not in header]
    if lacking:
        raise ValueError(f"{path}: not a table written by write_table with row keys {', '.join(row_keys)} and "
                         f"column keys {', '.join(col_keys)}: lacks {', '.join(lacking)}"
                         + ("" if records else " (the file has no rows)"))
    cells: dict[tuple[Key, Key], Cell] = {}
    for record in records:
        key = (tuple(record[k] for k in row_keys), tuple(record[k] for k in col_keys))
        cells[key] = Cell(_float_or_nan(record["mean"]), _float_or_nan(record["std"]), int(record["n"]),
                          tuple(s for s in record["seeds"].split(";") if s))
    seeds = tuple(dict.fromkeys(s for cell in cells.values() for s in cell.seeds))
    return Table(row_keys, col_keys, records[0]["metric"], list(dict.fromkeys(r for r, _ in cells)),
                 list(dict.fromkeys(c for _, c in cells)), cells, seed_key, seeds)


def write_table(table: Table, out_dir: str | os.PathLike, stem: str) -> dict[str, Path]:
    """Write <stem>.csv (tidy), <stem>_wide.csv (display), <stem>.md and <stem>.tex atomically."""
    out_dir = Path(out_dir)
    paths = {"csv": table.to_csv(out_dir / f"{stem}.csv"),
             "wide_csv": table.to_csv(out_dir / f"{stem}_wide.csv", wide=True)}
    for kind, text in (("md", table.to_markdown()), ("tex", table.to_latex())):
        paths[kind] = out_dir / f"{stem}.{kind}"
        write_text(paths[kind], text)
    return paths
