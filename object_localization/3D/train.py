#!/usr/bin/env python
"""Train one 3D localization model (the UNet in 3D, one method, one augmentation group), fit
its detection threshold on the validation volumes, then score it on every alteration and
artifact set of the test folder (results.csv).

    python train.py --mode seqsi --aug Aff --seed 1                      # paper scale (GPU)
    python generate_synthetic.py --out data/fluo3d_quick --preset quick
    python train.py --preset quick --mode standard                        # CPU, about a minute
    python train.py --data_path my_volumes --mode seqsi --set data.spacing=[0.5,0.1,0.1]
    torchrun --nproc_per_node=4 train.py --mode affeq --aug All          # data parallel

The loss defaults to the mode's paper loss (standard/seq: BCE, affeq/seqsi: ZMSE).
"""
from __future__ import annotations

import argparse

import torch

from loc3d import CONFIG
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
