"""Tiled inference equals untiled inference when the overlap covers the receptive field."""
import numpy as np
import pytest
import torch

from seqsi.localization import ZMSELoss, find_peaks, predict_tiled, unet_receptive_margin
from seqsi.models import build_model

LEVELS, BLOCKS = 1, 1  # widths=(4, 8): one stride-2 level
ALIGN = 2**LEVELS


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny convolutions: threads only spin against each other on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_unet(dims, dtype=torch.float32):
    torch.manual_seed(0)
    return build_model("drunet", "seqsi", dims=dims, widths=(4, 8), blocks=BLOCKS).to(dtype).eval()


def blobs(shape, seed=0):
    """Random bright spots on a smooth background: a volume with many local maxima."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    image = 0.1 * rng.random(shape)
    for _ in range(12):
        centre = [rng.uniform(0, n) for n in shape]
        image += np.exp(-sum((g - c) ** 2 for g, c in zip(grids, centre)) / 4)
    return image.astype(np.float32)


@pytest.mark.parametrize("dims", [2, 3])
def test_the_margin_bounds_the_receptive_field(dims):
    model = small_unet(dims, torch.float64)
    margin = unet_receptive_margin(LEVELS, BLOCKS)
    shape = (2 * margin + 8,) * dims
    centre = tuple(n // 2 for n in shape)
    grids = np.meshgrid(*(np.arange(n) - c for n, c in zip(shape, centre)), indexing="ij")
    reach = np.max(np.abs(grids), axis=0)  # Chebyshev distance to the centre pixel
    rng = np.random.default_rng(1)
    image = rng.random(shape)
    far = np.where(reach > margin, rng.normal(size=shape) * 5, 0)
    rim = np.where((reach >= margin - 2) & (reach <= margin), rng.normal(size=shape), 0)
    batch = torch.from_numpy(np.stack([image, image + far, image + rim]))[:, None]
    with torch.no_grad():
        reference, beyond, within = model(batch)[(slice(None), 0, *centre)]
    assert beyond == reference  # nothing farther than the margin reaches the centre
    assert within != reference  # and the bound is nearly tight


@pytest.mark.parametrize("dims, shape, tile", [(2, (64, 80), 24), (3, (24, 32, 40), 16)])
def test_tiled_prediction_and_its_peaks_equal_the_untiled_ones(dims, shape, tile):
    model = small_unet(dims)
    image = blobs(shape)
    with torch.no_grad():
        whole = model(torch.from_numpy(image)[None, None])[0, 0].numpy()
    overlap = -(-unet_receptive_margin(LEVELS, BLOCKS) // ALIGN) * ALIGN  # the margin, rounded up to the grid
    tiled = predict_tiled(model, image, tile, overlap, align=ALIGN, batch_size=3)
    assert tiled.shape == shape and tiled.dtype == np.float32
    np.testing.assert_allclose(tiled, whole, rtol=1e-5, atol=1e-5 * np.abs(whole).max())
    loss = ZMSELoss()
    peaks = find_peaks(loss.postprocess(whole), 0.5)
    assert len(peaks) > 3
    np.testing.assert_array_equal(find_peaks(loss.postprocess(tiled), 0.5), peaks)
    # Without enough context the seams show: the test can tell a wrong stitching apart.
    seams = predict_tiled(model, image, tile, 0, align=ALIGN)
    assert np.abs(seams - whole).max() > 1e-2 * np.abs(whole).max()


def test_memory_mapped_input_and_output(tmp_path):
    model = small_unet(2)
    image = blobs((40, 48), seed=3)
    np.save(tmp_path / "image.npy", image)
    out = np.lib.format.open_memmap(tmp_path / "out.npy", mode="w+", dtype=np.float32, shape=image.shape)
    result = predict_tiled(model, np.load(tmp_path / "image.npy", mmap_mode="r"), 16, 12, align=ALIGN, out=out)
    assert result is out
    out.flush()
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), predict_tiled(model, image, 16, 12, align=ALIGN),
                               rtol=1e-6, atol=1e-6)


def test_bad_tiling_arguments_are_refused():
    model = small_unet(2)
    with pytest.raises(ValueError, match="align"):
        predict_tiled(model, np.zeros((32, 32), np.float32), 15, 12, align=ALIGN)
    with pytest.raises(ValueError, match="align"):
        predict_tiled(model, np.zeros((32, 32), np.float32), 16, 5, align=ALIGN)
    with pytest.raises(ValueError, match="tile"):
        predict_tiled(model, np.zeros((32, 32), np.float32), (16, 16, 16), 4)
    with pytest.raises(ValueError, match="non-empty"):
        predict_tiled(model, np.zeros((0, 32), np.float32), 16, 4)
