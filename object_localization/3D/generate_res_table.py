#!/usr/bin/env python
"""3D runs -> one table per seed (rows = method x augmentation group, columns = alterations and
artifact sets, metric = score, MAX_DIST 6) as CSV, Markdown and LaTeX under <out>/seed<N>/.
merge_tabs.py then merges the per-seed tables into the paper's mean ± std table.

    python generate_res_table.py runs/loc3d --out runs/loc3d/tables
    python generate_res_table.py runs/loc3d --seeds 1 2 --metric f1

The tables of the seeds tabulated together have the same rows and columns; a run or test
set missing from a seed shows "—" in that seed's table, and merge_tabs.py reports it. The
artifact columns are always there: sets no run was evaluated on (no test/arti_<k>/ folders)
show "—" with a note saying so.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from loc3d import ROW_KEYS, column_order, labels, row_order
from seqsi.cli import guarded
from seqsi.data.bioimage import artifact_folder_name
from seqsi.data.fluorescence import ARTIFACT_LEVELS
from seqsi.engine.experiment import table_folder
from seqsi.report.results import load_results
from seqsi.report.tables import per_seed_tables, write_table


def not_evaluated_note(names: list[str]) -> str:
    return (f"{', '.join(names)}: not evaluated (the test data had no test/arti_<k>/ folder; eval.py "
            "--artifact_sets suite simulates them)")


def seed_tables(rows: list[dict], seeds: list[str], metric: str) -> dict:
    """{seed: table}, all with the same rows and columns, in the paper's order (of what is present).
    The artifact columns are always shown: those without any result are marked as not evaluated."""
    mine = [r for r in rows if str(r["seed"]) in seeds and r["metric"] == metric]
    present_rows = {tuple(str(r[k]) for k in ROW_KEYS) for r in mine}
    present_cols = {(r["testset"],) for r in mine}
    artifacts = [(artifact_folder_name(k),) for k in ARTIFACT_LEVELS]
    tables = per_seed_tables(mine, ROW_KEYS, "testset", metric, expected_seeds=seeds, strict=False,
                             row_order=[k for k in row_order() if k in present_rows],
                             col_order=[c for c in column_order() if c in present_cols or c in artifacts],
                             labels=labels(), decimals=3)
    absent = [c[0] for c in artifacts if c not in present_cols]
    if absent:
        print(f"artifact test sets {', '.join(absent)}: no results in any run (not evaluated); marked in the tables")
        for table in tables.values():
            table.notes.append(not_evaluated_note(absent))
    return tables


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="folders searched for results.csv")
    parser.add_argument("--out", type=Path, help="table folder (default <first runs folder>/tables)")
    parser.add_argument("--seeds", nargs="*", help="seeds to tabulate (default: every seed found)")
    parser.add_argument("--metric", default="score", help="score (default), f1 or acc0")
    args = parser.parse_args(argv)
    out = table_folder(args)
    rows = load_results(args.runs)
    found = {str(r["seed"]) for r in rows}
    seeds = args.seeds or sorted(found, key=int)
    for seed in seeds:
        if seed not in found:
            print(f"seed {seed}: no results, no table")
    for seed, table in seed_tables(rows, [s for s in seeds if s in found], args.metric).items():
        paths = write_table(table, out / f"seed{seed}", args.metric)
        print(f"\nseed {seed} ({paths['md']})\n{table.to_markdown()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
