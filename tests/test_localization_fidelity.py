"""The localization protocol of the paper's code (issue 13): hand-computed values for each rule."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from seqsi.data.bioimage import BioimageDataset, write_tiff
from seqsi.data.crops import ObjectCrops
from seqsi.engine.config import load_config
from seqsi.engine.localization import (ValidationCrops, altered_validation_images, method_names, reference_centres,
                                       set_metrics, score_detections)
from seqsi.localization import (accuracy_curve, biased_label_centres, find_peaks, get_loss, grid_search_min,
                                label_centres,
                                local_maxima, set_accuracy_curve, set_localization_score)
from seqsi.models import build_model
from seqsi.nn import AffineSum, ConvexSum
from seqsi.photometric import training_augmentation

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- set-level curve

def _four_images():
    """max_dist 2. A: 4 refs found exactly; B: 1 ref found 1.5 px away; C: nothing at all;
    D: 2 refs, nothing found."""
    a_ref = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], float)
    preds = [a_ref.copy(), np.array([[21.5, 20.0]]), np.zeros((0, 2)), np.zeros((0, 2))]
    refs = [a_ref, np.array([[20.0, 20.0]]), np.zeros((0, 2)), np.array([[5.0, 5.0], [30.0, 30.0]])]
    return preds, refs


def test_set_level_curve_sums_counts_over_the_images():
    preds, refs = _four_images()
    # TP = [4, 5] over the set, n_pred = 5, n_ref = 7: curve = [4 / (12 - 4), 5 / (12 - 5)]
    np.testing.assert_allclose(set_accuracy_curve(preds, refs, 2), [0.5, 5 / 7], rtol=1e-15)
    assert set_localization_score(preds, refs, 2) == pytest.approx((0.5 + 5 / 7) / 2, rel=1e-15)  # 0.607
    # the mean of per-image curves is another number: A [1, 1], B [0, 1], C [1, 1] (empty), D [0, 0]
    per_image = np.mean([accuracy_curve(p, r, 2) for p, r in zip(preds, refs)], axis=0)
    np.testing.assert_allclose(per_image, [0.5, 0.75])
    # per-image counts add up to the set's curve (what evaluation stores and sums)
    details = [score_detections(p, r, 2) for p, r in zip(preds, refs)]
    assert set_metrics(details)["score"] == pytest.approx((0.5 + 5 / 7) / 2, rel=1e-15)
    assert [d["n_match"] for d in details] == [4, 1, 0, 0]


def test_set_level_curve_of_nothing_and_bad_input():
    np.testing.assert_array_equal(set_accuracy_curve([np.zeros((0, 2))], [np.zeros((0, 2))], 3), np.ones(3))
    np.testing.assert_array_equal(set_accuracy_curve([np.zeros((0, 2))], [np.ones((2, 2))], 3), np.zeros(3))
    with pytest.raises(ValueError, match="2 prediction sets but 1 reference"):
        set_accuracy_curve([np.zeros((0, 2))] * 2, [np.zeros((0, 2))], 3)


# ----------------------------------------------------------------------------- networks

def _activations(model) -> int:
    return sum(type(m).__name__ in ("ReLU", "SortPool") for m in model.modules())


def test_3d_block_activates_after_the_merge_and_2d_block_does_not():
    paper_3d = dict(widths=(32, 64, 128, 256), blocks=3)
    assert _activations(build_model("drunet", "seqsi", 3, **paper_3d, post_activation=True)) == 42
    assert _activations(build_model("drunet", "seqsi", 3, **paper_3d)) == 21
    assert _activations(build_model("drunet", "affeq", 3, **paper_3d, post_activation=True)) == 42
    assert _activations(build_model("drunet", "seqsi", 2)) == 28  # 2D DRUNet: 7 stages x 4 blocks, unchanged
    cfg3 = load_config(ROOT / "object_localization/3D/configs/fluo3d.yaml")
    cfg2 = load_config(ROOT / "object_localization/2D/configs/dsb2018.yaml")
    assert cfg3["model"]["post_activation"] is True and cfg2["model"]["post_activation"] is False


def test_post_activation_changes_the_output_and_keeps_affeq_equivariant():
    torch.manual_seed(0)
    small = dict(widths=(4, 8), blocks=1)
    with_act = build_model("drunet", "affeq", 3, **small, post_activation=True).double()
    without = build_model("drunet", "affeq", 3, **small).double()
    without.load_state_dict(with_act.state_dict())
    x = torch.rand(1, 1, 8, 8, 8, dtype=torch.float64)
    assert (with_act(x) - without(x)).abs().max() > 1e-3
    assert torch.allclose(with_act(3 * x - 2), 3 * with_act(x) - 2, atol=1e-9)


def test_merges_start_where_the_paper_starts():
    assert ConvexSum().alpha.item() == pytest.approx(1 / (1 + np.exp(-0.5)))  # 0.6225 on the shortcut
    unet = build_model("drunet", "affeq", 2, widths=(4, 8), blocks=1)
    merges = [m for m in unet.modules() if isinstance(m, AffineSum)]
    assert len(merges) == 3 + 2 and all(m.alpha.item() == 0.5 for m in merges)  # 3 blocks + 2 skips
    # unbounded: alpha = 2 extrapolates (2 * first - second) and stays affine
    s, t = torch.randn(3, 5, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64)
    with torch.no_grad():
        merges[0].alpha.fill_(2.0)
    torch.testing.assert_close(merges[0](s, t), 2 * s - t)
    torch.testing.assert_close(merges[0](4 * s + 1, 4 * t + 1), 4 * (2 * s - t) + 1)


@pytest.mark.parametrize("folder, config", [("2D", "dsb2018.yaml"), ("3D", "fluo3d.yaml")])
@pytest.mark.parametrize("preset", [None, "quick"])
def test_paper_presets_are_telescopic(folder, config, preset):
    cfg = load_config(ROOT / "object_localization" / folder / "configs" / config, preset)
    for mode, expected in (("affeq", "affeq_telescopic"), ("seqsi", "seqsi_telescopic"), ("standard", "standard"),
                           ("seq", "seq"), ("affeq_avg", "affeq")):
        cfg["model"]["mode"] = mode
        assert method_names(cfg)[0].name == expected


# ----------------------------------------------------------------------------- threshold search

def test_grid_search_on_known_functions():
    # (x - 3.3)^2 on (0.5, 20): steps 1.95 -> best 2.45; 0.39 on (0.5, 4.4) -> 3.23; 0.078 on (2.84, 3.62) -> 3.308
    assert grid_search_min(lambda x: (x - 3.3) ** 2, (0.5, 20)) == pytest.approx(3.308, abs=1e-12)
    # the zoom is not clipped to the bounds: x on (0.5, 20) -> 0.5 -> -1.45 -> -1.84
    assert grid_search_min(lambda x: x, (0.5, 20)) == pytest.approx(-1.84, abs=1e-12)
    # ties go to the first point; points/rounds are the paper's 11 x 3
    calls = []
    grid_search_min(lambda x: calls.append(x) or 0.0, (0.0, 1.0))
    assert len(calls) == 33 and calls[11] == pytest.approx(-0.1)
    with pytest.raises(ValueError, match="points >= 2"):
        grid_search_min(lambda x: x, (0, 1), points=1)


# ----------------------------------------------------------------------------- border rule

def _zero_padded_peaks(score, threshold):
    """The paper's rule, written out: blurred >= every neighbour of the 5x5 window, zeros outside."""
    blurred = ndimage.gaussian_filter(score, 1.0, mode="nearest", truncate=4.0)
    padded = np.pad(blurred, 2, constant_values=0.0)
    peaks = []
    for y, x in zip(*np.nonzero(score > threshold)):
        if blurred[y, x] >= padded[y:y + 5, x:x + 5].max():
            peaks.append((y, x))
    return np.array(peaks, np.int64).reshape(-1, 2)


