"""Score maps and centres from label masks, against a per-object loop and scikit-image."""
import numpy as np
import pytest
from skimage.measure import label as connected_components
from skimage.measure import regionprops

from seqsi.localization import check_same_shape, label_centres, score_map


def random_labels(rng, shape, n_seeds=12):
    """Blobs with scattered, non-consecutive label values (some objects touch)."""
    blobs = rng.random(shape) < 0.35
    labels = connected_components(blobs).astype(np.int32)
    remap = rng.permutation(np.arange(1, labels.max() + 1)) * 7 + 3
    return np.where(labels > 0, np.concatenate(([0], remap))[labels], 0).astype(np.int32)


def score_map_per_object(labels, spacing):
    """The paper's definition written literally, one object at a time."""
    out = np.zeros(labels.shape)
    for value in np.unique(labels[labels > 0]):
        pixels = np.argwhere(labels == value).astype(float)
        d = np.linalg.norm((pixels - pixels.mean(axis=0)) * spacing, axis=1)
        raw = d.max() - d
        out[tuple(pixels.astype(int).T)] = raw / raw.max() if raw.max() > 0 else 1.0
    return out


@pytest.mark.parametrize("shape, spacing", [((40, 50), (1.0, 1.0)), ((12, 20, 16), (1.0, 1.0, 1.0)),
                                            ((12, 20, 16), (2.5, 1.0, 1.0))])
def test_score_map_equals_the_definition_object_by_object(shape, spacing):
    labels = random_labels(np.random.default_rng(0), shape)
    expected = score_map_per_object(labels, np.asarray(spacing))
    got = score_map(labels, spacing=spacing)
    assert got.dtype == np.float32 and got.shape == labels.shape
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_score_is_one_at_the_pixel_nearest_the_centroid_and_zero_outside_objects():
    labels = random_labels(np.random.default_rng(1), (60, 60))
    score = score_map(labels)
    assert np.all(score[labels == 0] == 0)
    assert np.all((score >= 0) & (score <= 1))
    for region in regionprops(labels):
        pixels = region.coords
        d = np.linalg.norm(pixels - np.asarray(region.centroid), axis=1)
        values = score[tuple(pixels.T)]
        if d.max() - d.min() < 1e-9:  # every pixel equally far: the whole object is "nearest"
            assert np.all(values == 1)
            continue
        assert values[np.argmin(d)] == 1.0 and values[np.argmax(d)] == 0.0
        assert np.all(values[d > d.min() + 1e-9] < 1)


def test_score_is_one_exactly_at_an_integer_centroid_in_2d_and_3d():
    disc = np.zeros((21, 21), np.uint16)
    yy, xx = np.mgrid[:21, :21]
    disc[(yy - 10) ** 2 + (xx - 7) ** 2 <= 25] = 4
    score = score_map(disc)
    assert score[10, 7] == 1 and np.count_nonzero(score == 1) == 1
    assert np.unravel_index(np.argmax(score), score.shape) == (10, 7)

    ball = np.zeros((11, 13, 15), np.int64)
    zz, yy, xx = np.mgrid[:11, :13, :15]
    ball[(zz - 5) ** 2 + (yy - 6) ** 2 + (xx - 9) ** 2 <= 9] = 1
    score = score_map(ball)
    assert score[5, 6, 9] == 1 and np.count_nonzero(score == 1) == 1
    np.testing.assert_array_equal(label_centres(ball), [[5.0, 6.0, 9.0]])


def test_anisotropic_spacing_moves_the_nearest_pixel_not_the_centroid():
    # L-shaped object whose centroid is nearer the corner in z-units than in x-units.
    labels = np.zeros((1, 6, 6), np.int32)
    labels[0, 2, 0:5] = 1
    labels[0, 0:2, 0] = 1
    iso, aniso = score_map(labels), score_map(labels, spacing=(1.0, 10.0, 1.0))
    assert not np.array_equal(iso, aniso)
    assert np.all(aniso[labels == 0] == 0) and aniso.max() == 1


def test_centres_match_scikit_image_centroids_in_label_order():
    labels = random_labels(np.random.default_rng(2), (10, 30, 30))
    centres, values = label_centres(labels, return_labels=True)
    regions = sorted(regionprops(labels), key=lambda r: r.label)
    np.testing.assert_array_equal(values, [r.label for r in regions])
    np.testing.assert_allclose(centres, [r.centroid for r in regions], atol=1e-9)


def test_mask_without_objects_gives_no_centres_and_a_zero_map():
    empty = np.zeros((5, 6, 7), np.uint8)
    assert label_centres(empty).shape == (0, 3)
    score = score_map(empty)
    assert score.shape == empty.shape and not score.any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, bool])
def test_non_integer_masks_are_refused_naming_the_dtype(dtype):
    mask = np.zeros((4, 4), dtype)
    for fn in (score_map, label_centres):
        with pytest.raises(TypeError, match=np.dtype(dtype).name):
            fn(mask)


def test_negative_labels_and_bad_spacing_are_refused():
    with pytest.raises(ValueError, match="positive"):
        score_map(np.array([[0, -1]]))
    with pytest.raises(ValueError, match="spacing"):
        score_map(np.ones((3, 3), int), spacing=(1.0, 0.0))
    with pytest.raises(ValueError, match="spacing"):
        score_map(np.ones((3, 3), int), spacing=(1.0, 1.0, 1.0))


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(4, 6\)"):
        check_same_shape(np.zeros((4, 5)), np.zeros((4, 6), int))
