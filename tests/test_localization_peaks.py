"""Centre detection: the paper's rule written out offset by offset, plateaus, tiling, bad input."""
import itertools

import numpy as np
import pytest
from scipy import ndimage

import seqsi.localization.peaks as peaks_module
from seqsi.localization import find_peaks, gaussian_blur, local_maxima, peak_halo, window_maximum


def peaks_by_offsets(score, threshold, window=5):
    """The rule literally: blurred >= every in-image neighbour of the window, raw > threshold."""
    blurred = ndimage.gaussian_filter(score, 1.0, mode="nearest", truncate=4.0)
    keep = score > threshold
    r = window // 2
    padded = np.pad(blurred, r, constant_values=-np.inf)  # out-of-image neighbours never win
    for offset in itertools.product(range(-r, r + 1), repeat=score.ndim):
        shifted = padded[tuple(slice(r + o, r + o + n) for o, n in zip(offset, score.shape))]
        keep &= blurred >= shifted
    return np.argwhere(keep)


def plateau_map(rng, shape, block):
    """Blocky map: blocks wider than the blur make exact plateaus in the blurred map."""
    coarse = rng.integers(0, 4, [-(-n // block) for n in shape]).astype(np.float32)
    for axis in range(len(shape)):
        coarse = np.repeat(coarse, block, axis=axis)
    return coarse[tuple(slice(0, n) for n in shape)] / 3


@pytest.mark.parametrize("shape", [(57, 64), (14, 23, 19)])
@pytest.mark.parametrize("dense_fraction", [0.0, 1.0])  # every candidate test dense, or neighbour by neighbour
def test_peaks_follow_the_rule_on_noise_and_on_plateaus(shape, dense_fraction, monkeypatch):
    monkeypatch.setattr(peaks_module, "DENSE_FRACTION", dense_fraction)
    rng = np.random.default_rng(0)
    for score in (rng.random(shape).astype(np.float32), plateau_map(rng, shape, 11)):
        for threshold in (-1.0, 0.3, 0.9):
            expected = peaks_by_offsets(score, threshold)
            np.testing.assert_array_equal(find_peaks(score, threshold), expected)
    plateau = plateau_map(rng, shape, 11)
    blurred = gaussian_blur(plateau)
    assert np.count_nonzero(blurred == window_maximum(blurred)) > 20 * len(shape)  # plateaus really occur


def test_two_bumps_threshold_is_strict_and_on_the_unblurred_map():
    yy, xx = np.mgrid[:40, :50]
    score = np.exp(-((yy - 10) ** 2 + (xx - 12) ** 2) / 8) + 0.6 * np.exp(-((yy - 30) ** 2 + (xx - 35) ** 2) / 8)
    np.testing.assert_array_equal(find_peaks(score, 0.5), [[10, 12], [30, 35]])
    np.testing.assert_array_equal(find_peaks(score, 0.6), [[10, 12]])  # 0.6 is not > 0.6
    # A single bright pixel: the maximum of the blurred map, but its raw value decides.
    spike = np.zeros((15, 15))
    spike[7, 7] = 1.0
    np.testing.assert_array_equal(find_peaks(spike, 0.99), [[7, 7]])
    assert len(find_peaks(spike, 1.0)) == 0
    # Raw value above threshold next to the peak, but not a maximum of the blur: no peak.
    spike[7, 8] = 0.9
    np.testing.assert_array_equal(find_peaks(spike, 0.5), [[7, 7]])


@pytest.mark.parametrize("shape, window", [((30,), 5), ((3, 40), 5), ((9, 11), (3, 7)), ((6, 7, 30), 5)])
def test_window_maximum_is_scipy_maximum_filter(shape, window):
    values = np.random.default_rng(1).integers(0, 5, shape).astype(np.float64)
    expected = ndimage.maximum_filter(values, size=window, mode="nearest")
    np.testing.assert_array_equal(window_maximum(values, window), expected)


def bumps_on_tile_borders(shape, tile):
    """Peaks and plateaus placed exactly on and next to the tile seams."""
    score = np.zeros(shape, np.float32)
    for i, point in enumerate(itertools.product(*(range(0, n, t) for n, t in zip(shape, tile)))):
        for shift in (0, -1):
            p = tuple(min(max(c + shift, 0), n - 1) for c, n in zip(point, shape))
            score[p] = 0.5 + 0.1 * (i % 5)
    score[tuple(slice(t - 2, t + 2) for t in tile)] = 0.8  # plateau straddling a seam
    return ndimage.gaussian_filter(score, 1.5) + score


@pytest.mark.parametrize("shape, tile", [((70, 83), (16, 16)), ((70, 83), (9, 40)), ((20, 26, 31), (8, 9, 10))])
def test_tiled_peaks_equal_untiled_peaks_bit_for_bit(shape, tile):
    rng = np.random.default_rng(2)
    maps = [rng.random(shape).astype(np.float32), plateau_map(rng, shape, 10), bumps_on_tile_borders(shape, tile)]
    for score in maps:
        for threshold in (0.0, 0.5):
            untiled = find_peaks(score, threshold)
            assert len(untiled) > 0
            np.testing.assert_array_equal(find_peaks(score, threshold, tile=tile), untiled)
    assert peak_halo(1.0, 5, 2) == (6, 6)


@pytest.mark.parametrize("shape", [(610, 433), (200, 40, 41)])
def test_threads_split_a_large_map_without_changing_the_peaks(shape):
    """A map above MIN_PARALLEL is cut into slabs run in threads: the same peaks as the rule."""
    rng = np.random.default_rng(4)
    score = np.maximum(rng.random(shape, np.float32), plateau_map(rng, shape, 7))
    assert score.size >= peaks_module.MIN_PARALLEL
    expected = peaks_by_offsets(score, 0.5)
    for workers in (1, 2, 3):
        np.testing.assert_array_equal(find_peaks(score, 0.5, workers=workers), expected)
    np.testing.assert_array_equal(find_peaks(score, 0.5, tile=(97, 89, 50)[: len(shape)], workers=3), expected)
    with pytest.raises(ValueError, match="workers"):
        find_peaks(score, 0.5, workers=0)


def test_too_small_a_halo_would_change_the_peaks():
    """The halo is needed: cutting the map into independent tiles moves peaks at seams."""
    score = bumps_on_tile_borders((70, 83), (16, 16))
    untiled = find_peaks(score, 0.0)
    independent = np.concatenate([
        find_peaks(score[i:i + 16, j:j + 16], 0.0) + (i, j) for i in range(0, 70, 16) for j in range(0, 83, 16)
    ])
    independent = independent[np.lexsort(independent.T[::-1])]
    assert not np.array_equal(independent, untiled)


def test_tiled_peaks_read_a_memory_mapped_map(tmp_path):
    score = np.random.default_rng(3).random((64, 72)).astype(np.float32)
    stored = np.lib.format.open_memmap(tmp_path / "score.npy", mode="w+", dtype=np.float32, shape=score.shape)
    stored[:] = score
    stored.flush()
    on_disk = np.load(tmp_path / "score.npy", mmap_mode="r")
    np.testing.assert_array_equal(find_peaks(on_disk, 0.4, tile=20), find_peaks(score, 0.4))


def test_blur_writes_into_a_strided_frame_and_blurs_integer_maps_in_float():
    """The framed blur of find_peaks writes into a view of a larger frame and nothing outside
    it; an integer map is blurred in float64 (scipy alone keeps the input's integer dtype)."""
    values = np.random.default_rng(2).random((90, 120)).astype(np.float32)
    view = values[5:80:2, ::3]
    framed = np.full((view.shape[0] + 4, view.shape[1] + 4), -np.inf, np.float32)
    gaussian_blur(view, 1.0, out=framed[2:-2, 2:-2])
    np.testing.assert_array_equal(framed[2:-2, 2:-2], ndimage.gaussian_filter(view, 1.0, mode="nearest", truncate=4.0))
    assert np.all(framed[:2] == -np.inf) and np.all(framed[-2:] == -np.inf) and np.all(framed[:, -2:] == -np.inf)
    steps = np.arange(12).reshape(3, 4)
    assert ndimage.gaussian_filter(steps, 1.0).dtype.kind == "i"
    np.testing.assert_array_equal(gaussian_blur(steps), ndimage.gaussian_filter(steps.astype(float), 1.0,
                                                                                mode="nearest"))
    with pytest.raises(ValueError, match="out must have"):
        gaussian_blur(values, 1.0, out=np.empty((90, 120)))
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur(values, -1.0)


def test_local_maxima_then_threshold_equals_find_peaks():
    score = np.random.default_rng(4).random((40, 40))
    coords, values = local_maxima(score)
    for threshold in (0.1, 0.5, 0.8, 0.95):
        np.testing.assert_array_equal(coords[values > threshold], find_peaks(score, threshold))


def test_threshold_compares_in_the_maps_precision():
    score = np.zeros((9, 9), np.float32)
    score[4, 4] = 0.3  # float32(0.3) is a little above the float64 0.3
    for threshold in (0.3, np.float64(0.3), np.float32(0.3)):
        assert len(find_peaks(score, threshold)) == 0
    assert len(find_peaks(score.astype(np.float64), 0.29)) == 1


def test_constant_and_empty_maps_have_no_peaks():
    assert find_peaks(np.full((10, 12), 3.0), threshold=0.0).shape == (0, 2)
    assert find_peaks(np.full((4, 5, 6), 3.0, np.float32), threshold=0.0, tile=3).shape == (0, 3)
    assert find_peaks(np.zeros((0, 5)), threshold=0.0).shape == (0, 2)
    assert local_maxima(np.ones((6, 6)))[0].shape == (0, 2)


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="non-finite"):
        find_peaks(np.array([[0.0, np.nan], [1.0, 2.0]]), 0.5)
    with pytest.raises(ValueError, match="1 non-finite"):
        find_peaks(np.array([[0.0, -np.inf], [1.0, 2.0]]), 0.5, tile=1)
    with pytest.raises(TypeError, match="bool"):
        find_peaks(np.zeros((4, 4), bool), 0.5)
    with pytest.raises(ValueError, match="odd"):
        find_peaks(np.zeros((4, 4)), 0.5, window=4)
    with pytest.raises(ValueError, match="window"):
        find_peaks(np.zeros((4, 4)), 0.5, window=(3, 3, 3))
    with pytest.raises(ValueError, match="threshold"):
        find_peaks(np.zeros((4, 4)), float("nan"))
    with pytest.raises(ValueError, match="tile"):
        find_peaks(np.zeros((4, 4)), 0.5, tile=0)
    with pytest.raises(ValueError, match="scalar"):
        find_peaks(np.float32(1.0), 0.5)
