"""Localization data: the embedded DSB2018 sample layout, validation hold-out, bad folders."""
import numpy as np
import pytest
import tifffile

from seqsi.data.bioimage import BioimageDataset, read_mask
from seqsi.data.dsb_sample import REGIONS, build_sample_dataset, relabel_region, sample_files
from seqsi.engine.localization import TINY_CONFIG, load_items, tiny_config, training_items, validation_names


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build_sample_dataset(tmp_path_factory.mktemp("dsb") / "sample")


def test_sample_is_a_dsb_layout_of_disjoint_regions(sample):
    image = tifffile.imread(sample_files()[0])
    covered = np.zeros(image.shape, int)
    for split, regions in REGIONS.items():
        ds = BioimageDataset(sample / split, ndim=2)
        assert ds.names == [name for name, _ in regions]
        for name, window in regions:
            covered[window] += 1
            item = ds.load(ds.names.index(name))
            assert np.array_equal(item["image"], image[window])  # pixels copied as they are
            ids = np.unique(item["mask"])[1:]
            assert np.array_equal(ids, np.arange(1, len(ids) + 1))  # relabelled 1..K
            assert (sample / split / "scores" / f"{name}.tif").is_file()
    assert (covered <= 1).all()  # no pixel in two regions
    total = sum(BioimageDataset(sample / s).check().n_objects for s in REGIONS)
    assert total >= 125  # nuclei cut by the middle lines count once per side


def test_sample_refuses_to_overwrite_a_foreign_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="sample.json"):
        build_sample_dataset(tmp_path / "mine", overwrite=True)


def test_relabel_drops_small_fragments():
    mask = np.zeros((10, 10), np.uint16)
    mask[:5, :5], mask[9, 9], mask[6:, :3] = 7, 3, 12
    out = relabel_region(mask, min_fragment=4)
    assert sorted(np.unique(out)) == [0, 1, 2] and out[9, 9] == 0


def _write_split(root, split, n, shape=(48, 48), mask_shape=None, mask_dtype=np.uint16, constant=False):
    rng = np.random.default_rng(n)
    for i in range(n):
        image = rng.normal(100, 5, shape).astype(np.float32) if not constant else np.full(shape, 5, np.float32)
        mask = np.zeros(mask_shape or shape, mask_dtype)
        mask[10:20, 10:20] = 1
        mask[30:40, 25:35] = 4  # label 2 and 3 missing: fine
        if not constant:
            image[10:20, 10:20] += 50
        (root / split / "images").mkdir(parents=True, exist_ok=True)
        (root / split / "masks").mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(root / split / "images" / f"img_{i}.tif", image)
        tifffile.imwrite(root / split / "masks" / f"img_{i}.tif", mask)


def test_validation_is_held_out_of_train_with_a_seed(tmp_path):
    _write_split(tmp_path, "train", 6)
    cfg = {"root": tmp_path, "dims": 2, "val_count": 2, "val_seed": 3, "spacing": None}
    train, val = training_items(cfg)
    assert len(train) == 4 and len(val) == 2
    assert not {i["name"] for i in train} & {i["name"] for i in val}
    assert [i["name"] for i in val] == validation_names(tmp_path / "train", 2, 3)
    assert all(len(i["centres"]) == 2 for i in train)  # missing label ids are no problem
    with pytest.raises(ValueError, match="cannot hold out 6 of 6"):
        training_items({**cfg, "val_count": 6})


def test_bad_folders_fail_with_the_file_named(tmp_path):
    _write_split(tmp_path / "shape", "train", 1, mask_shape=(48, 40))
    with pytest.raises(ValueError, match="img_0.tif.*differs"):
        load_items(tmp_path / "shape" / "train", 2)
    _write_split(tmp_path / "float", "train", 1, mask_dtype=np.float32)
    with pytest.raises(ValueError, match="img_0.tif.*integer label mask"):
        load_items(tmp_path / "float" / "train", 2)
    with pytest.raises(FileNotFoundError, match="no train/ folder"):
        training_items({"root": tmp_path / "nothing", "dims": 2, "val_count": 1, "val_seed": 0})


def test_constant_image_is_read_and_reported(tmp_path):
    _write_split(tmp_path, "train", 1, constant=True)
    report = BioimageDataset(tmp_path / "train").check()
    assert report.constant_images == ["img_0.tif"]
    assert read_mask(tmp_path / "train" / "masks" / "img_0.tif").max() == 4


def test_tiny_config_is_the_shipped_preset_with_the_callers_choices(tmp_path):
    flat = tiny_config(tmp_path)
    deep = tiny_config(tmp_path / "volumes", dims=3, mode="affeq", loss="bce", out=tmp_path / "runs", seed=7)
    assert TINY_CONFIG.parent.name == "configs" and TINY_CONFIG.parent.parent.name == "seqsi"  # package data
    assert flat["experiment"] == "loc2d" and flat["data"]["dims"] == 2 and flat["crops"]["patch"] == 64
    assert flat["threshold"]["search"] == "brent" and flat["model"]["post_activation"] is False
    assert flat["model"]["mode"] == "seqsi" and flat["model"]["loss"] is None and flat["seed"] == 1
    assert deep["experiment"] == "loc3d" and deep["data"]["dims"] == 3 and deep["crops"]["patch"] == [16, 32, 32]
    assert deep["threshold"]["search"] == "grid" and deep["model"]["post_activation"] is True
    assert deep["data"]["root"] == str(tmp_path / "volumes") and deep["out"] == str(tmp_path / "runs")
    assert (deep["model"]["mode"], deep["model"]["loss"], deep["seed"]) == ("affeq", "bce", 7)
    assert deep["train"]["lr"] == flat["train"]["lr"] == 1e-3  # read as a number, not the string "1.0e-3"
    assert "preset" not in flat and "presets" not in deep
    assert list(flat) == list(deep) and all(list(flat[k]) == list(deep[k]) for k in flat if isinstance(flat[k], dict))
    with pytest.raises(ValueError, match="dims must be 2 or 3"):
        tiny_config(tmp_path, dims=4)
