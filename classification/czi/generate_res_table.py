#!/usr/bin/env python
"""All runs -> the domain-generalisation tables: rows = (method, training type), columns = tested
type, mean ± std over seeds, best per column marked; one table each for macro accuracy (the
paper's "accuracy"), accuracy and macro-F1 (CSV, Markdown, LaTeX), plus a bar chart of each.

    python generate_res_table.py runs/czi --out runs/czi/tables --seeds 5 7 42 137 181
"""
from __future__ import annotations

import argparse

from czi import METRICS
from seqsi.cli import guarded
from seqsi.data.cryoet import TOMO_TYPES
from seqsi.engine.experiment import add_table_arguments, table_folder
from seqsi.nn import mode_labels
from seqsi.report.plots import plot_grouped_bars
from seqsi.report.results import load_results
from seqsi.report.tables import MissingRunsError, aggregate, write_table

METHOD_ORDER = ["standard", "seqsi", "seq", "affeq", "zscore", "seqsi_sym", "seqsi_telescopic", "affeq_telescopic"]
TITLES = {"macro_accuracy": "macro accuracy (%)", "accuracy": "accuracy (%)", "macro_f1": "macro-F1 (%)"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_table_arguments(parser)
    args = parser.parse_args(argv)
    out = table_folder(args)
    rows = [r for r in load_results(args.runs) if r.get("experiment") == "czi"]
    if not rows:
        raise FileNotFoundError(f"no czi results under {', '.join(args.runs)}")
    labels = mode_labels(METHOD_ORDER)
    present = {(r["method"], r["train_type"]) for r in rows}
    row_order = [(m, t) for m in METHOD_ORDER for t in TOMO_TYPES if (m, t) in present]
    tested = {r["testset"] for r in rows}
    col_order = [(t,) for t in TOMO_TYPES if t in tested]
    for metric in METRICS:
        try:
            table = aggregate(rows, ["method", "train_type"], "testset", metric, expected_seeds=args.seeds,
                              strict=not args.partial, row_order=row_order, col_order=col_order, scale=100,
                              decimals=2, labels=labels)
        except MissingRunsError as err:
            raise ValueError(f"{err}\n(run the missing ones, or pass --partial to mark them)") from None
        write_table(table, out, metric)
        plot_grouped_bars(table.to_grouped(), out / f"{metric}.png", ylabel=TITLES[metric], ylim=(0, 100),
                          xlabel="tested tomogram type",
                          title=f"Test {TITLES[metric]}, mean ± std over seeds")
        print(f"\nTest {TITLES[metric]}, rows = method / training type, columns = tested type:\n{table.to_markdown()}")
    print(f"\ntables written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
