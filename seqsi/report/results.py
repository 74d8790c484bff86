"""The long results file every run writes: one row per measurement, read back by the table scripts.

Format: the fields that identify the run (any of method, mode, loss, variant, aug, train_type,
seed, ...), then `testset` (test set, alteration or tomogram type), `metric` (accuracy,
macro_f1, score, ...) and `value` (a finite float). Files of any experiment concatenate without
a schema; seqsi.report.tables pivots them into the paper's tables.
"""
from __future__ import annotations

import csv
import glob
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..io import write_csv

RESULTS_FILE = "results.csv"
RESULT_COLUMNS = ("testset", "metric", "value")
SOURCE_KEY = "results_file"  # added by load_results so errors can name the file a row came from


def _expand_paths(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Files named by paths, glob patterns or folders (searched recursively for results.csv)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[Path] = []
    for item in paths:
        text = os.fspath(item)
        if any(ch in text for ch in "*?["):
            found = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            if not found:
                raise FileNotFoundError(f"no results file matches {text!r}")
            files.extend(found)
        elif Path(text).is_dir():
            found = sorted(Path(text).rglob(RESULTS_FILE))
            if not found:
                raise FileNotFoundError(f"no {RESULTS_FILE} under folder {text}")
            files.extend(found)
        else:
            files.append(Path(text))
    return list(dict.fromkeys(files))


def _read_results_file(path: Path) -> list[dict[str, Any]]:
    try:
        return _parse_results_file(path)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a UTF-8 text results file ({err.reason} at byte {err.start}); expected "
                         "a CSV written by write_results") from None


def _parse_results_file(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        lacking = [c for c in RESULT_COLUMNS if c not in header]
        if lacking:
            raise ValueError(
                f"{path}: results file lacks column(s) {', '.join(lacking)}; expected the run's identifying "
                f"fields plus {', '.join(RESULT_COLUMNS)} (header: {', '.join(header) or 'empty'})"
            )
        rows = []
        for record in reader:
            where = f"{path}, line {reader.line_num}"
            if None in record:
                raise ValueError(f"{where}: more fields than the header has columns")
            if any(v is None for v in record.values()):
                raise ValueError(f"{where}: fewer fields than the header has columns")
            for name in ("testset", "metric"):
                if not record[name].strip():
                    raise ValueError(f"{where}: empty {name!r}")
            try:
                record["value"] = float(record["value"])
            except ValueError:
                raise ValueError(f"{where}: value {record['value']!r} is not a number") from None
            if not math.isfinite(record["value"]):
                raise ValueError(f"{where}: value {record['value']} is not a finite number (a diverged or broken "
                                 "evaluation? rerun it)")
            record[SOURCE_KEY] = str(path)
            rows.append(record)
    return rows


def load_results(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[dict[str, Any]]:
    """Read many results.csv files into one list of long rows (`value` as float).

    `paths` may mix files, glob patterns (`runs/**/results.csv`) and folders (searched for
    results.csv). Each row also gets `results_file`, so later errors can name its file.
    A value that is not a finite number (text, nan, inf) or a file that is not UTF-8 text is
    an error naming the file and line.
    """
    rows: list[dict[str, Any]] = []
    for path in _expand_paths(paths):
        rows.extend(_read_results_file(path))
    return rows


def write_results(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write one run's measurements as a long results.csv, atomically.

    Identifying fields come first, in order of appearance, then testset, metric, value.
    """
    rows = [{k: v for k, v in row.items() if k != SOURCE_KEY} for row in rows]
    for i, row in enumerate(rows):
        lacking = [c for c in RESULT_COLUMNS if c not in row]
        if lacking:
            raise ValueError(f"write_results({path}): row {i} lacks {', '.join(lacking)}: {row}")
        try:
            row["value"] = float(row["value"])
        except (TypeError, ValueError):
            raise ValueError(f"write_results({path}): row {i} value {row['value']!r} is not a number") from None
    id_fields = list(dict.fromkeys(k for row in rows for k in row if k not in RESULT_COLUMNS))
    path = Path(path)
    write_csv(path, rows, id_fields + list(RESULT_COLUMNS))
    return path