def test_border_peaks_compare_with_zeros_like_the_paper():
    score = np.full((16, 16), -1.0)
    score[0, 5] = 1.5  # on the border: raw 1.5 > 1, blurred about -0.30 < 0
    score[8, 8] = 1.5  # inside: blurred < 0 too, but no zero in its window
    np.testing.assert_array_equal(find_peaks(score, 1.0, border="ignore"), [[0, 5], [8, 8]])
    np.testing.assert_array_equal(find_peaks(score, 1.0, border="zero"), [[8, 8]])
    rng = np.random.default_rng(3)
    noisy = ndimage.gaussian_filter(rng.normal(size=(20, 23)), 1.2) * 4
    for t in (-0.5, 0.0, 0.3):  # sparse and dense paths alike
        expected = _zero_padded_peaks(noisy, t)
        np.testing.assert_array_equal(find_peaks(noisy, t, border="zero"), expected)
        coords, values = local_maxima(noisy, border="zero")
        np.testing.assert_array_equal(coords[values > t], expected)
    with pytest.raises(ValueError, match="border must be one of"):
        find_peaks(noisy, 0.0, border="nearest")


# ----------------------------------------------------------------------------- centres

def test_biased_centroids_are_the_papers_and_behind_a_flag():
    mask = np.zeros((6, 6, 6), np.int32)
    mask[1:3, 1:3, 1:3] = 1  # 2x2x2 cube: exact (1.5, 1.5, 1.5); the box [1:2]^3 keeps one voxel -> (1, 1, 1)
    mask[2:5, 4, 4] = 2      # a bar along z: y and x boxes [4:4] are empty -> the low corner (2, 4, 4)
    np.testing.assert_allclose(label_centres(mask), [[1.5, 1.5, 1.5], [3, 4, 4]])
    np.testing.assert_allclose(biased_label_centres(mask), [[1, 1, 1], [2, 4, 4]])
    item = {"mask": mask, "centres": label_centres(mask)}
    np.testing.assert_allclose(reference_centres(item, {"centroids": "exact"}), label_centres(mask))
    np.testing.assert_allclose(reference_centres(item, {"centroids": "paper"}), biased_label_centres(mask))
    with pytest.raises(ValueError, match="data.centroids must be one of"):
        reference_centres(item, {"centroids": "true"})


