#!/usr/bin/env python
"""Score trained runs against ground truth on the clean and every altered test set.

Each run is rebuilt from its best.pt, with the threshold fitted after training
(threshold.json). Altered images are generated from a fixed seed, so every model sees the
same ones. Writes results.csv and per_image.csv in each run folder, and overlays of
detected and ground-truth centres under <run>/overlays/<test set>/<image>.png.

    python eval.py runs/loc2d                                   # every run below a folder
    python eval.py runs/loc2d/seqsi-zmse/none/seed1 --overlay test_0 --overlay_sets none shift noise_high
"""
from __future__ import annotations

from loc2d import EXPERIMENT
from seqsi.cli import guarded
from seqsi.engine.localization import evaluation_main


def main(argv=None) -> int:
    return evaluation_main(__doc__, argv, EXPERIMENT)


if __name__ == "__main__":
    raise SystemExit(guarded(main))
