"""The registry's `affine` flag is a promise: SEqSI keeps its argmax on every corruption
flagged affine, and a Standard network, built the same way, does not."""
import torch

import seqsi
from seqsi.photometric import available_suites, load_suite

SEED = 5


def _model(mode: str, x: torch.Tensor) -> torch.nn.Module:
    """An untrained network whose argmax depends on the image.

    He-normal weights, N(0, 0.1^2) biases. A random ReLU network gives every image
    nearly the same logits (the pooled features share a large common part), so one
    class wins everywhere and no argmax could ever move. A trained classifier is
    balanced over classes; we get that by centring the head's output on the clean
    batch, through the head bias where the mode has one (Standard). SEqSI has no
    bias and its zero-sum stem already removes the common part.
    """
    model = seqsi.build_model("cifar_resnet", mode, dims=2, widths=(8, 16, 16), blocks=(1, 1, 1)).double().eval()
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for p in model.parameters():
            std = (2 / p[0].numel()) ** 0.5 if p.ndim > 1 else 0.1
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * std)
        if model.head.bias is not None:
            model.head.bias -= model(x).mean(0)
    return model


def test_affine_flag_means_seqsi_invariant_and_standard_not():
    flagged = [
        (f"{s}/{k}", c) for s in available_suites() for k, c in load_suite(s).corruptions.items()
        if c.affine and 2 in c.dims
    ]
    assert len(flagged) >= 8, f"too few corruptions flagged affine to test anything: {flagged}"
    g = torch.Generator().manual_seed(SEED)
    x = torch.rand(48, 3, 16, 16, generator=g, dtype=torch.float64)
    models = {mode: _model(mode, x) for mode in ("seqsi", "standard")}
    with torch.no_grad():
        clean = {mode: m(x).argmax(1) for mode, m in models.items()}
        for mode, pred in clean.items():
            assert len(pred.unique()) >= 3, f"{mode} predicts too few classes for the argmax test to mean anything"
        changed_images = 0
        for name, corruption in flagged:
            y, params = corruption(x, SEED)
            for mode, m in models.items():
                mismatch = int((m(y).argmax(1) != clean[mode]).sum())
                if mode == "seqsi":
                    assert mismatch == 0, f"SEqSI argmax moved on {mismatch} images under {name}"
                elif not torch.equal(y, x):
                    changed_images += 1
                    assert mismatch > 0, f"Standard kept every argmax under {name}: the test cannot tell"
        assert changed_images >= 6
