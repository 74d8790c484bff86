"""`seqsi certify`: build (or load) a model and print its layer-by-layer audit.

A freshly built model is certified with random biases and normalisation statistics
(`randomize_state`): the architecture must keep its promise for any weights.

Exits 0 when the promised property holds and 1 when it does not, so it can gate CI.
"""
from __future__ import annotations

import argparse

import torch

from ..engine.checkpoint import load_model
from ..engine.config import parse_value
from ..export import is_export, load_export
from ..invariance.audit import audit, randomize_state
from ..models import build_model, input_channels
from ..nn.modes import get_mode


def _key_value(text: str) -> tuple[str, object]:
    """One `--set KEY=VALUE` (a YAML value); bad text is a one-line error naming the key."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set expects KEY=VALUE (e.g. widths=[8,16,16]); got {text!r}")
    return key.strip(), parse_value(key.strip(), value)


class _RenamedFlag(argparse.Action):
    """`--model` names the mode in every train.py (the paper's flag); here it once named the network."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"{option_string} is now --network here ({option_string} {values} -> --network {values}); "
                     "the mode is --mode")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--network", default="resnet", help="registered network (resnet, resnet18, drunet, ...)")
    parser.add_argument("--model", action=_RenamedFlag, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="seqsi", help="network mode (standard, seq, affeq, seqsi, zscore, seqsi_sym, ...)")
    parser.add_argument("--dims", type=int, default=2, help="spatial dimensions: 1, 2 or 3")
    parser.add_argument("--norm", default=None, help="normalisation (none, batch, instance, layer, group, mix)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a model argument, e.g. --set widths=[8,16,16]")
    parser.add_argument("--checkpoint", help="certify a trained checkpoint, or a `seqsi export` state_dict or "
                             "TorchScript file, instead of a freshly built model")
    parser.add_argument("--property", help="property to check (default: the mode's own guarantee)")
    parser.add_argument("--size", type=int, default=None, help="input side length (default 32 in 1D/2D, 16 in 3D)")
    parser.add_argument("--batch", type=int, default=2, help="number of random input samples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--tolerance", type=float, default=None, help="relative error bound (default 1e-8 in float64)")
    parser.add_argument("--all", action="store_true", help="list every module, not only those with parameters")
    parser.add_argument("--keep_init", action="store_true",
                        help="certify a fresh model with its initial weights (default: random biases and norm "
                             "statistics, since the guarantee must hold for any weights)")


def run(args: argparse.Namespace) -> int:
    if args.checkpoint:
        model = load_export(args.checkpoint) if is_export(args.checkpoint) else load_model(args.checkpoint)
        dims = model.seqsi_spec["dims"]
    else:
        config = dict(_key_value(text) for text in args.overrides)
        if args.norm is not None:
            config["norm"] = args.norm
        model = build_model(args.network, get_mode(args.mode), args.dims, **config)
        dims = args.dims
        if not args.keep_init:
            randomize_state(model, args.seed)
    mode = model.seqsi_mode
    prop = args.property or mode.property
    if prop is None:
        print(f"mode {mode.name!r} promises no photometric property; pass --property to test one "
              "(invariant, scale-equivariant, affine-equivariant, seqsi, sign-seqsi)")
        return 1
    size = args.size or (16 if dims == 3 else 32)
    generator = torch.Generator().manual_seed(args.seed)
    x = torch.rand(args.batch, input_channels(model), *([size] * dims), generator=generator, dtype=torch.float64)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    report = audit(model, x, prop, dtype=dtype, tolerance=args.tolerance)
    print(f"model {model.seqsi_spec['name']}  mode {mode.name}  dims {dims}  input {tuple(x.shape)}  {args.dtype}")
    print(report.table(all_modules=args.all))
    return 0 if report.passed else 1
