"""Folder I/O of the localization experiments: real TIFF files written to disk and read back."""
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

from seqsi.data.bioimage import (BioimageDataset, artifact_folder_name, artifact_sets, list_samples, read_image,
                                 read_mask, read_spacing, write_score_maps, write_tiff)
from seqsi.localization import score_map

DSB_SAMPLE = Path("/work/shared/data/dsb2018_sample")


def _labels_2d(shape=(24, 32), ids=(1, 2, 3)):
    mask = np.zeros(shape, np.uint16)
    for k, label in enumerate(ids):
        mask[3 + 7 * k: 7 + 7 * k, 4 + 8 * k: 10 + 8 * k] = label
    return mask


def _split(root: Path, names=("a", "b"), ndim=2, ids=(1, 2, 3)):
    rng = np.random.default_rng(0)
    for name in names:
        mask = _labels_2d(ids=ids) if ndim == 2 else np.stack([_labels_2d(ids=ids)] * 5)
        image = (rng.random(mask.shape) * 50 + 200 * (mask > 0)).astype(np.uint16)
        write_tiff(root / "images" / f"{name}.tif", image)
        write_tiff(root / "masks" / f"{name}.tif", mask)
    return root


def test_write_tiff_round_trips_values_dtype_and_voxel_size(tmp_path):
    rng = np.random.default_rng(1)
    cases = {
        "vol_u16.tif": (rng.integers(0, 65535, (4, 6, 7)).astype(np.uint16), (0.5, 0.2, 0.25)),
        "img_f32.tif": (rng.random((6, 7)).astype(np.float32), (0.3, 0.3)),
        "labels_i32.tif": (rng.integers(0, 70000, (3, 5, 6)).astype(np.int32), (2.0, 1.0, 1.0)),
        "one_slice.tif": (rng.integers(0, 9, (1, 5, 6)).astype(np.uint16), (0.4, 0.2, 0.2)),
    }
    for name, (array, spacing) in cases.items():
        write_tiff(tmp_path / name, array, spacing=spacing, compression="zlib")
        back = tifffile.imread(tmp_path / name)
        assert back.dtype == array.dtype and back.shape == array.shape, name
        np.testing.assert_array_equal(back, array)
        assert read_spacing(tmp_path / name) == pytest.approx(spacing, rel=1e-6), name
    write_tiff(tmp_path / "plain.tif", cases["vol_u16.tif"][0])
    assert read_spacing(tmp_path / "plain.tif") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*cases, "plain.tif"])  # no temp files left
    with pytest.raises(ValueError, match="spacing"):
        write_tiff(tmp_path / "bad.tif", cases["vol_u16.tif"][0], spacing=(0.5, 0, 0.2))
    assert not (tmp_path / "bad.tif").exists()


def test_dataset_pairs_by_name_and_loads_lazily(tmp_path):
    root = _split(tmp_path / "train", names=("b", "a", "c"))
    (root / "images" / ".c.tif.123.tmp").write_bytes(b"half-written")  # atomic-write leftovers are ignored
    (root / "masks" / "c.tif").rename(root / "masks" / "c.tiff")  # .tif and .tiff pair by stem
    ds = BioimageDataset(root, ndim=2)
    assert ds.names == ["a", "b", "c"] and len(ds) == 3
    item = ds[0]
    assert item["image"].dtype == np.float32 and item["mask"].dtype == np.int32
    np.testing.assert_array_equal(item["mask"], _labels_2d())
    assert item["centres"].shape == (3, 2)
    np.testing.assert_allclose(item["centres"][0], [4.5, 6.5])
    np.testing.assert_array_equal(item["score"], score_map(_labels_2d()))  # no scores/: computed from the mask


def test_stored_score_maps_are_used(tmp_path):
    root = _split(tmp_path / "train")
    written = write_score_maps(root)
    assert [p.name for p in written] == ["a.tif", "b.tif"]
    assert write_score_maps(root) == []  # already there: kept
    np.testing.assert_array_equal(BioimageDataset(root)[0]["score"], score_map(_labels_2d()))
    write_tiff(root / "scores" / "a.tif", np.full((24, 32), 0.25, np.float32))  # a different map on disk wins
    assert np.all(BioimageDataset(root)[0]["score"] == 0.25)
    (root / "scores" / "b.tif").unlink()
    with pytest.raises(ValueError, match=r"scores.*b\.tif"):
        BioimageDataset(root)


def test_missing_partners_are_named(tmp_path):
    root = _split(tmp_path / "test", names=("a", "b"))
    (root / "masks" / "b.tif").unlink()
    with pytest.raises(ValueError) as err:
        list_samples(root)
    assert "b.tif" in str(err.value) and str(root / "masks") in str(err.value)
    root = _split(tmp_path / "test2", names=("a",))
    write_tiff(root / "masks" / "z.tif", _labels_2d())
    with pytest.raises(ValueError, match=r"z\.tif.*no image"):
        list_samples(root)
    with pytest.raises(FileNotFoundError, match="images"):
        list_samples(tmp_path)
    (tmp_path / "nomasks" / "images").mkdir(parents=True)
    shutil.copy(root / "images" / "a.tif", tmp_path / "nomasks" / "images")
    with pytest.raises(FileNotFoundError, match="masks"):
        list_samples(tmp_path / "nomasks")
    assert list_samples(tmp_path / "nomasks", require_masks=False)[0].mask is None


