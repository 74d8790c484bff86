import pytest
import torch
import torch.nn as nn
import torchvision

from seqsi.convert import convert
from seqsi.invariance import audit
from seqsi.nn import ZeroSumConv


def test_convert_removes_biases_and_norms_and_keeps_the_stem_weights():
    model = torchvision.models.resnet18(num_classes=5)
    converted = convert(model, "seqsi")
    assert model.fc.bias is not None  # the original is left alone
    assert isinstance(converted.conv1, ZeroSumConv) and converted.conv1.padding_mode == "reflect"
    assert converted.conv1.padding == (3, 3) and converted.conv1.stride == (2, 2)
    w = model.conv1.weight.detach()
    expected = w - w.flatten(1).mean(1).view(-1, 1, 1, 1)
    assert torch.allclose(converted.conv1.kernel(), expected, atol=1e-6)
    assert all(getattr(m, "bias", None) is None for m in converted.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in converted.modules())


@pytest.mark.parametrize("mode", ["seq", "seqsi_telescopic", "seqsi_sym", "zscore"])
def test_converted_models_pass_their_audit(mode):
    model = convert(torchvision.models.resnet18(num_classes=3), mode)
    assert audit(model, torch.rand(2, 3, 32, 32)).passed


def test_kept_batchnorm_is_reported():
    model = torchvision.models.resnet18()
    with pytest.raises(ValueError, match="BatchNorm2d.*breaks the guarantee"):
        convert(model, "seqsi", norm="keep")
    with pytest.warns(UserWarning, match="breaks the guarantee"):
        convert(model, "seqsi", norm="keep", strict=False)
    swapped = convert(model, "seqsi", norm="instance")
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in swapped.modules()) == 20


def test_non_homogeneous_activation_is_reported():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.GELU(), nn.Conv2d(4, 2, 3))
    with pytest.raises(ValueError, match="GELU.*positively homogeneous"):
        convert(model, "seqsi")


def test_bad_input():
    with pytest.raises(ValueError, match="has no Conv1d/Conv2d/Conv3d"):
        convert(nn.Sequential(nn.Linear(3, 2)), "seqsi")
    with pytest.raises(ValueError, match="AffEq"):
        convert(torchvision.models.resnet18(), "affeq")
    with pytest.raises(ValueError, match="unknown mode"):
        convert(torchvision.models.resnet18(), "robust")


def test_3d_model_conversion():
    model = nn.Sequential(nn.Conv3d(1, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(), nn.Conv3d(4, 2, 3, padding=1),
                          nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(2, 2))
    converted = convert(model, "seqsi")
    assert audit(converted, torch.rand(2, 1, 8, 8, 8)).passed
    assert not audit(model.eval(), torch.rand(2, 1, 8, 8, 8), "seqsi").passed


def test_norms_without_a_dimension_in_their_name_are_replaced_in_the_models_dims():
    """GroupNorm/LayerNorm do not say 1D/2D/3D: a 3D model gets InstanceNorm3d, not 2d."""
    model = nn.Sequential(nn.Conv3d(1, 4, 3, padding=1), nn.GroupNorm(2, 4), nn.ReLU(), nn.Conv3d(4, 2, 3, padding=1))
    converted = convert(model, "seqsi", norm="instance")
    assert isinstance(converted[1], nn.InstanceNorm3d)
    assert converted(torch.rand(2, 1, 6, 6, 6)).shape == (2, 2, 6, 6, 6)
