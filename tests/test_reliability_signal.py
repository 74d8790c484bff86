"""Issue 14, cases 3 and 13: an image without signal yields no detections in every mode and under
every alteration (decided on the input, tiled volumes too), so the invariance claim holds for
it; a Standard model still fails the ordinary invariance check. Non-finite classifier outputs
are reported and get no class instead of a silent argmax."""
import numpy as np
import pytest
import tifffile
import torch

from seqsi.data.bioimage import write_tiff
from seqsi.data.crops import minmax_unit
from seqsi.data.dsb_sample import sample_files
from seqsi.engine.evaluate import evaluate_classifier
from seqsi.engine.localization import evaluate_localizer, invariance_experiment, tiny_config
from seqsi.logits import NO_CLASS, NonFiniteOutputWarning, classes_of
from seqsi.localization import detect_centres
from seqsi.localization.signal import NO_SIGNAL_FLOOR, has_signal, signal_per_sample
from seqsi.models import build_model
from seqsi.nn import get_mode
from seqsi.photometric import LOCALIZATION_INVARIANCE_CASES, load_suite

# alterations that keep a constant image constant (noise and gamma-free ones; noise gives it signal)
CONSTANT_KEEPING = ["none", "affine", "scale_low", "scale_high", "shift", "affine_saturated", "scale_saturated",
                    "shift_saturated"]


def _model(mode, dims=2):
    torch.manual_seed(0)
    model = build_model("drunet", get_mode(mode), dims, widths=[8, 16, 32], blocks=1)
    with torch.no_grad():  # weights far from zero, so rounding of the stem reaches the output
        for p in model.parameters():
            if p.ndim > 1:
                p.normal_(0, 0.3)
    return model.eval()


def _constant_test_folder(root, shape=(64, 64)):
    mask = np.zeros(shape, np.int32)
    mask[tuple(slice(n // 2 - 5, n // 2 + 5) for n in shape)] = 1
    write_tiff(root / "test" / "images" / "flat.tif", np.full(shape, 700, np.uint16))
    write_tiff(root / "test" / "masks" / "flat.tif", mask)
    return root / "test"


@pytest.mark.parametrize("mode, loss, tiled", [("seqsi", "zmse", False), ("seqsi", "zmse", True),
                                               ("affeq", "zmse", False), ("zscore", "zmse", False),
                                               ("standard", "bce", False)])
def test_constant_image_yields_no_detections_under_every_alteration(tmp_path, mode, loss, tiled):
    test_dir = _constant_test_folder(tmp_path)
    eval_cfg = {**tiny_config(tmp_path)["eval"], "test_sets": CONSTANT_KEEPING + ["noise_high"]}
    if tiled:  # decided on the whole image, before tiling
        eval_cfg.update(max_pixels=1000, tile=32, overlap=8)
    threshold = 1.0 if loss == "zmse" else 0.5
    _, details = evaluate_localizer(_model(mode), loss, threshold, test_dir, eval_cfg, dims=2)
    found = {d["testset"]: d["n_pred"] for d in details}
    assert all(found[name] == 0 for name in CONSTANT_KEEPING), found
    # the noise alterations give the image a signal: those are judged like any image
    assert set(found) == set(CONSTANT_KEEPING) | {"noise_high"}


def test_constant_image_passes_the_invariance_experiment(tmp_path):
    image = np.zeros((64, 64), np.float32)
    result = invariance_experiment(_model("seqsi"), "zmse", 1.0, [{"image": image}], dtype=torch.float32)
    assert set(result.values()) == {1.0}


def test_invariance_claim_on_real_image_and_standard_fails_it():
    image = tifffile.imread(sample_files()[0]).astype(np.float32)[:64, :64]
    items = [{"image": image}]
    seqsi = invariance_experiment(_model("seqsi"), "zmse", 1.0, items, dtype=torch.float64)
    assert set(seqsi.values()) == {1.0}, seqsi
    standard = _model("standard")
    x = torch.from_numpy(minmax_unit(image).astype(np.float64))[None, None]
    found = detect_centres(standard.double()(x)[0, 0].detach().numpy(), "zmse", 1.0)
    assert len(found) > 3  # the ordinary check is not vacuous
    moved = invariance_experiment(standard, "zmse", 1.0, items, dtype=torch.float64)
    assert min(moved.values()) < 0.5


def test_the_rule_gives_the_same_answer_for_x_and_ax_plus_b():
    rng = np.random.default_rng(0)
    flat = np.full((32, 32), 0.37, np.float32)
    real = minmax_unit(rng.random((32, 32)))
    for case in LOCALIZATION_INVARIANCE_CASES:
        for a, b in ((case.a, case.b), (0.01, 100.0), (255.0, -100.0)):
            assert not has_signal(np.float32(a) * flat + np.float32(b))
            assert has_signal(np.float32(a) * real + np.float32(b))
    assert not has_signal(np.zeros(5)) and has_signal(np.array([1.0, 1.0 + 64 * NO_SIGNAL_FLOOR]))
    batch = torch.stack([torch.full((1, 4, 4), 3.0), torch.from_numpy(real[None, :4, :4])])
    assert signal_per_sample(batch).tolist() == [False, True]


def test_classifier_counts_images_without_signal():
    torch.manual_seed(0)
    model = build_model("cifar_resnet", get_mode("seqsi"), 2, in_channels=1, num_classes=10, widths=[4, 4, 4],
                        blocks=[1, 1, 1])
    images = torch.rand(6, 1, 8, 8)
    images[:2] = 0.5
    result = evaluate_classifier(model, images, torch.zeros(6, dtype=torch.long), [("clean", None)])
    assert result["clean"]["no_signal"] == 2 and result["clean"]["nonfinite"] == 0


def test_non_finite_logits_are_reported_not_classified():
    torch.manual_seed(0)
    model = build_model("cifar_resnet", get_mode("seqsi"), 2, in_channels=1, num_classes=10, widths=[16, 32, 64],
                        blocks=[1, 1, 1], init="he").eval()  # He: logits large enough to overflow
    x = torch.rand(8, 1, 8, 8) * 1e38
    with torch.no_grad():
        logits = model(x)
    bad = ~torch.isfinite(logits).all(1)
    assert bad.any() and not bad.all()
    labels = logits.argmax(1)  # what a silent argmax would call correct
    with pytest.warns(NonFiniteOutputWarning, match=rf"'huge': {int(bad.sum())} of 8 sample\(s\) gave non-finite"):
        result = evaluate_classifier(model, x, labels, [("huge", None)])["huge"]
    assert result["nonfinite"] == int(bad.sum())
    assert result["accuracy"] == pytest.approx(1 - bad.double().mean().item())
    classes, count = classes_of(logits)
    assert count == int(bad.sum()) and (classes[bad] == NO_CLASS).all() and (classes[~bad] == labels[~bad]).all()
