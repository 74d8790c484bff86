#!/usr/bin/env python
"""Merge the per-seed tables of generate_res_table.py into the paper's table: mean ± std over
seeds, rows = method x augmentation group, columns = alterations and artifact sets.

    python merge_tabs.py runs/loc3d/tables                    # every seed<N>/ folder found
    python merge_tabs.py runs/loc3d/tables --seeds 1 2 3 4 5  # and name the seeds expected

A run present in one seed's table but absent from another's, or an expected seed without a
table, is a missing run: the merge stops and lists them all (nothing is averaged over fewer
seeds silently). --partial writes the table anyway, marking incomplete cells with a dagger.
Writes <tables>/merged/<metric>.{csv,md,tex} (rows = method x augmentation group, sample std)
and, in the paper's layout (3D/merge_tabs.py: rows = alterations, columns = group x method,
population std, ddof 0), <tables>/merged/paper_layout/<metric>.{csv,md,tex} plus the plain
numbers mean_tab.csv and std_tab.csv; then prints the per-seed tables. The merge is
seqsi.report.tables.merge_tables; the paper's layout pivots the same per-seed values.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loc3d import GROUPS, METHODS, ROW_KEYS, labels
from seqsi.cli import guarded
from seqsi.io import write_csv
from seqsi.report.tables import MissingRunsError, Table, aggregate, merge_tables, read_table, seed_rows, write_table

PAPER_COLUMNS = ("aug", "method", "loss")  # the paper's columns: <group>_<method>_<loss>


def read_seed_tables(folder: Path, metric: str) -> dict[str, Table]:
    """{seed: table} from <folder>/seed<N>/<metric>.csv."""
    return {path.parent.name.removeprefix("seed"): read_table(path, ROW_KEYS, "testset")
            for path in sorted(folder.glob(f"seed*/{metric}.csv"))}


def paper_layout(rows: list[dict], seeds, metric: str, strict: bool, testsets: list) -> Table:
    """The paper's mean_tab layout: rows = alterations, columns = group x method, ddof 0."""
    present = {tuple(r[k] for k in PAPER_COLUMNS) for r in rows}
    columns = [(g, m, loss) for g in GROUPS for m, loss in METHODS if (g, m, loss) in present]
    columns += sorted(present - set(columns))
    return aggregate(rows, "testset", PAPER_COLUMNS, metric, expected_seeds=seeds, strict=strict,
                     row_order=testsets, col_order=columns, labels=labels(), decimals=3, mark_best="row", ddof=0)


def write_paper_csvs(table: Table, out: Path) -> None:
    """mean_tab.csv / std_tab.csv: one row per alteration, one column per <group>_<method>_<loss>."""
    names = {c: "_".join(c) for c in table.columns}
    for stem, value in (("mean_tab", lambda cell: cell.mean), ("std_tab", lambda cell: cell.std)):
        records = [{"alter": table.row_label(r), **{names[c]: round(value(table.cells[(r, c)]), 6)
                                                     for c in table.columns}} for r in table.rows]
        write_csv(out / f"{stem}.csv", records, ["alter", *names.values()])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tables", type=Path, help="folder holding seed<N>/<metric>.csv (generate_res_table.py --out)")
    parser.add_argument("--seeds", nargs="*", help="expected seeds (default: every seed<N> folder found)")
    parser.add_argument("--metric", default="score")
    parser.add_argument("--partial", action="store_true", help="allow missing runs (marked cells)")
    parser.add_argument("--out", type=Path, help="merged table folder (default <tables>/merged)")
    args = parser.parse_args(argv)
    per_seed = read_seed_tables(args.tables, args.metric)
    if not per_seed:
        print(f"error: no seed<N>/{args.metric}.csv under {args.tables}; run generate_res_table.py first",
              file=sys.stderr)
        return 2
    seeds = args.seeds or sorted(per_seed, key=int)
    try:
        table = merge_tables(per_seed, expected_seeds=seeds, strict=not args.partial, drop_unevaluated=True,
                             labels=labels(), decimals=3)
        paper = paper_layout(seed_rows(per_seed), seeds, args.metric, not args.partial, table.columns)
    except MissingRunsError as err:
        print(f"error: cannot merge seeds {', '.join(seeds)}: {err}", file=sys.stderr)
        return 2
    shown = dict.fromkeys(c for t in per_seed.values() for c in t.columns)
    never = [c[0] for c in shown if c not in table.columns]  # e.g. artifact sets without folders
    if never:
        print(f"test sets {', '.join(never)}: no result in any seed (not evaluated); left out of the merged table")
        table.notes.append(f"{', '.join(never)}: not evaluated in any seed (no test/arti_<k>/ folders), left out")
    out = args.out or args.tables / "merged"
    write_table(table, out, args.metric)
    print(f"merged over seeds {', '.join(seeds)} -> {out}\n{table.to_markdown()}")
    paper.notes.extend(table.notes)
    write_table(paper, out / "paper_layout", args.metric)
    write_paper_csvs(paper, out / "paper_layout")
    print(f"\nthe paper's layout (population std) -> {out / 'paper_layout'}\n{paper.to_markdown()}")
    for seed in seeds:
        md = args.tables / f"seed{seed}" / f"{args.metric}.md"
        if md.is_file():
            print(f"\nseed {seed}\n{md.read_text()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
