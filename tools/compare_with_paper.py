"""Compare this project with a checkout of the paper's repository, on equal weights and inputs.

    python tools/compare_with_paper.py --paper-repo ../shared/seed-code [--suite cifar10 ...]

Not part of the test suite: it imports the paper's files from --paper-repo at run time (see
tools/paper_compare/paper_import.py) and prints one Markdown row per check. Exit 1 if any differs.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SUITES = {  # suite -> module in tools/paper_compare that defines run(paper_repo) -> list[Check]
    "cifar10": "tools.paper_compare.cifar10",
    "czi": "tools.paper_compare.czi",
    "loc2d": "tools.paper_compare.localization",
    "loc3d": "tools.paper_compare.localization",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper-repo", required=True, type=Path,
                        help="checkout of the paper's repository (e.g. ../shared/seed-code)")
    parser.add_argument("--suite", nargs="*", choices=sorted(SUITES), default=sorted(SUITES))
    args = parser.parse_args(argv)
    if not args.paper_repo.is_dir():
        parser.error(f"--paper-repo {args.paper_repo}: not a folder")
    print("| suite | check | max abs diff | result | detail |\n|---|---|---|---|---|")
    failures = 0
    for module_name in dict.fromkeys(SUITES[s] for s in args.suite):
        module = importlib.import_module(module_name)
        for check in module.run(args.paper_repo, suites=set(args.suite)):
            print(check.row(), flush=True)
            failures += not check.ok
    print(f"\n{failures} check(s) differ" if failures else "\nall checks equal")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
