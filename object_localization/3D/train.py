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

from loc3d import CONFIG
from seqsi.cli import guarded
from seqsi.engine.localization import training_main


def main(argv=None) -> int:
    return training_main(CONFIG, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(guarded(main))
