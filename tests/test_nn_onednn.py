"""3D convolutions that torch's CPU size rule keeps off oneDNN are sent there (seqsi/nn/onednn.py).

The profiler names the kernel each call ran, so these tests check the dispatch itself, and
that the outputs are those of torch's call (to float32 rounding), in inference only.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from seqsi import build_model
from seqsi.export import plain
from seqsi.nn import onednn

pytestmark = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="torch built without oneDNN")

MISSED = (1, 32, 12, 12, 12)  # N*C*D*H = 4608 <= 20480 < N*C*D*H*W = 55296


def kernels(fn) -> set[str]:
    """The aten convolution kernels `fn` ran."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return {e.key for e in prof.key_averages() if "conv" in e.key}


def volume(shape, seed=0, dtype=torch.float32):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_a_volume_torch_keeps_off_onednn_runs_there_with_the_same_output():
    x, w, b = volume(MISSED), volume((16, 32, 3, 3, 3), 1) / 10, volume((16,), 2)
    ours = lambda: onednn.conv3d(x, w, b, (1, 1, 1), (1, 1, 1), (1, 1, 1), 1)  # noqa: E731
    theirs = lambda: F.conv3d(x, w, b, 1, 1)  # noqa: E731
    with torch.no_grad():
        assert "aten::mkldnn_convolution" in kernels(ours)
        assert "aten::mkldnn_convolution" not in kernels(theirs)  # torch's rule misses it (else this is obsolete)
        torch.testing.assert_close(ours(), theirs(), rtol=1e-5, atol=1e-5)
        assert not torch.equal(ours(), theirs())  # a different kernel really ran: different rounding


@pytest.mark.parametrize("case", ["small", "batch", "float64", "2d", "1x1", "grad", "weight grad", "groups"])
def test_everything_else_is_left_to_torch(case):
    shape, w, groups, dtype = MISSED, (16, 32, 3, 3, 3), 1, torch.float32
    if case == "small":
        shape = (1, 1, 12, 12, 12)  # 1728 elements in all: torch's rule is right that its own kernel serves
        w = (16, 1, 3, 3, 3)
    elif case == "batch":
        shape = (2, 32, 12, 12, 12)  # torch takes oneDNN itself
    elif case == "float64":
        dtype = torch.float64
    elif case == "2d":
        shape, w = (1, 32, 12, 12), (16, 32, 3, 3)
    elif case == "1x1":
        w = (16, 32, 1, 1, 1)
    elif case == "groups":
        w, groups = (16, 16, 3, 3, 3), 2
    x, weight = volume(shape, dtype=dtype), volume(w, 1, dtype)
    if case in ("grad", "weight grad"):
        (x if case == "grad" else weight).requires_grad_(True)  # a network's input, or its first layer in training
    assert not onednn.missed_by_torch(x, weight, groups)
    if case in ("grad", "weight grad"):
        with torch.no_grad():
            assert onednn.missed_by_torch(x, weight, groups)  # the same call outside autograd is served


@pytest.mark.parametrize("padding_mode", ["reflect", "replicate", "circular"])
def test_other_padding_modes_pad_as_torch_and_then_take_the_same_dispatch(padding_mode):
    torch.manual_seed(0)
    ours = onednn.Conv3d(32, 16, 3, padding=1, padding_mode=padding_mode).eval()
    theirs = torch.nn.Conv3d(32, 16, 3, padding=1, padding_mode=padding_mode).eval()
    theirs.load_state_dict(ours.state_dict())
    x = volume((1, 32, 10, 10, 10))  # padded to 12³: N*C*D*H = 4608 <= 20480 < 55296
    with torch.no_grad():
        assert "aten::mkldnn_convolution" in kernels(lambda: ours(x))
        assert "aten::mkldnn_convolution" not in kernels(lambda: theirs(x))
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)
    same = onednn.Conv3d(32, 16, 3, padding="same", padding_mode=padding_mode)
    with torch.no_grad():  # a padding given as a string keeps nn.Conv3d's own path
        torch.testing.assert_close(same(x), F.conv3d(F.pad(x, (1,) * 6, mode=padding_mode), same.weight, same.bias))


def test_models_are_built_of_it_in_3d_and_keep_torchs_state_dict_and_outputs():
    torch.manual_seed(0)
    model = build_model("drunet", "standard", 3, widths=(32, 64), blocks=1).eval()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv3d)]
    assert convs and all(type(m) is onednn.Conv3d for m in convs)
    reference = plain(model)  # torch's classes throughout
    assert not any(type(m) is onednn.Conv3d for m in reference.modules())
    assert reference.state_dict().keys() == model.state_dict().keys()
    x = volume((1, 1, 16, 16, 16), 3)
    with torch.no_grad():
        assert "aten::mkldnn_convolution" in kernels(lambda: model(x))
        torch.testing.assert_close(model(x), reference(x), rtol=1e-4, atol=1e-5)
    model2d = build_model("drunet", "standard", 2, widths=(8, 16), blocks=1)
    assert {type(m) for m in model2d.modules() if isinstance(m, torch.nn.modules.conv._ConvNd)} <= {
        torch.nn.Conv2d, torch.nn.ConvTranspose2d}  # 2D: torch's rule already counts every dim


def test_training_keeps_torchs_kernel():
    torch.manual_seed(0)
    model = build_model("drunet", "affeq_telescopic", 3, widths=(32, 64), blocks=1).train()
    x = volume((1, 1, 16, 16, 16), 4).requires_grad_(True)
    assert "aten::mkldnn_convolution" not in kernels(lambda: model(x).sum().backward())


def test_affeq_3d_stays_equivariant_through_it_and_standard_does_not():
    """f(a x + b) = a f(x) + b for AffEq with the new dispatch; Standard fails the same check."""
    x, a, b = volume((1, 1, 16, 16, 16), 5), 2.5, 3.0
    for mode, holds in (("affeq_telescopic", True), ("standard", False)):
        torch.manual_seed(0)
        model = build_model("drunet", mode, 3, widths=(32, 64), blocks=1).eval()
        with torch.no_grad():
            assert "aten::mkldnn_convolution" in kernels(lambda: model(x))
            err = ((model(a * x + b) - (a * model(x) + b)).abs().max() / model(x).abs().max()).item()
        assert (err < 1e-4) == holds, (mode, err)
