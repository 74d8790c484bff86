"""seqsi export: constrained kernels folded into plain layers, same outputs, same certificate."""
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from seqsi import build_model
from seqsi.cli import main
from seqsi.engine.checkpoint import load_checkpoint, save_checkpoint
from seqsi.export import exact_sum_kernel, export_model, load_export, plain
from seqsi.invariance.audit import audit, randomize_state
from seqsi.nn.constrained import ConstrainedConv, ConstrainedWeight

NETS = {
    "unet2d": ("drunet", 2, dict(widths=[4, 8, 8], blocks=1)),
    "unet3d": ("drunet", 3, dict(widths=[4, 8], blocks=1)),
    "resnet2d": ("resnet", 2, dict(widths=[4, 8], blocks=[1, 1], strides=[1, 2], in_channels=1, num_classes=3)),
    "resnet3d": ("resnet18", 3, dict(widths=[4, 8], blocks=[1, 1], strides=[1, 2])),
}
CASES = ((3.0, 0.0), (3.0, 5.0), (0.01, 100.0), (255.0, -100.0), (-3.0, 5.0))  # scale, shift, sign flip
MODES = ["standard", "seq", "affeq", "seqsi", "zscore", "seqsi_sym", "seqsi_telescopic", "affeq_telescopic"]


def net(key: str, mode: str, seed: int = 1) -> nn.Module:
    name, dims, cfg = NETS[key]
    return randomize_state(build_model(name, mode, dims, **cfg), seed).eval()


def sample(key: str, size: int | None = None, batch: int = 2) -> torch.Tensor:
    dims = NETS[key][1]
    size = size or (13 if dims == 2 else 9)  # not a multiple of 2^levels: the UNet's mean padding runs
    return torch.rand(batch, 1, *([size] * dims), generator=torch.Generator().manual_seed(3))


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / a.abs().max())


def test_exact_sum_kernel_sums_exactly_and_moves_weights_by_a_rounding():
    k = torch.randn(6, 3, 3, 3, dtype=torch.float64)
    for total in (0.0, 1.0):
        target = k - k.flatten(1).mean(1).view(-1, 1, 1, 1) + total / 27
        folded = exact_sum_kernel(target, total)
        assert folded.dtype == torch.float32
        sums = folded.to(torch.float64).flatten(1).sum(1)
        assert torch.equal(sums, torch.full_like(sums, total))  # exactly, not approximately
        ulp = 2.0 ** (torch.frexp(target.abs().flatten(1).amax(1)).exponent - 24)  # float32 ulp of the largest
        moved = (folded.to(torch.float64) - target).flatten(1).abs()
        assert torch.all(moved.sort(1).values[:, :-1] <= ulp[:, None] / 2)  # every entry but the one that
        assert torch.all(moved.amax(1) <= 14 * ulp)                           # absorbs the remainder
    naive = target.to(torch.float32).to(torch.float64).flatten(1).sum(1)
    assert not torch.equal(naive, torch.full_like(naive, 1.0))  # plain rounding would not be exact


@pytest.mark.parametrize("key", list(NETS))
@pytest.mark.parametrize("mode", MODES)
def test_plain_model_equals_original_and_keeps_its_certificate(key, mode):
    model = net(key, mode)
    flat = plain(model)
    assert not any(isinstance(m, (ConstrainedConv, ConstrainedWeight)) for m in flat.modules())
    assert flat.state_dict().keys() == model.state_dict().keys()
    reflect = [m for m in flat.modules() if isinstance(m, nn.modules.conv._ConvNd) and m.padding_mode == "reflect"]
    assert bool(reflect) == model.seqsi_mode.constrained  # the zero-sum / sum-to-one convs keep reflect padding
    x = sample(key)
    with torch.no_grad():
        assert relative(model(x), flat(x)) < 1e-5  # float32 rounding through a deep net
    prop = model.seqsi_mode.property
    report = audit(flat, x.double(), prop if prop is not None else "seqsi", cases=CASES)
    assert report.passed == (prop is not None)  # Standard promises nothing and the audit shows it breaks
    if prop is not None:
        assert report.worst_output_error < 1e-10


