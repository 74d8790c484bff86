"""The `seqsi` subcommands, one module each, above the whole library: `add_arguments(parser)`
declares the flags and `run(args) -> int` turns them into library calls and prints the
outcome. `seqsi.cli` imports a command only when it is used.

`guarded` is the one rule for bad input, shared by the commands and the experiment scripts:
a ValueError or OSError prints one line and exits 2 (SEQSI_DEBUG=1 shows the traceback)."""
from __future__ import annotations

import os
import sys


def guarded(fn, *args, prefix: str = "error") -> int:
    """Run fn(*args); bad input (ValueError, OSError) prints one line and returns 2."""
    try:
        return int(fn(*args) or 0)
    except (ValueError, OSError) as err:
        if os.environ.get("SEQSI_DEBUG"):
            raise
        print(f"{prefix}: {err}", file=sys.stderr)
        return 2
