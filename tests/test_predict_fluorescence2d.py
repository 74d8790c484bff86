"""2D fluorescence generator: sections of the 3D model, written in the 2D experiment's layout."""
import json

import numpy as np
import pytest

from seqsi.data.bioimage import BioimageDataset, read_spacing
from seqsi.data.fluorescence import FluorescenceParams, volume_rng
from seqsi.data.fluorescence2d import NUCLEI_2D, generate_image, write_dataset_2d


def test_images_are_reproducible_2d_with_every_object_in_the_section():
    a, b = generate_image(NUCLEI_2D, volume_rng(0, "train", 3)), generate_image(NUCLEI_2D, volume_rng(0, "train", 3))
    assert a.image.shape == a.labels.shape == (128, 128) and a.image.dtype == np.uint16
    assert np.array_equal(a.image, b.image)
    ids = np.unique(a.labels)
    assert len(ids) - 1 == len(a.kinds) > 3  # every drawn object cuts the slice
    inside = a.image[a.labels > 0].mean()
    outside = a.image[a.labels == 0].mean()
    assert inside > outside + 20  # nuclei are brighter than the background


def test_dataset_layout_with_artifact_sets(tmp_path):
    params = NUCLEI_2D.replace(shape=(1, 64, 64))
    meta = write_dataset_2d(tmp_path / "d", params, counts={"train": 2, "val": 1, "test": 1}, artifact_levels=(3.0,))
    assert json.loads((tmp_path / "d" / "dataset.json").read_text())["counts"] == meta["counts"]
    test = BioimageDataset(tmp_path / "d" / "test", ndim=2)
    arti = BioimageDataset(tmp_path / "d" / "test" / "arti_3", ndim=2)
    assert test.names == arti.names and read_spacing(test.samples[0].image) == pytest.approx((0.5, 0.5))
    clean, bright = test.load(0), arti.load(0)
    assert np.array_equal(clean["mask"], bright["mask"]) and np.all(bright["image"] >= clean["image"])
    with pytest.raises(ValueError, match="one-voxel-thick"):
        generate_image(FluorescenceParams(shape=(2, 16, 16)), volume_rng(0, "train", 0))
