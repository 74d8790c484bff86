import pytest
import torch
import torchvision

from seqsi import build_model
from seqsi.cli import main
from seqsi.convert import convert
from seqsi.invariance import audit


def tiny_resnet(mode, **kw):
    return build_model("cifar_resnet", mode, 2, widths=(8, 16, 16), blocks=(1, 1, 1), **kw)


def test_audit_names_batchnorm_in_a_seqsi_resnet_and_passes_without_norm():
    x = torch.rand(2, 3, 16, 16)
    with_bn = tiny_resnet("seqsi", norm="batch")
    with_bn.train()
    with torch.no_grad():
        for _ in range(3):  # running statistics away from their identity initialisation
            with_bn(3 * torch.rand(8, 3, 16, 16) + 1)
    report = audit(with_bn, x)
    assert not report.passed
    assert report.first_break.name == "stem.1" and report.first_break.kind == "BatchNorm2d"
    assert "BatchNorm" in report.reason
    assert "BREAKS" in report.table()

    clean = audit(tiny_resnet("seqsi"), x)
    assert clean.passed and clean.first_break is None and clean.worst_output_error <= 1e-10


def test_convert_torchvision_resnet18_passes_and_the_original_fails():
    original = torchvision.models.resnet18(num_classes=10)
    x = torch.rand(2, 3, 40, 40)
    failing = audit(original, x, "seqsi")
    assert not failing.passed and failing.first_break.name == "conv1"
    converted = convert(original, "seqsi")
    report = audit(converted, x)
    assert report.passed, report.table()
    assert report.modules[0].relation == "a h"  # the zero-sum stem already removed the shift


def test_audit_of_standard_breaks_at_the_stem():
    report = audit(tiny_resnet("standard"), torch.rand(2, 3, 16, 16), "seqsi")
    assert not report.passed
    assert report.first_break.name == "stem.0" and "bias" in report.reason


def test_audit_checks_each_mode_against_its_own_property():
    x = torch.rand(2, 3, 16, 16)
    for mode in ("seq", "affeq", "seqsi", "zscore", "seqsi_sym"):
        assert audit(tiny_resnet(mode), x).passed, mode
    # a SEq network is scale-equivariant but not shift-invariant
    assert not audit(tiny_resnet("seq"), x, "seqsi").passed


def test_audit_rejects_bad_input():
    model = tiny_resnet("seqsi")
    with pytest.raises(ValueError, match="NaN or inf"):
        audit(model, torch.tensor([[[[float("nan")]]]]).expand(1, 3, 8, 8).clone())
    with pytest.raises(ValueError, match="pass property"):
        audit(torchvision.models.resnet18(), torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="unknown property"):
        audit(model, torch.rand(1, 3, 8, 8), "mostly-invariant")


def test_audit_does_not_modify_the_model():
    model = tiny_resnet("seqsi")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    audit(model, torch.rand(1, 3, 8, 8))
    assert model.training and all(v.dtype == torch.float32 for v in model.state_dict().values())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_certify_cli_exit_codes(capsys):
    assert main(["certify", "--mode", "seqsi", "--dims", "3", "--network", "resnet18", "--set", "widths=[4,4,4,4]"]) == 0
    assert "PASS" in capsys.readouterr().out
    assert main(["certify", "--mode", "standard", "--property", "seqsi", "--set", "widths=[4,4,4]"]) == 1
    assert "FAIL" in capsys.readouterr().out
    assert main(["certify", "--mode", "seqsi", "--norm", "weird"]) == 2
    assert "norm must be one of" in capsys.readouterr().err
    assert main(["certify", "--mode", "seqsi", "--set", "widths=[4,4,4]", "--set", "negative_slope=1e-2"]) == 0
    capsys.readouterr()
    # --model names the mode in every train.py, so certify's former --model (the network) is refused
    with pytest.raises(SystemExit) as stop:
        main(["certify", "--model", "resnet18"])
    assert stop.value.code == 2 and "--network resnet18" in capsys.readouterr().err


def test_certify_judges_the_architecture_for_any_weights(capsys):
    # a fresh BatchNorm is the identity map, so only random statistics reveal that it breaks SEqSI
    args = ["certify", "--mode", "seqsi", "--norm", "batch", "--set", "widths=[4,8,8]"]
    assert main(args + ["--keep_init"]) == 0
    capsys.readouterr()
    assert main(args) == 1
    assert "first broken at 'stem.1' (BatchNorm2d)" in capsys.readouterr().out


def test_randomize_state_leaves_guaranteed_modes_certified():
    from seqsi.invariance import randomize_state

    x = torch.rand(2, 3, 16, 16)
    for mode in ("seqsi", "affeq", "zscore"):
        assert audit(randomize_state(tiny_resnet(mode), seed=1), x).passed, mode
    standard = randomize_state(tiny_resnet("standard"))
    assert all(m.bias.abs().sum() > 0 for m in standard.modules() if isinstance(m, torch.nn.Conv2d))
