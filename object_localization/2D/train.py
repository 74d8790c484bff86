#!/usr/bin/env python
"""Train one 2D localization model (DRUNet, a mode and a loss), fit its detection threshold on
the validation images, then score it on the clean and altered test sets (results.csv).

    python train.py --mode seqsi --loss zmse --seed 1                    # paper scale (GPU)
    python prepare_sample.py && python train.py --preset quick --mode standard --loss bce   # CPU, ~20 s
    torchrun --nproc_per_node=4 train.py --mode affeq --loss zmse        # data parallel
"""
from __future__ import annotations

import argparse

import torch

from loc2d import CONFIG
from seqsi.cli import guarded
from seqsi.engine.experiment import add_common_arguments, resolve_config
from seqsi.engine.localization import add_training_arguments, run_training_script, training_overrides


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, CONFIG)
    add_training_arguments(parser)
    args = parser.parse_args(argv)
    return run_training_script(args, resolve_config(args, training_overrides(args)))


if __name__ == "__main__":
    torch.set_float32_matmul_precision("high")
    raise SystemExit(guarded(main))
