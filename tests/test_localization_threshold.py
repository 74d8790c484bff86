"""Losses (and the post-processing they own) and the threshold fit on validation maps."""
import numpy as np
import pytest
import torch

from seqsi.localization import (
    BCELoss, ZMSELoss, centres_from_masks, detect_centres, find_peaks, fit_threshold, get_loss, label_centres,
    localization_score, score_map,
)
from seqsi.nn import get_mode


def test_registry_names_aliases_modes_and_unknown_names():
    assert isinstance(get_loss("bce"), BCELoss) and isinstance(get_loss("BCE-with-logits"), BCELoss)
    assert isinstance(get_loss("zmse"), ZMSELoss) and isinstance(get_loss("nmse"), ZMSELoss)
    loss = ZMSELoss()
    assert get_loss(loss) is loss
    assert isinstance(get_loss(get_mode("seqsi")), ZMSELoss)  # the paper's pairing comes from the mode
    assert isinstance(get_loss(get_mode("affeq")), ZMSELoss)
    assert isinstance(get_loss(get_mode("standard")), BCELoss)
    with pytest.raises(ValueError, match=r"\['bce', 'zmse'\]"):
        get_loss("mse")


def test_bce_is_the_binary_cross_entropy_of_the_sigmoid():
    logits = torch.tensor([[[-2.0, 0.0], [1.0, 3.0]]])
    target = torch.tensor([[[0.0, 0.5], [1.0, 0.25]]])
    p = torch.sigmoid(logits)
    expected = -(target * p.log() + (1 - target) * (1 - p).log()).mean()
    torch.testing.assert_close(BCELoss()(logits, target), expected)


def test_zmse_compares_per_sample_z_scores_and_ignores_affine_changes_of_the_prediction():
    rng = np.random.default_rng(0)
    prediction = torch.from_numpy(rng.normal(size=(3, 1, 8, 9)))
    target = torch.from_numpy(rng.random((3, 1, 8, 9)))
    flat_p, flat_t = prediction.reshape(3, -1).numpy(), target.reshape(3, -1).numpy()
    # the sample (n - 1) standard deviation, as the paper's NormalizedMSE (torch's x.std())
    z = lambda a, ddof=1: (a - a.mean(1, keepdims=True)) / a.std(1, keepdims=True, ddof=ddof)  # noqa: E731
    expected = np.mean((z(flat_p) - z(flat_t)) ** 2)
    zmse = ZMSELoss()
    assert zmse(prediction, target).item() == pytest.approx(expected, rel=1e-12)
    population = np.mean((z(flat_p, 0) - z(flat_t, 0)) ** 2)
    assert zmse(prediction, target).item() != pytest.approx(population, rel=1e-3)  # the n divisor would differ
    scale = torch.tensor([0.1, 3.0, 250.0]).view(3, 1, 1, 1).double()
    assert zmse(scale * prediction - 7, target).item() == pytest.approx(expected, rel=1e-9)
    assert zmse(2 * target + 1, target).item() == pytest.approx(0, abs=1e-12)
    # BCE sees the scale of the logits: not invariant.
    assert BCELoss()(3 * prediction, target).item() != pytest.approx(BCELoss()(prediction, target).item(), rel=1e-3)
    with pytest.raises(ValueError, match=r"\(3, 1, 8, 9\).*\(3, 1, 8, 8\)"):
        zmse(prediction, target[..., :8])


def test_postprocessing_per_loss_keeps_the_array_type():
    rng = np.random.default_rng(1)
    output = rng.normal(size=(12, 10)).astype(np.float32)
    z = ZMSELoss().postprocess(output)
    assert isinstance(z, np.ndarray) and z.dtype == np.float32
    np.testing.assert_allclose(z, (output - output.mean()) / output.std(ddof=1), atol=1e-5)  # sample std, as the paper
    np.testing.assert_allclose(ZMSELoss().postprocess(4 * output.astype(np.float64) + 9), z, atol=1e-5)
    assert not np.allclose(BCELoss().postprocess(4 * output + 9), BCELoss().postprocess(output), atol=1e-2)
    np.testing.assert_allclose(BCELoss().postprocess(output), 1 / (1 + np.exp(-output)), rtol=1e-6)
    assert np.array_equal(ZMSELoss().postprocess(np.full((4, 4), 2.5)), np.zeros((4, 4)))  # constant map: no NaN
    batch = torch.from_numpy(rng.normal(size=(2, 1, 5, 5)))
    per_image = torch.stack([ZMSELoss().postprocess(b) for b in batch])
    torch.testing.assert_close(ZMSELoss().postprocess_batch(batch), per_image)
    assert isinstance(BCELoss().postprocess(torch.zeros(3)), torch.Tensor)


