"""The centre-detection blur equals scipy's Gaussian filter bit for bit, on its fast path and off it."""
import numpy as np
import pytest
from scipy import ndimage

import seqsi.localization.blur as blur_module
from seqsi.localization import gaussian_blur

SHAPES = [(5,), (1, 7), (3, 200), (150, 90), (7, 1, 9), (20, 33, 41), (6, 5, 2, 3)]


def scipy_blur(values, sigma):
    return ndimage.gaussian_filter(values, sigma, mode="nearest", truncate=4.0)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blur_is_scipys_gaussian_filter_bit_for_bit(shape, dtype):
    rng = np.random.default_rng(len(shape))
    values = (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3, shape)).astype(dtype)
    for sigma in (1.0, 0.0, 0.1, (2.5, 0.0, 0.7, 1.3)[: len(shape)], 3.0):  # 0.1: a one-tap kernel
        ours, expected = gaussian_blur(values, sigma), scipy_blur(values, sigma)
        assert ours.dtype == expected.dtype
        np.testing.assert_array_equal(ours, expected)


def test_the_row_pass_is_what_runs_here_and_differs_from_a_plain_float32_blur():
    """The fast path is active (not the scipy fallback), and bit equality is a real constraint:
    the same blur computed in float32 arithmetic does not give it."""
    assert blur_module._rows_match_scipy(1.0, np.dtype(np.float32))
    values = np.random.default_rng(0).random((64, 64), np.float32)
    kernel = blur_module._weights(1.0).astype(np.float32)
    in_float32 = ndimage.correlate1d(ndimage.correlate1d(values, kernel, 0, mode="nearest"), kernel, 1, mode="nearest")
    assert not np.array_equal(in_float32, scipy_blur(values, 1.0))
    np.testing.assert_array_equal(gaussian_blur(values), scipy_blur(values, 1.0))


def test_without_the_fast_path_every_axis_is_scipys(monkeypatch):
    monkeypatch.setattr(blur_module, "_rows_match_scipy", lambda sigma, dtype: False)
    values = np.random.default_rng(1).random((30, 20, 10)).astype(np.float32)
    np.testing.assert_array_equal(gaussian_blur(values, (1.0, 2.0, 0.5)), scipy_blur(values, (1.0, 2.0, 0.5)))


def test_blur_reads_strided_maps_and_writes_into_strided_out():
    values = np.random.default_rng(2).random((90, 120)).astype(np.float32)
    view = values[5:80:2, ::3]
    framed = np.full((view.shape[0] + 4, view.shape[1] + 4), -np.inf, np.float32)
    result = gaussian_blur(view, 1.0, out=framed[2:-2, 2:-2])
    np.testing.assert_array_equal(result, scipy_blur(view, 1.0))
    assert np.all(framed[:2] == -np.inf) and np.all(framed[:, -2:] == -np.inf)  # nothing written outside
    np.testing.assert_array_equal(gaussian_blur(np.arange(12).reshape(3, 4), 1.0), scipy_blur(np.arange(12.0).reshape(3, 4), 1.0))
    with pytest.raises(ValueError, match="out must have"):
        gaussian_blur(values, 1.0, out=np.empty((90, 120)))
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur(values, -1.0)
