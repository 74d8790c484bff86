"""Initialisation: PyTorch's default (the paper's, in every paper preset) or He (model.init: he)."""
import math
from pathlib import Path

import pytest
import torch
import yaml

from seqsi import build_model
from seqsi.nn.constrained import ConstrainedConv

ROOT = Path(__file__).resolve().parents[1]
PAPER_CONFIGS = ["classification/cifar10/configs/cifar10.yaml", "classification/czi/configs/czi.yaml",
                 "object_localization/2D/configs/dsb2018.yaml", "object_localization/3D/configs/fluo3d.yaml"]


def convs(model):
    return [m for m in model.modules() if isinstance(m, (torch.nn.modules.conv._ConvNd, ConstrainedConv))]


def fan_in(weight):
    return weight[0].numel()


@pytest.mark.parametrize("mode", ["standard", "seqsi", "affeq_telescopic"])
def test_default_is_pytorchs_kaiming_uniform(mode):
    torch.manual_seed(0)
    model = build_model("cifar_resnet", mode, widths=[32, 64, 64], blocks=[2, 1, 1])
    for conv in convs(model):
        w = conv.weight.detach()
        bound = 1 / math.sqrt(fan_in(w))  # kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        assert w.abs().max() <= bound
        if w.numel() >= 2000:
            assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.06)


def test_he_init_has_std_sqrt_2_over_fan_in_and_scaled_branch_ends():
    torch.manual_seed(0)
    model = build_model("cifar_resnet", "seqsi", widths=[32, 64, 64], blocks=[2, 1, 1], init="he")
    branch_ends = {id(m.conv2) for m in model.modules() if hasattr(m, "conv2")}
    assert len(branch_ends) == 4
    for conv in convs(model):
        w = conv.weight.detach()
        he = math.sqrt(2 / fan_in(w))
        expected = he / 2 if id(conv) in branch_ends else he  # 1/sqrt(4 residual blocks)
        if w.numel() >= 2000:
            assert w.std().item() == pytest.approx(expected, rel=0.06)
    assert max(conv.weight.abs().max() * math.sqrt(fan_in(conv.weight)) for conv in convs(model)) > 1.5  # not uniform


def test_init_reaches_every_model_and_bad_names_are_refused():
    torch.manual_seed(0)
    default = build_model("drunet", "seqsi", widths=[8, 16], blocks=1)
    he = build_model("drunet", "seqsi", widths=[8, 16], blocks=1, init="he")
    w_default, w_he = default.head.weight, he.head.weight
    assert w_default.abs().max() <= 1 / math.sqrt(fan_in(w_default)) < w_he.abs().max()
    with pytest.raises(ValueError, match="model.init must be one of"):
        build_model("cifar_resnet", "seqsi", init="xavier")


@pytest.mark.parametrize("path", PAPER_CONFIGS)
def test_paper_presets_use_pytorchs_default(path):
    config = yaml.safe_load((ROOT / path).read_text())
    assert config["model"]["init"] == "default"
