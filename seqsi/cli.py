"""`seqsi` command line. Each subcommand lives in its own module of seqsi.commands, which
provides `add_arguments(parser)` and `run(args) -> int`; it is imported only when used.
Bad input (ValueError, OSError) prints one line and exits 2; SEQSI_DEBUG=1 shows the traceback."""
from __future__ import annotations

import argparse
import importlib
import sys

from .commands import guarded

__all__ = ["COMMANDS", "guarded", "main"]

# name -> (module, one-line help)
COMMANDS = {
    "certify": ("seqsi.commands.certify", "audit a model layer by layer for its photometric guarantee"),
    "gallery": ("seqsi.commands.gallery", "PNG of an image or volume under every corruption of a suite"),
    "demo": ("seqsi.commands.demo", "the paper's comparison in miniature on embedded real data"),
    "export": ("seqsi.commands.export", "export a trained model as a plain state_dict, TorchScript or ONNX file"),
    "models": ("seqsi.commands.models", "list the shipped pretrained models"),
    "predict": ("seqsi.commands.predict", "detect objects in (or classify) your own images with a trained or shipped model"),
    "invariance": ("seqsi.commands.invariance", "do detections move under a*x + b? any run, your own images"),
    "split-volume": ("seqsi.commands.split_volume", "cut one labelled volume into train/val/test blocks"),
    "sweep": ("seqsi.commands.sweep", "plan and run an experiment's run matrix, locally in parallel or as a SLURM array"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="seqsi", description="Photometrically robust neural networks (SEqSI).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        args = parser.parse_args(argv[:1] or ["-h"])  # prints help or the unknown-command error
        return 2
    module_name, help_text = COMMANDS[argv[0]]
    module = importlib.import_module(module_name)
    cmd = argparse.ArgumentParser(prog=f"seqsi {argv[0]}", description=help_text)
    module.add_arguments(cmd)
    args = cmd.parse_args(argv[1:])
    return guarded(module.run, args, prefix=f"seqsi {argv[0]}: error")


if __name__ == "__main__":
    raise SystemExit(main())
