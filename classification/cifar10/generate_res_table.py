#!/usr/bin/env python
"""All runs -> the paper's tables (variants x test sets, mean +- std over seeds, best per
column marked) as CSV, Markdown and LaTeX, plus the invariance tables and a bar chart.

    python generate_res_table.py runs/cifar10 --out runs/cifar10/tables
"""
from __future__ import annotations

import argparse
from pathlib import Path

from evaluate_invariance import INVARIANCE
from seqsi.cli import guarded
from seqsi.engine.experiment import add_table_arguments, table_folder
from seqsi.nn import mode_labels
from seqsi.photometric import load_suite
from seqsi.report.plots import plot_grouped_bars
from seqsi.report.results import load_results
from seqsi.report.tables import aggregate, write_table

METHOD_ORDER = ["standard", "seq", "seqsi", "seqsi_telescopic", "affeq", "affeq_telescopic", "zscore", "seqsi_sym"]
VARIANT_ORDER = ["base", "norm-instance", "norm-batch", "norm-layer", "norm-mix", "dropout-0.3", "aug-affine",
                 "aug-nonaffine", "aug-random"]


def labels(suite_name: str) -> dict[str, str]:
    return {**mode_labels(METHOD_ORDER), **load_suite(suite_name).titles}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_table_arguments(parser)
    parser.add_argument("--suite", default="cifar10", help="suite whose test-set order and titles are used")
    args = parser.parse_args(argv)
    out = table_folder(args)
    names = labels(args.suite)
    suite = load_suite(args.suite)
    common = dict(expected_seeds=args.seeds, strict=not args.partial, labels=names,
                  row_order=[(m, v) for m in METHOD_ORDER for v in VARIANT_ORDER])

    rows = load_results(args.runs)
    present = {(r["method"], r["variant"]) for r in rows}
    common["row_order"] = [key for key in common["row_order"] if key in present]
    table = aggregate(rows, ["method", "variant"], "testset", "accuracy", col_order=[(t,) for t in suite.test_sets],
                      scale=100, decimals=2, **common)
    written = write_table(table, out, "accuracy")
    print(table.to_markdown())
    base = aggregate([r for r in rows if r["variant"] == "base"], "method", "testset", "accuracy", scale=100,
                     col_order=[(t,) for t in suite.test_sets], strict=not args.partial, labels=names,
                     row_order=[(m,) for m in METHOD_ORDER if (m, "base") in present])
    plot_grouped_bars(base.to_grouped(), out / "accuracy_per_corruption.png", ylabel="accuracy (%)",
                      title="Test accuracy per corruption (base variants, mean ± std over seeds)", ylim=(0, 100))

    invariance_files = [f for r in args.runs for f in Path(r).rglob(INVARIANCE)]
    if invariance_files:
        inv = load_results(invariance_files)
        for dtype in sorted({r["dtype"] for r in inv}):
            subset = [r for r in inv if r["dtype"] == dtype]
            mismatch = aggregate(subset, ["method", "variant"], "testset", "mismatch_pct", decimals=2,
                                 higher_is_better=False, **common)
            written.update({f"invariance_{dtype}": p for p in write_table(mismatch, out, f"invariance_{dtype}").values()})
            print(f"\nPrediction mismatch (%) under a x + b, {dtype}:\n{mismatch.to_markdown()}")
    print(f"\ntables written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
