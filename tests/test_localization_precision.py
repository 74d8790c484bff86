"""Inference precision of the localization presets follows the paper's code: its 3D testing.py and
artifacts_exp.py run the model in float64 (TORCH_PRECISION), its 3D threshold fit (training.py,
optimize_th.py) and its whole 2D pipeline in torch's default float32."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from seqsi.engine.config import load_config
from seqsi.engine.localization import fit_run_threshold, tiny_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"3D": ROOT / "object_localization/3D/configs/fluo3d.yaml",
           "2D": ROOT / "object_localization/2D/configs/dsb2018.yaml"}


def _precisions(folder, preset=None):
    cfg = load_config(CONFIGS[folder], preset)
    return cfg["threshold"].get("dtype") or cfg["eval"]["dtype"], cfg["eval"]["dtype"], cfg["invariance"]["dtype"]


@pytest.mark.parametrize("folder, preset, fit, test", [
    ("3D", None, "float32", "float64"),  # the paper's 3D: fit in float32, test sets in float64
    ("3D", "quick", "float32", "float32"),  # the CPU preset keeps float32 (its config says why)
    ("2D", None, "float32", "float32"),  # the paper's 2D testing.py: float32
])
def test_presets_fit_and_test_in_the_papers_precision(folder, preset, fit, test):
    assert _precisions(folder, preset) == (fit, test, "float64")  # the invariance experiment: always float64


class DtypeRecorder(nn.Module):
    """The identity map (the image is its own score map), noting the precision it runs in.

    The note goes to the class, not the instance: the fit runs a deep copy of the model."""

    seen: list[torch.dtype] = []

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(()))

    def forward(self, x):
        DtypeRecorder.seen.append(x.dtype)
        return x * self.gain


def _fit(threshold_dtype, eval_dtype):
    """Fit on one image of two blobs; returns (the fit, the precisions the network ran in)."""
    yy, xx = np.mgrid[:32, :32]
    centres = np.array([[8.0, 8.0], [20.0, 24.0]])
    image = sum(np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / 8.0) for y, x in centres)
    config = tiny_config("unused", dims=2)
    config["eval"]["dtype"] = eval_dtype
    if threshold_dtype is not None:
        config["threshold"]["dtype"] = threshold_dtype
    model = DtypeRecorder()
    DtypeRecorder.seen = []
    fitted = fit_run_threshold(model, "zmse", [{"image": image, "centres": centres, "name": "blobs"}], config)
    assert model.gain.dtype == torch.float32  # the caller's model is left as it is
    return fitted, DtypeRecorder.seen


def test_threshold_fit_runs_in_threshold_dtype_else_in_eval_dtype():
    fitted, seen = _fit("float32", "float64")
    assert seen == [torch.float32] and fitted["val_score"] == 1.0  # both blobs found at their centres
    assert _fit("float64", "float32")[1] == [torch.float64]
    # runs saved before threshold.dtype existed fitted in eval.dtype, and still do
    assert _fit(None, "float64")[1] == [torch.float64]