def test_paper_score_folder_name_is_read(tmp_path):
    image = np.zeros((10, 12), np.float32)
    mask = np.zeros((10, 12), np.uint16)
    mask[2:5, 3:6] = 1
    write_tiff(tmp_path / "images" / "a.tif", image)
    write_tiff(tmp_path / "masks" / "a.tif", mask)
    write_tiff(tmp_path / "samplings" / "a.tif", np.full((10, 12), 0.25, np.float32))
    np.testing.assert_array_equal(BioimageDataset(tmp_path).load(0)["score"], 0.25)


# ----------------------------------------------------------------------------- validation crops

def _crops(seed=0):
    rng = np.random.default_rng(0)
    images = [rng.random((40, 40)).astype(np.float32) for _ in range(2)]
    scores = [np.zeros((40, 40), np.float32) for _ in range(2)]
    for s in scores:
        s[10:30:4, 10:30:4] = 1.0
    return ObjectCrops(images, scores, 16, crops_per_image=3, seed=seed)


def test_validation_crops_are_redrawn_and_augmented_each_epoch():
    fixed = ValidationCrops(_crops(), redraw=False)
    redrawn = ValidationCrops(_crops(), redraw=True)
    epoch0 = [redrawn[i][0] for i in range(len(redrawn))]
    fixed.set_epoch(5)
    redrawn.set_epoch(5)
    assert all(torch.equal(fixed[i][0], epoch0[i]) for i in range(len(fixed)))
    assert not all(torch.equal(redrawn[i][0], epoch0[i]) for i in range(len(redrawn)))
    redrawn.set_epoch(0)
    assert all(torch.equal(redrawn[i][0], epoch0[i]) for i in range(len(redrawn)))  # a pure function of the epoch

    group = training_augmentation({"suite": "fluorescence", "group": "Aff"})
    augmented = ValidationCrops(_crops(), redraw=True, augmentation=group, seed=1)
    altered = [not torch.equal(augmented[i][0], epoch0[i]) for i in range(len(augmented))]
    assert any(altered)
    again = [augmented[i][0] for i in range(len(augmented))]
    augmented.set_epoch(1)
    assert not all(torch.equal(augmented[i][0], again[i]) for i in range(len(augmented)))


def test_threshold_fit_images_altered_with_the_runs_group():
    rng = np.random.default_rng(1)
    items = [{"image": rng.random((6, 8, 8)).astype(np.float32)} for _ in range(6)]
    config = {"seed": 1, "augment": {"suite": "fluorescence", "group": "All"}, "threshold": {"augment": True}}
    altered = altered_validation_images(items, config)
    clean = altered_validation_images(items, {**config, "threshold": {"augment": False}})
    assert all(c.min() == 0 and c.max() == 1 for c in clean)
    assert any(not np.array_equal(a, c) for a, c in zip(altered, clean))
    again = altered_validation_images(items, config)
    assert all(np.array_equal(a, b) for a, b in zip(altered, again))  # fixed for a run


def test_trainer_redraws_validation_crops_every_epoch(tmp_path):
    from seqsi.engine.tasks import MapRegression
    from seqsi.engine.trainer import TrainSettings, fit

    class Recording(ValidationCrops):
        def set_epoch(self, epoch):
            seen.append(epoch)
            super().set_epoch(epoch)

    seen: list[int] = []
    model = build_model("drunet", "seqsi", 2, widths=(2, 4), blocks=1)
    settings = TrainSettings.from_dict({"epochs": 3, "batch_size": 6, "lr": 1e-3, "progress": False, "seed": 0,
                                        "monitor": "loss", "monitor_mode": "min"})
    fit(model, MapRegression(get_loss("zmse")), _crops(), Recording(_crops(1), redraw=True), settings, tmp_path,
        {"experiment": "loc2d", "model_spec": model.seqsi_spec})
    assert seen == [0, 1, 2]
