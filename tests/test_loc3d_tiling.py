"""Tiled 3D inference (volumes larger than eval.max_pixels) finds the same peaks as one pass."""
import numpy as np
import pytest
import torch

from seqsi import build_model
from seqsi.localization import detect_centres, get_loss, predict_map, predict_maps, unet_geometry


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _volume(shape=(16, 32, 32), seed=0):
    rng = np.random.default_rng(seed)
    grid = np.indices(shape)
    volume = rng.normal(0.1, 0.02, shape)
    for centre in rng.uniform([2, 4, 4], np.array(shape) - [2, 4, 4], size=(6, 3)):
        volume += np.exp(-sum((g - c) ** 2 for g, c in zip(grid, centre)) / 4.0)
    return (volume - volume.min()) / (volume.max() - volume.min())


@pytest.mark.parametrize("mode", ["standard", "seqsi"])
def test_tiled_prediction_gives_the_untiled_peaks(mode):
    model = build_model("drunet", mode, 3, widths=[4, 8], blocks=1).double().eval()
    assert unet_geometry(model) == (1, 1)
    volume = _volume()
    whole = predict_map(model, volume, dtype=torch.float64)
    tiled = predict_map(model, volume, dtype=torch.float64, max_pixels=1000, tile=8)  # 16 * 32 * 32 voxels > 1000
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-12)
    loss = get_loss("zmse")
    peaks = detect_centres(whole, loss, 0.5)
    assert len(peaks) >= 3
    np.testing.assert_array_equal(detect_centres(tiled, loss, 0.5), peaks)


def test_too_small_an_overlap_is_visible():
    """The default overlap is the exact receptive margin; a too-small one changes the map."""
    model = build_model("drunet", "standard", 3, widths=[4, 8], blocks=1).double().eval()
    volume = _volume(seed=1)
    whole = predict_map(model, volume, dtype=torch.float64)
    short = predict_map(model, volume, dtype=torch.float64, max_pixels=1000, tile=8, overlap=2)
    assert np.abs(short - whole).max() > 1e-6


def test_batched_prediction_equals_one_by_one():
    model = build_model("drunet", "seqsi", 3, widths=[4, 8], blocks=1).eval()
    volumes = [_volume(seed=s).astype(np.float32) for s in range(3)]
    batched = predict_maps(model, volumes, batch_size=3)
    for volume, out in zip(volumes, batched):
        np.testing.assert_allclose(out, predict_map(model, volume), rtol=1e-5, atol=1e-5)
