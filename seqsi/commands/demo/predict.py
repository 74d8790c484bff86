"""The demo's last step: `seqsi predict` with the shipped nuclei2d model on the embedded real
DSB2018 image, scored against its mask (a model trained only on synthetic nuclei)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from ...data.bioimage import read_mask
from ...io import read_csv
from ...localization import accuracy_curve, label_centres, localization_score
from ...prediction import shipped
from ...prediction.files import predict_files


def run(out: Path) -> str:
    """Write `<out>/predict/` and return the report's Markdown section ('' without shipped weights)."""
    if "nuclei2d" not in shipped():
        return ""
    with resources.as_file(resources.files("seqsi") / "data" / "embedded" / "dsb2018_sample") as folder:
        folder = Path(folder)
        target = out / "predict"
        predict_files("nuclei2d", [str(folder / "image.tif")], target, progress=False)  # = seqsi predict --quiet
        truth = label_centres(read_mask(folder / "mask.tif"))
    rows = read_csv(target / "image.csv")
    found = np.array([[int(r["axis-0"]), int(r["axis-1"])] for r in rows]).reshape(-1, 2)
    score, recall = localization_score(found, truth, 12), float(accuracy_curve(found, truth, 12)[-1])
    return ("## Detect objects in your own images\n\n"
            "`seqsi predict nuclei2d image.tif --out predict/` with the shipped 2D nuclei detector (SEqSI + ZMSE, "
            "trained on synthetic nuclei only) on the embedded DSB2018 image: "
            f"{len(found)} detections for {len(truth)} annotated nuclei, localization score {score:.3f}, "
            f"{recall:.1%} matched within 12 px.\n\n![detections](predict/image.png)\n")
