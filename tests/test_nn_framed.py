"""Sort pooling written inside the next convolution's reflect frame gives F.pad's values exactly."""
import pytest
import torch
import torch.nn.functional as F

from seqsi import build_model
from seqsi.nn import SortPool, SumToOneConv, ZeroSumConv, framed
from seqsi.nn.framed import framed_empty, reflect_padded

SHAPES = [(2, 4, 7), (2, 4, 2), (2, 4, 5, 6), (1, 4, 2, 3), (2, 4, 3, 4, 5), (1, 4, 2, 2, 2)]


def _framed_copy(x: torch.Tensor) -> torch.Tensor:
    out = framed_empty(x)
    out.copy_(x)
    return out


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_frame_fill_equals_reflect_padding_corners_included(shape):
    """Sides of 2 included: there the reflected row is the far row, a wrong offset reads garbage."""
    x = torch.randn(*shape, dtype=torch.float64)
    dims = x.dim() - 2
    padded = reflect_padded(_framed_copy(x), (1,) * dims)
    assert torch.equal(padded, F.pad(x, (1, 1) * dims, mode="reflect"))


def test_only_framed_tensors_and_unit_padding_are_served():
    x = torch.randn(2, 4, 6, 6)
    assert reflect_padded(x, (1, 1)) is None  # an ordinary tensor: the caller pads
    assert reflect_padded(_framed_copy(x), (2, 2)) is None
    assert reflect_padded(_framed_copy(x), (1, 0)) is None


def test_framed_output_reads_as_an_ordinary_tensor():
    x = torch.randn(2, 6, 5, 5, dtype=torch.float64)
    with torch.no_grad():
        plain, inside = SortPool(6)(x), SortPool(6, framed=True)(x)
    assert reflect_padded(plain, (1, 1)) is None and reflect_padded(inside, (1, 1)) is not None
    assert torch.equal(inside, plain) and torch.equal(inside + x, plain + x)  # any other reader sees the values
    # a reduction may add a strided tensor in another order: equal to rounding, not bitwise
    torch.testing.assert_close(inside.sum((2, 3)), plain.sum((2, 3)), rtol=1e-14, atol=1e-14)


def test_autograd_other_devices_and_disabled_runs_take_the_plain_path():
    pool = SortPool(6, framed=True)
    x = torch.randn(2, 6, 5, 5, requires_grad=True)
    assert reflect_padded(pool(x), (1, 1)) is None
    with torch.no_grad():
        assert reflect_padded(pool(torch.randn(2, 6, 1, 5)), (1, 1)) is None  # a side of 1 cannot reflect
        assert reflect_padded(pool(torch.randn(2, 6, 5, 5, device="meta")), (1, 1)) is None  # CPU only
        framed.ENABLED = False
        try:
            assert reflect_padded(pool(x), (1, 1)) is None
        finally:
            framed.ENABLED = True
        assert reflect_padded(pool(x), (1, 1)) is not None


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("padding_mode", ["reflect", "zeros"])
def test_convolution_of_a_framed_input_equals_the_plain_one(dims, padding_mode):
    conv_cls = SumToOneConv if padding_mode == "reflect" else ZeroSumConv
    conv = conv_cls(dims, 6, 4, 3, padding_mode=padding_mode).double()
    x = torch.randn(2, 6, *[5] * dims, dtype=torch.float64)
    with torch.no_grad():
        plain = conv(SortPool(6)(x))
        inside = conv(SortPool(6, framed=True)(x))
    assert torch.equal(inside, plain)


@pytest.mark.parametrize("arch", ["cifar_resnet", "resnet18"])
@pytest.mark.parametrize("dims", [2, 3])
def test_affeq_resnet_output_is_bitwise_unchanged(arch, dims):
    config = dict(widths=(4, 8, 8), blocks=(1, 1, 1)) if arch == "cifar_resnet" else dict(widths=(4, 4, 8, 8))
    model = build_model(arch, "affeq", dims, **config).double().eval()
    assert sum(getattr(m, "framed", False) for m in model.modules()) >= 3  # one per residual block
    x = torch.rand(2, 3 if arch == "cifar_resnet" else 1, *[12] * dims, dtype=torch.float64)
    with torch.no_grad():
        on = model(x)
        framed.ENABLED = False
        try:
            off = model(x)
        finally:
            framed.ENABLED = True
    with torch.inference_mode():
        assert torch.equal(model(x), on)
    assert torch.equal(on, off)
