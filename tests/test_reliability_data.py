"""Issue 14, cases 9, 10 and 15 on real TIFF folders: a patch far larger than the volume warns
with the factor and is refused beyond a bound unless told; a stray file in images/ is an error
naming it; a TIFF without voxel size is said once, naming the file and the unit used."""
import warnings

import numpy as np
import pytest

from helpers import ROOT, load_script
from seqsi.cli import guarded
from seqsi.data import bioimage
from seqsi.data.bioimage import MissingVoxelSizeWarning, write_tiff
from seqsi.engine.localization import crop_set, load_items, tiny_config, training_items

LOC3D = ROOT / "object_localization" / "3D"


def _volumes(root, split="train", n=3, shape=(24, 64, 64), spacing=None):
    rng = np.random.default_rng(0)
    for k in range(n):
        image = rng.integers(0, 1000, shape).astype(np.uint16)
        mask = np.zeros(shape, np.int32)
        mask[10:14, 20:26, 20:26], mask[5:9, 40:46, 30:36] = 1, 2
        write_tiff(root / split / "images" / f"v{k}.tif", image, spacing=spacing)
        write_tiff(root / split / "masks" / f"v{k}.tif", mask)
    return root


def test_huge_patch_is_refused_naming_the_factor_and_the_way_out(tmp_path):
    data = _volumes(tmp_path / "data")
    config = tiny_config(data, dims=3)
    config["data"]["val_count"] = 1
    train, _ = training_items(config["data"])
    with pytest.raises(ValueError, match=r"patch \(200, 200, 200\) is 81.4 times the size of v\d .*crops.pad=reflect_any"):
        crop_set(train, {**config["crops"], "patch": 200}, 0)
    with pytest.warns(UserWarning, match="81.4 times"):
        crops = crop_set(train, {**config["crops"], "patch": 200, "pad": "reflect_any"}, 0)
    assert crops[0][0].shape == (1, 200, 200, 200)
    with pytest.warns(UserWarning, match=r"patch \(24, 64, 128\) is 2 times the size"):
        crop_set(train, {**config["crops"], "patch": [24, 64, 128]}, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a patch within the volume: no padding, no warning
        crop_set(train, {**config["crops"], "patch": [16, 32, 32]}, 0)


def test_train_script_refuses_a_huge_patch_before_training(tmp_path, capsys):
    data = _volumes(tmp_path / "data")
    script = load_script(LOC3D, "train")
    code = guarded(script.main, ["--preset", "quick", "--data_path", str(data), "--out", str(tmp_path / "runs"),
                                 "--set", "crops.patch=[200,200,200]", "--set", "data.val_count=1", "--no_progress"])
    err = capsys.readouterr().err
    assert code == 2 and "81.4 times" in err and "reflect_any" in err
    assert not list((tmp_path / "runs").rglob("last.pt"))


@pytest.mark.parametrize("stray, folder", [("notes.txt", "images"), ("v0.png", "images"), ("v9.tif.gz", "masks")])
def test_stray_file_in_a_data_folder_is_an_error_naming_it(tmp_path, stray, folder):
    data = _volumes(tmp_path / "data", n=2)
    (data / "train" / folder / stray).write_bytes(b"x")
    (data / "train" / "images" / ".v0.tif.abc123.tmp").write_bytes(b"temp")  # hidden files stay ignored
    with pytest.raises(ValueError, match=rf"{folder}: {stray} not a TIFF; only .tif, .tiff files are read"):
        load_items(data / "train", 3)


def test_upper_case_tiff_suffix_is_read(tmp_path):
    data = _volumes(tmp_path / "data", n=2)
    for sub in ("images", "masks"):
        (data / "train" / sub / "v1.tif").rename(data / "train" / sub / "v1.TIFF")
    assert [i["name"] for i in load_items(data / "train", 3)] == ["v0", "v1"]


def test_missing_voxel_size_is_said_once_with_file_and_unit(tmp_path, monkeypatch):
    monkeypatch.setattr(bioimage, "_voxel_note_given", False)
    data = _volumes(tmp_path / "data")
    _volumes(tmp_path / "data", split="test", n=2)
    config = tiny_config(data, dims=3)
    config["data"]["val_count"] = 1
    with pytest.warns(MissingVoxelSizeWarning) as said:
        training_items(config["data"])                # training
        load_items(data / "test", 3, score=False)    # evaluation / prediction
    notes = [w for w in said if issubclass(w.category, MissingVoxelSizeWarning)]
    assert len(notes) == 1
    text = str(notes[0].message)
    assert "v0.tif" in text and "1 voxel per axis" in text and "data.spacing" in text


def test_no_note_when_the_voxel_size_is_known(tmp_path, monkeypatch):
    monkeypatch.setattr(bioimage, "_voxel_note_given", False)
    data = _volumes(tmp_path / "data", spacing=(0.5, 0.1, 0.1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingVoxelSizeWarning)
        items = load_items(data / "train", 3)
        load_items(data / "train", 3, spacing=(1.0, 1.0, 1.0))
    assert items[0]["spacing"] == (0.5, 0.1, 0.1)
