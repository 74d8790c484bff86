"""`seqsi export CHECKPOINT --to state_dict|torchscript|onnx --out FILE`: a trained model as
plain PyTorch (seqsi.export folds the constrained kernels)."""
from __future__ import annotations

import argparse

from ..export import TARGETS, export_model
from ..prediction.zoo import load_any_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a training checkpoint (best.pt), a run folder or a shipped model's name")
    parser.add_argument("--to", required=True, choices=TARGETS, help="state_dict, torchscript or onnx")
    parser.add_argument("--out", required=True, help="the file to write")


def run(args: argparse.Namespace) -> int:
    model = load_any_model(args.checkpoint).model
    path = export_model(model, args.to, args.out)
    print(f"wrote {path} ({args.to}, {path.stat().st_size / 1e6:.2f} MB): {model.seqsi_spec['name']} "
          f"{model.seqsi_mode.name} {model.seqsi_spec['dims']}D, constrained kernels folded into plain convolutions")
    return 0
