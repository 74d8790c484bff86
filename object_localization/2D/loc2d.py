"""What is particular to the 2D experiment: its config, the 8 method columns and their labels."""
from __future__ import annotations

from pathlib import Path

from seqsi.nn import mode_labels
from seqsi.photometric import LOCALIZATION_INVARIANCE_CASES, load_suite

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "configs" / "dsb2018.yaml"
EXPERIMENT = "loc2d"
MODES = ("standard", "seq", "affeq_telescopic", "seqsi_telescopic", "affeq", "seqsi")  # paper presets: telescopic
LOSSES = ("bce", "zmse")
METHODS = [(m, loss) for m in MODES for loss in LOSSES]  # the paper's 8 columns


def labels(suite_name: str = "fluorescence") -> dict[str, str]:
    return {**mode_labels(MODES), "bce": "BCE", "zmse": "ZMSE", "testset": "alteration", "method": "method",
            "loss": "loss", **load_suite(suite_name).titles}


def invariance_cases() -> list[str]:
    return [case.label for case in LOCALIZATION_INVARIANCE_CASES]