def test_bad_2d_inputs_raise_and_name_the_file(tmp_path):
    root = _split(tmp_path / "train", names=("a",))
    mask_path = root / "masks" / "a.tif"
    write_tiff(mask_path, _labels_2d(shape=(24, 30)))
    with pytest.raises(ValueError, match=r"a\.tif.*mask shape \(24, 30\).*\(24, 32\)"):
        BioimageDataset(root, ndim=2)[0]
    write_tiff(mask_path, _labels_2d().astype(np.float32) * 0.5)
    with pytest.raises(ValueError, match=r"a\.tif.*integer label mask"):
        BioimageDataset(root, ndim=2).check()
    write_tiff(mask_path, _labels_2d().astype(np.uint8) > 0)
    with pytest.raises(ValueError, match="integer label mask"):
        read_mask(mask_path)
    write_tiff(mask_path, _labels_2d())
    image = np.full((24, 32), 3.0, np.float32)
    image[0, 0] = np.nan
    write_tiff(root / "images" / "a.tif", image)
    with pytest.raises(ValueError, match=r"a\.tif.*NaN"):
        BioimageDataset(root, ndim=2)[0]
    write_tiff(root / "images" / "a.tif", np.zeros((24, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=r"expected a 2D image.*channels"):
        read_image(root / "images" / "a.tif", ndim=2)


def test_constant_image_and_empty_mask_are_allowed_but_reported(tmp_path):
    root = _split(tmp_path / "train", names=("a", "b"))
    write_tiff(root / "images" / "a.tif", np.full((24, 32), 7, np.uint16))
    write_tiff(root / "masks" / "b.tif", np.zeros((24, 32), np.uint16))
    ds = BioimageDataset(root)
    report = ds.check()
    assert report.constant_images == ["a.tif"] and report.empty_masks == ["b.tif"]
    assert report.n_objects == 3 and report.shapes == {(24, 32)}
    assert "constant" in str(report) and "empty" in str(report)
    empty = ds[1]
    assert empty["centres"].shape == (0, 2) and not empty["score"].any()


def test_3d_volumes_with_non_consecutive_labels(tmp_path):
    root = _split(tmp_path / "test", ndim=3, ids=(1, 2, 5))
    ds = BioimageDataset(root)
    assert ds.ndim == 3
    item = ds[0]
    assert item["image"].shape == (5, 24, 32) and item["centres"].shape == (3, 3)
    for label in (1, 2, 5):  # every object, whatever its id, gets a peak of 1 and zero outside it
        assert item["score"][item["mask"] == label].max() == 1.0
    assert not item["score"][item["mask"] == 0].any()
    assert ds.check().non_consecutive_labels == ["a.tif", "b.tif"]
    with pytest.raises(ValueError, match=r"expected a 2D image; got shape \(5, 24, 32\)"):
        BioimageDataset(root, ndim=2)[0]
    write_tiff(root / "images" / "c.tif", _labels_2d())
    write_tiff(root / "masks" / "c.tif", _labels_2d())
    with pytest.raises(ValueError, match=r"c\.tif: expected a 3D image"):
        BioimageDataset(root, ndim=3).check()


def test_artifact_sets_layouts_and_missing_masks(tmp_path):
    test = _split(tmp_path / "test", ndim=3)
    for k in (10, 1.5, 3, 5):  # nested layout: arti_<k>/images + arti_<k>/masks
        folder = test / artifact_folder_name(k)
        shutil.copytree(test / "images", folder / "images")
        shutil.copytree(test / "masks", folder / "masks")
    assert [p.name for p in artifact_sets(test).values()] == ["arti_1.5", "arti_3", "arti_5", "arti_10"]
    assert list(artifact_sets(test)) == [1.5, 3.0, 5.0, 10.0]
    assert BioimageDataset(test / "arti_3").names == ["a", "b"]
    flat = test / "arti_7"  # the paper's flat layout: arti_<k>/*.tif without images/ and masks/
    flat.mkdir()
    for p in (test / "images").iterdir():
        shutil.copy(p, flat)
    with pytest.raises(FileNotFoundError) as err:
        BioimageDataset(flat)
    assert "arti_7" in str(err.value) and "masks" in str(err.value) and "masks_dir" in str(err.value)
    ds = BioimageDataset(flat, masks_dir=test / "masks")  # the clean masks serve the artifact set
    np.testing.assert_array_equal(ds[1]["mask"], BioimageDataset(test)[1]["mask"])


@pytest.mark.skipif(not DSB_SAMPLE.is_dir(), reason="DSB2018 sample not available")
def test_real_dsb2018_image_in_stardist_layout(tmp_path):
    for sub, name in (("images", "image.tif"), ("masks", "mask.tif")):
        (tmp_path / "train" / sub).mkdir(parents=True)
        shutil.copy(DSB_SAMPLE / name, tmp_path / "train" / sub / "img.tif")
    ds = BioimageDataset(tmp_path / "train", ndim=2)
    item = ds[0]
    assert item["image"].shape == (512, 512) and item["centres"].shape == (125, 2)
    report = ds.check()
    assert report.n_objects == 125 and report.non_consecutive_labels == ["img.tif"]
