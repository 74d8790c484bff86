"""The object-containing crop sampler: every crop holds an object, bad input fails clearly."""
import warnings

import numpy as np
import pytest
import torch

from seqsi.data.crops import ObjectCrops, minmax_unit, pad_to_patch
from seqsi.engine.localization import photometric_augment
from seqsi.localization import score_map


def _blobs(shape, centres, radius=3):
    """An image with bright discs/balls and its label mask."""
    grid = np.indices(shape)
    labels = np.zeros(shape, np.int32)
    for k, c in enumerate(centres, start=1):
        inside = sum((g - ci) ** 2 for g, ci in zip(grid, c)) <= radius**2
        labels[inside] = k
    image = 10.0 + 100.0 * (labels > 0) + np.random.default_rng(0).normal(0, 1, shape)
    return image.astype(np.float32), labels


def test_every_crop_contains_an_object_and_is_unit_normalised():
    image, labels = _blobs((64, 64), [(10, 10), (50, 40)])
    crops = ObjectCrops([image], [score_map(labels)], 16, crops_per_image=20, seed=3)
    for i in range(len(crops)):
        x, y = crops[i]
        assert x.shape == y.shape == (1, 16, 16)
        assert y.max() >= 0.5
        assert x.min() == 0 and x.max() == 1


def test_crops_are_a_function_of_seed_epoch_and_index():
    image, labels = _blobs((64, 64), [(10, 10), (50, 40), (30, 20)])
    a = ObjectCrops([image], [score_map(labels)], 16, crops_per_image=4, seed=1)
    b = ObjectCrops([image], [score_map(labels)], 16, crops_per_image=4, seed=1)
    first = [a.crop_start(i) for i in range(4)]
    assert first == [b.crop_start(i) for i in range(4)]
    a.set_epoch(1)
    assert [a.crop_start(i) for i in range(4)] != first


def test_sparse_image_without_redraws_still_yields_an_object():
    """One tiny object in a large image: the bounded fallback places the crop around it."""
    image, labels = _blobs((200, 200), [(150, 30)], radius=2)
    crops = ObjectCrops([image], [score_map(labels)], 8, crops_per_image=10, max_redraws=0, seed=0)
    assert all(crops[i][1].max() >= 0.5 for i in range(len(crops)))


def test_images_without_objects_are_excluded_with_a_warning():
    image, labels = _blobs((32, 32), [(16, 16)])
    empty = np.zeros((32, 32), np.float32)
    with pytest.warns(UserWarning, match="empty_0"):
        crops = ObjectCrops([image, image], [score_map(labels), empty], 16, names=["full_0", "empty_0"])
    assert crops.names == ["full_0"] and crops.excluded == ["empty_0"]


def test_no_object_anywhere_is_an_error_not_an_endless_loop():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="no image holds an object"):
            ObjectCrops([np.ones((32, 32))] * 2, [np.zeros((32, 32))] * 2, 16)


def test_image_smaller_than_patch_is_mirror_padded_or_refused():
    image, labels = _blobs((10, 12, 40), [(5, 6, 20)], radius=2)
    crops = ObjectCrops([image], [score_map(labels)], (16, 16, 16), crops_per_image=3)
    x, y = crops[0]
    assert x.shape == (1, 16, 16, 16) and y.max() >= 0.5
    with pytest.raises(ValueError, match="tiny.tif.*smaller than the patch"):
        ObjectCrops([image], [score_map(labels)], 16, names=["tiny.tif"], pad="error")
    assert pad_to_patch(np.ones((1, 3)), (4, 4), "x").shape == (4, 4)  # one-pixel axes: edge padding


def test_constant_crop_is_zeros_not_nan():
    labels = np.zeros((32, 32), np.int32)
    labels[10:20, 10:20] = 1
    crops = ObjectCrops([np.full((32, 32), 7.0)], [score_map(labels)], 16)
    x, _ = crops[0]
    assert torch.isfinite(x).all() and (x == 0).all()
    assert not np.isnan(minmax_unit(np.full(5, 3.0))).any()


def test_mismatched_shapes_and_bad_arguments_are_named():
    image, labels = _blobs((32, 32), [(16, 16)])
    with pytest.raises(ValueError, match="a.tif: image shape"):
        ObjectCrops([image], [score_map(labels)[:30]], 16, names=["a.tif"])
    with pytest.raises(ValueError, match="patch must be"):
        ObjectCrops([image], [score_map(labels)], (16, 16, 16))
    with pytest.raises(ValueError, match="pad must be"):
        ObjectCrops([image], [score_map(labels)], 16, pad="zeros")


def test_photometric_augmentation_alters_crops_only_and_is_seeded():
    assert photometric_augment({"suite": "fluorescence", "group": "none"}) is None
    augment = photometric_augment({"suite": "fluorescence", "group": "Aff"})
    x, y = torch.rand(32, 1, 8, 8), torch.rand(32, 1, 8, 8)
    ax, ay = augment(x, y, torch.Generator().manual_seed(0))
    bx, _ = augment(x, y, torch.Generator().manual_seed(0))
    assert ay is y and torch.equal(ax, bx)
    changed = (ax != x).flatten(1).any(1)
    assert 0 < int(changed.sum()) < 32  # per crop: some get an entry of the group, some the identity
