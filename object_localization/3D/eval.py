#!/usr/bin/env python
"""Score trained 3D runs against ground truth on every alteration of the paper's 3D protocol and on the
bright-artifact sets (test/arti_<k>/), MAX_DIST 6.

Each run is rebuilt from its best.pt with its fitted threshold (threshold.json). Altered
volumes come from a fixed seed, so every model sees the same ones. Volumes with more than
eval.max_pixels voxels are predicted in tiles (exact receptive-field overlap by default).
Writes results.csv and per_image.csv in each run folder and, for the first test volume (or
--overlay names), orthogonal max projections with detected and ground-truth centres under
<run>/overlays/<test set>/<volume>.png.

    python eval.py runs/loc3d
    python eval.py runs/loc3d/seqsi-zmse/none/seed1 --data_path my_volumes --artifact_masks clean
    python eval.py runs/loc3d --dtype float64 --max_pixels 1000000 --tile 64 --overlap 32
"""
from __future__ import annotations

from loc3d import EXPERIMENT
from seqsi.cli import guarded
from seqsi.engine.localization import evaluation_main


def main(argv=None) -> int:
    return evaluation_main(__doc__, argv, EXPERIMENT)


if __name__ == "__main__":
    raise SystemExit(guarded(main))
