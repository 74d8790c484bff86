"""The invariance table's "rescaled" logit error undoes what each mode promises (evaluate_invariance.py)."""
import pytest
import torch

from seqsi import build_model
from seqsi.invariance.metrics import compare_logits, invariance_table
from seqsi.properties import AFFINE_EQUIVARIANT, INVARIANT, SEQSI


def test_rescaling_by_hand():
    clean = torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)
    a, b = 0.1, 5.0
    affeq = compare_logits(clean, a * clean + b, a, b, AFFINE_EQUIVARIANT)  # (f - b) / a
    assert affeq["max_abs_err_rescaled"] == pytest.approx(0.0, abs=1e-12)
    assert compare_logits(clean, a * clean + b, a, b, SEQSI)["max_abs_err_rescaled"] == pytest.approx(50.0)  # f / a
    assert compare_logits(clean, a * clean, a, b, SEQSI)["max_abs_err_rescaled"] == pytest.approx(0.0, abs=1e-12)
    assert compare_logits(clean, clean, a, b, INVARIANT)["max_abs_err_rescaled"] == 0.0


def test_affeq_network_rescaled_error_is_rounding_and_standard_is_not():
    torch.manual_seed(0)
    images = torch.rand(4, 3, 8, 8, dtype=torch.float64)
    small = dict(widths=[4, 8, 8], blocks=[1, 1, 1])
    cases = [(0.1, 5.0), (3.0, -2.0)]
    for mode in ("affeq", "affeq_telescopic", "seqsi"):
        rows = invariance_table(build_model("cifar_resnet", mode, **small), images, cases, dtype=torch.float64)
        assert all(r["max_abs_err_rescaled"] < 1e-9 for r in rows), (mode, rows)
        assert max(r["max_abs_err"] for r in rows) > 1e-3  # the raw logits do move
    rows = invariance_table(build_model("cifar_resnet", "standard", **small), images, cases, dtype=torch.float64)
    assert all(r["max_abs_err_rescaled"] > 1e-3 for r in rows)
