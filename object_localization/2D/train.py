#!/usr/bin/env python
"""Train one 2D localization model (DRUNet, a mode and a loss), fit its detection threshold on
the validation images, then score it on the clean and altered test sets (results.csv).

    python train.py --mode seqsi --loss zmse --seed 1                    # paper scale (GPU)
    python prepare_sample.py && python train.py --preset quick --mode standard --loss bce   # CPU, ~20 s
    torchrun --nproc_per_node=4 train.py --mode affeq --loss zmse        # data parallel
"""
from __future__ import annotations

from loc2d import CONFIG
from seqsi.cli import guarded
from seqsi.engine.localization import training_main


def main(argv=None) -> int:
    return training_main(CONFIG, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(guarded(main))