@pytest.mark.parametrize("key,mode", [("unet2d", "seqsi"),
                                      pytest.param("unet3d", "affeq_telescopic", marks=pytest.mark.slow),
                                      pytest.param("resnet2d", "seqsi_sym", marks=pytest.mark.slow)])
def test_torchscript_export_runs_without_seqsi_and_equals_the_original(tmp_path, key, mode):
    model = net(key, mode)
    path = export_model(model, "torchscript", tmp_path / "model.ts")
    x = sample(key, size=11 if NETS[key][1] == 2 else 7)
    torch.save(x, tmp_path / "x.pt")
    script = ("import sys; sys.modules['seqsi'] = None\n"  # importing seqsi now fails
              "import torch\n"
              f"m = torch.jit.load({str(path)!r})\n"
              f"torch.save(m(torch.load({str(tmp_path / 'x.pt')!r})), {str(tmp_path / 'y.pt')!r})\n")
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    with torch.no_grad():
        assert relative(model(x), torch.load(tmp_path / "y.pt")) < 1e-5  # float32 rounding through a deep net


def test_certify_accepts_exports_and_a_standard_export_fails(tmp_path, capsys):
    ts = export_model(net("unet2d", "seqsi"), "torchscript", tmp_path / "seqsi.ts")
    sd = export_model(net("unet3d", "affeq"), "state_dict", tmp_path / "affeq.pt")
    std = export_model(net("unet2d", "standard"), "torchscript", tmp_path / "standard.ts")
    assert main(["certify", "--checkpoint", str(ts)]) == 0
    assert "PASS" in capsys.readouterr().out
    assert main(["certify", "--checkpoint", str(sd)]) == 0
    assert main(["certify", "--checkpoint", str(std), "--property", "seqsi"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_export_cli_from_a_checkpoint_and_bad_input(tmp_path, capsys):
    model = net("unet2d", "seqsi")
    save_checkpoint(tmp_path / "best.pt", {"model_spec": model.seqsi_spec, "model": model.state_dict(),
                                           "experiment": "loc2d"})
    out = tmp_path / "exported.pt"
    assert main(["export", str(tmp_path / "best.pt"), "--to", "state_dict", "--out", str(out)]) == 0
    loaded = load_export(out)
    x = sample("unet2d")
    with torch.no_grad():
        assert relative(model(x), loaded(x)) < 1e-5  # float32 rounding through a deep net
    assert main(["export", str(tmp_path / "missing.pt"), "--to", "torchscript", "--out", str(out)]) == 2
    assert "missing.pt" in capsys.readouterr().err
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    assert main(["certify", "--checkpoint", str(tmp_path / "junk.pt")]) == 2


def test_a_torchscript_export_is_named_as_such_where_a_checkpoint_is_expected(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # torch's TorchScript deprecation is not repeated at the user
        path = export_model(net("unet2d", "seqsi"), "torchscript", tmp_path / "nuclei.ts")
        load_export(path)
    with pytest.raises(ValueError, match=r"nuclei\.ts is a TorchScript file .*torch\.jit\.load"):
        load_checkpoint(path)  # torch.load's own message would speak of weights_only and unpickling


@pytest.mark.parametrize("key,mode", [("unet2d", "seqsi"), pytest.param("unet3d", "affeq", marks=pytest.mark.slow),
                                      pytest.param("resnet2d", "zscore", marks=pytest.mark.slow)])
def test_onnx_export_equals_the_original_in_onnxruntime(tmp_path, key, mode):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model = net(key, mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = export_model(model, "onnx", tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path))
    for size, batch in ((16, 3), (8 if NETS[key][1] == 3 else 24, 1)):  # other sizes and batch than the export's example
        x = sample(key, size=size, batch=batch)
        y = session.run(None, {"image": x.numpy()})[0]
        with torch.no_grad():
            assert relative(model(x), torch.from_numpy(np.asarray(y))) < 1e-5  # float32 rounding through a deep net
