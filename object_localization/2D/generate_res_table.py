#!/usr/bin/env python
"""All 2D runs -> the paper's tables (CSV, Markdown, LaTeX): rows = alterations, columns =
the method/loss combinations (8 in the paper), mean ± std over seeds, best per row marked.

    python generate_res_table.py runs/loc2d --out runs/loc2d/tables

Writes score.* (mean accuracy curve vs ground truth, MAX_DIST of eval), f1.* (F1 at the
matching radius) and, when inv_experiment.py ran, invariance.* (accuracy_curve[0] of the
altered vs the unaltered detections, per (lambda, mu) case).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from inv_experiment import INVARIANCE
from loc2d import METHODS, invariance_cases, labels
from seqsi.cli import guarded
from seqsi.engine.experiment import add_table_arguments, table_folder
from seqsi.engine.localization import test_sets_of
from seqsi.report.results import load_results
from seqsi.report.tables import aggregate, write_table


def method_order(rows, wanted=None) -> list[tuple[str, str]]:
    present = {(r["method"], r["loss"]) for r in rows}
    if wanted:
        return [tuple(m.split("-", 1)) for m in wanted]
    return [m for m in METHODS if m in present] + sorted(present - set(METHODS))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_table_arguments(parser)
    parser.add_argument("--aug", default="none", help="augmentation group of the runs to tabulate")
    parser.add_argument("--methods", nargs="*", help="expected columns as mode-loss, e.g. standard-bce "
                                                     "seqsi_telescopic-zmse (default: those found, in the paper's order)")
    args = parser.parse_args(argv)
    out = table_folder(args)
    names = labels()
    rows = [r for r in load_results(args.runs) if r["aug"] == args.aug]
    if not rows:
        raise SystemExit(f"error: no results with aug={args.aug} under {', '.join(args.runs)}")
    columns = method_order(rows, args.methods)
    common = dict(expected_seeds=args.seeds, strict=not args.partial, labels=names, col_order=columns,
                  mark_best="row", decimals=3)
    alterations = [(name,) for name, _ in test_sets_of({"suite": "fluorescence"}, 2)]
    for metric in ("score", "f1"):
        table = aggregate(rows, "testset", ["method", "loss"], metric, row_order=alterations, **common)
        write_table(table, out, metric)
        print(f"\n{metric} vs ground truth (rows: alterations, columns: method / loss)\n{table.to_markdown()}")
    inv_files = [f for p in args.runs for f in Path(p).rglob(INVARIANCE)]
    if inv_files:
        inv = [r for r in load_results(inv_files) if r["aug"] == args.aug]
        table = aggregate(inv, "testset", ["method", "loss"], "acc0", row_order=[(c,) for c in invariance_cases()],
                          **common)
        write_table(table, out, "invariance")
        print(f"\naccuracy_curve[0], altered vs unaltered detections (float64)\n{table.to_markdown()}")
    print(f"tables written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
