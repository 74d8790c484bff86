"""What is particular to the 3D experiment: its config, the 4 methods, the augmentation groups."""
from __future__ import annotations

from pathlib import Path

from seqsi.data.fluorescence import ARTIFACT_LEVELS
from seqsi.data.bioimage import artifact_folder_name
from seqsi.nn import get_mode, mode_labels
from seqsi.photometric import load_suite

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "configs" / "fluo3d.yaml"
EXPERIMENT = "loc3d"
# (mode, paper loss); the paper presets train the telescopic variants (model.reparam), avg runs tabulate too
METHODS = [(m, get_mode(m).default_loss) for m in ("standard", "seq", "affeq_telescopic", "seqsi_telescopic",
                                                     "affeq", "seqsi")]
GROUPS = ("none", "Aff", "Naff", "All")
ROW_KEYS = ("method", "loss", "aug")


def labels(suite_name: str = "fluorescence") -> dict[str, str]:
    return {**mode_labels(m for m, _ in METHODS), "bce": "BCE", "zmse": "ZMSE", "aug": "augmentation",
            **load_suite(suite_name).titles}


def column_order(suite_name: str = "fluorescence") -> list[tuple[str]]:
    """The suite's alterations, then the artifact sets, in the paper's order."""
    columns = load_suite(suite_name).test_set_names()
    return [(c,) for c in columns + [artifact_folder_name(k) for k in ARTIFACT_LEVELS]]


def row_order() -> list[tuple[str, str, str]]:
    return [(m, loss, g) for m, loss in METHODS for g in GROUPS]
