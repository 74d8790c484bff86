#!/usr/bin/env python
"""3D runs -> one table per seed (rows = method x augmentation group, columns = alterations and
artifact sets, metric = score, MAX_DIST 6) as CSV, Markdown and LaTeX under <out>/seed<N>/.
merge_tabs.py then merges the per-seed tables into the paper's mean ± std table.

    python generate_res_table.py runs/loc3d --out runs/loc3d/tables
    python generate_res_table.py runs/loc3d --seeds 1 2 --metric f1

A run that lacks some test sets shows "—" in its seed's table; a run missing from a seed is
reported by merge_tabs.py.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from loc3d import ROW_KEYS, column_order, labels, row_order
from seqsi.cli import guarded
from seqsi.engine.experiment import RESULTS
from seqsi.report.tables import aggregate, load_results, write_table


def seed_table(rows: list[dict], seed: str, metric: str):
    """The table of one seed: only its runs, in the paper's row and column order."""
    mine = [r for r in rows if str(r["seed"]) == seed and r["metric"] == metric]
    present_rows = {tuple(r[k] for k in ROW_KEYS) for r in mine}
    present_cols = {(r["testset"],) for r in mine}
    rows_order = [k for k in row_order() if k in present_rows]
    rows_order += sorted(present_rows - set(rows_order))
    cols_order = [c for c in column_order() if c in present_cols]
    cols_order += sorted(present_cols - set(cols_order))
    return aggregate(mine, ROW_KEYS, "testset", metric, expected_seeds=[seed], strict=False, row_order=rows_order,
                     col_order=cols_order, labels=labels(), decimals=3)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="folders searched for results.csv")
    parser.add_argument("--out", type=Path, help="table folder (default <first runs folder>/tables)")
    parser.add_argument("--seeds", nargs="*", help="seeds to tabulate (default: every seed found)")
    parser.add_argument("--metric", default="score", help="score (default), f1 or acc0")
    args = parser.parse_args(argv)
    out = args.out or Path(args.runs[0]) / "tables"
    rows = load_results([str(Path(p) / "**" / RESULTS) for p in args.runs])
    seeds = args.seeds or sorted({str(r["seed"]) for r in rows}, key=int)
    for seed in seeds:
        if not any(str(r["seed"]) == seed for r in rows):
            print(f"seed {seed}: no results, no table")
            continue
        table = seed_table(rows, seed, args.metric)
        paths = write_table(table, out / f"seed{seed}", args.metric)
        print(f"\nseed {seed} ({paths['md']})\n{table.to_markdown()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