def test_threshold_bounds_per_loss():
    maps = [np.array([[0.2, 0.6]]), np.array([[0.8, 0.1]])]
    assert ZMSELoss().threshold_bounds(maps) == (0.5, 5.0)
    low, high = BCELoss().threshold_bounds(maps)
    assert low == pytest.approx(0.08) and high == pytest.approx(0.76)


def validation_set(seed, n_images=3, shape=(64, 64)):
    """Label masks with discs (integer centres), plus weaker spurious bumps away from them."""
    rng = np.random.default_rng(seed)
    masks, decoys = [], []
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    for _ in range(n_images):
        mask = np.zeros(shape, np.int32)
        decoy = np.zeros(shape)
        for k, (cy, cx) in enumerate([(12, 12), (12, 44), (44, 20), (48, 50)], start=1):
            cy, cx = cy + rng.integers(-2, 3), cx + rng.integers(-2, 3)
            mask[(yy - cy) ** 2 + (xx - cx) ** 2 <= rng.integers(9, 26)] = k
        for cy, cx in [(30, 32), (60, 4)]:
            decoy = np.maximum(decoy, 0.35 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 6))
        masks.append(mask)
        decoys.append(decoy)
    return masks, decoys


def test_fitted_bce_threshold_separates_objects_from_decoys():
    masks, decoys = validation_set(2)
    probabilities = [np.maximum(0.05 + 0.9 * score_map(m), d + 0.05) for m, d in zip(masks, decoys)]
    outputs = [np.log(p / (1 - p)) for p in probabilities]  # logits, as the network emits them
    references = centres_from_masks(masks, outputs)
    threshold, score = fit_threshold(outputs, references, "bce", return_score=True)
    assert 0.41 < threshold < 0.95 and score == 1.0
    for output, ref in zip(outputs, references):
        assert localization_score(detect_centres(output, "bce", threshold), ref, 12) == 1.0
        assert localization_score(detect_centres(output, "bce", 0.3), ref, 12) < 1  # decoys detected


def test_fitted_zmse_threshold_is_the_same_for_any_affine_change_of_the_outputs():
    masks, decoys = validation_set(3)
    outputs = [score_map(m) + d for m, d in zip(masks, decoys)]
    references = centres_from_masks(masks)
    threshold, score = fit_threshold(outputs, references, get_mode("seqsi"), return_score=True)
    assert 0.5 <= threshold <= 5 and score == 1.0
    changed = [5.0 * o - 3.0 for o in outputs]
    assert fit_threshold(changed, references, "zmse") == pytest.approx(threshold, rel=1e-6)
    np.testing.assert_array_equal(detect_centres(outputs[0], "zmse", threshold),
                                  find_peaks(ZMSELoss().postprocess(outputs[0]), threshold))


def test_reference_masks_and_inputs_are_checked():
    masks, _ = validation_set(4, n_images=1)
    with pytest.raises(ValueError, match=r"\(64, 64\).*\(64, 60\)"):
        centres_from_masks([masks[0][:, :60]], [np.zeros((64, 64))])
    with pytest.raises(TypeError, match="float64"):
        centres_from_masks([masks[0].astype(np.float64)])
    with pytest.raises(ValueError, match="1 outputs but 2"):
        fit_threshold([np.zeros((8, 8))], [np.zeros((0, 2))] * 2, "zmse")
    with pytest.raises(ValueError, match="at least one"):
        fit_threshold([], [], "zmse")
    # An image without objects is a valid reference: no centres, and detections there are false positives.
    empty = np.zeros((64, 64), np.int32)
    assert centres_from_masks([empty])[0].shape == (0, 2)
    np.testing.assert_array_equal(label_centres(masks[0]), centres_from_masks(masks)[0])
