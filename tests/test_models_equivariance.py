"""Whole networks of every mode keep their promise to 1e-10 in float64; Standard does not."""
import pytest
import torch

from seqsi import build_model
from seqsi.invariance import relative_error
from seqsi.nn import MODE_NAMES, get_mode

CASES = [(0.01, 0.0), (255.0, 0.0), (0.01, 100.0), (3.0, -100.0), (0.5, 7.0)]
NEGATIVE = [(-1.0, 0.0), (-0.01, 100.0), (-255.0, -3.0)]
GUARANTEED = [m for m in MODE_NAMES if get_mode(m).property is not None] + ["affeq_telescopic", "seqsi_telescopic"]


def small(model, mode, dims):
    if model == "cifar_resnet":
        return build_model(model, mode, dims, widths=(4, 8, 8), blocks=(1, 1, 1), dropout=0.2)
    if model == "resnet18":
        return build_model(model, mode, dims, widths=(4, 4, 8, 8), norm="none")
    return build_model(model, mode, dims, widths=(4, 8, 8), blocks=1)


def inputs(model, dims):
    channels = 3 if model == "cifar_resnet" else 1
    size = {1: 20, 2: 14, 3: 9}[dims]
    return torch.rand(2, channels, *([size] * dims), dtype=torch.float64)


def promise_error(model, x, prop, a, b):
    with torch.no_grad():
        return relative_error(model(a * x + b), prop.expected(model(x), a, b))


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("arch", ["cifar_resnet", "resnet18", "drunet"])
@pytest.mark.parametrize("mode", GUARANTEED)
def test_every_mode_keeps_its_promise(mode, arch, dims):
    model = small(arch, mode, dims).double().eval()
    prop = get_mode(mode).property
    x = inputs(arch, dims)
    for a, b in CASES + NEGATIVE:
        if prop.covers(a, b):
            assert promise_error(model, x, prop, a, b) <= 1e-10, (a, b)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("arch", ["cifar_resnet", "drunet"])
def test_standard_breaks_every_promise(arch, dims):
    model = small(arch, "standard", dims).double().eval()
    x = inputs(arch, dims)
    for mode in GUARANTEED:
        prop = get_mode(mode).property
        errors = [promise_error(model, x, prop, a, b) for a, b in CASES if prop.covers(a, b)]
        assert max(errors) > 1e-3, mode


def test_seqsi_is_not_contrast_inversion_invariant_but_seqsi_sym_is():
    x = inputs("cifar_resnet", 2)
    seqsi = small("cifar_resnet", "seqsi", 2).double().eval()
    sym = small("cifar_resnet", "seqsi_sym", 2).double().eval()
    prop = get_mode("seqsi_sym").property
    assert promise_error(seqsi, x, prop, -2.0, 1.0) > 1e-3
    assert promise_error(sym, x, prop, -2.0, 1.0) <= 1e-10


def test_zscore_mode_has_no_nan_on_a_constant_image():
    model = small("cifar_resnet", "zscore", 2).eval()
    for value in (0.0, 0.1, 1e6):
        with torch.no_grad():
            y = model(torch.full((2, 3, 14, 14), value))
        assert torch.isfinite(y).all()
        assert torch.allclose(y[0], y[1])


def test_unet_output_matches_input_size_for_any_shape():
    model = build_model("drunet", "affeq", 2, widths=(4, 8, 8), blocks=1)
    for shape in [(13, 29), (16, 16), (7, 9)]:
        assert model(torch.rand(1, 1, *shape)).shape == (1, 1, *shape)


def test_presets_have_the_papers_widths():
    cifar = build_model("cifar_resnet", "seqsi", 2)
    assert [stage[0].conv1.out_channels for stage in cifar.stages] == [64, 128, 256]
    assert [len(stage) for stage in cifar.stages] == [3, 3, 3]
    assert cifar.head.in_features == 256 and cifar.head.bias is None
    czi = build_model("resnet18", "standard", 3)
    assert [len(s) for s in czi.stages] == [2, 2, 2, 2] and czi.head.out_features == 6
    assert isinstance(czi.stem[1], torch.nn.BatchNorm3d)  # BN only in Standard (norm="auto")
    assert isinstance(build_model("resnet18", "seqsi", 3).stem[1], torch.nn.Identity)
    unet = build_model("drunet", "seqsi", 2)
    assert unet.levels == 3 and len(unet.down[0]) == 5  # 4 residual blocks + down conv per level


def test_unknown_model_and_bad_config():
    with pytest.raises(ValueError, match="unknown model"):
        build_model("vgg", "seqsi", 2)
    with pytest.raises(ValueError, match="bad configuration"):
        build_model("drunet", "seqsi", 2, depth=3)
    with pytest.raises(ValueError, match="dims must be"):
        build_model("drunet", "seqsi", 4)


def test_model_rebuilds_from_its_spec():
    from seqsi.models import model_from_spec

    model = small("drunet", "seqsi_telescopic", 3)
    twin = model_from_spec(model.seqsi_spec)
    twin.load_state_dict(model.state_dict())
    x = torch.rand(1, 1, 8, 8, 8)
    assert torch.equal(model(x), twin(x))
    assert twin.seqsi_mode.name == "seqsi_telescopic"
