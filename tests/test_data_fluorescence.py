"""The synthetic 3D fluorescence generator: reproducible, self-consistent, artifacts only where added."""
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import side_by_side
from scipy import ndimage as ndi

from seqsi.data.bioimage import BioimageDataset, artifact_sets, read_image, read_mask, read_score, read_spacing
from seqsi.data.fluorescence import (ARTIFACT_LEVELS, FluorescenceParams, artifact_field, generate_volume, preset,
                                     volume_rng, write_dataset)
from seqsi.localization import score_map

REPO = Path(__file__).resolve().parents[1]
TINY = FluorescenceParams(shape=(12, 40, 40), density=8.0)
COUNTS = {"train": 2, "val": 1, "test": 2}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("fluo") / "data"
    meta = write_dataset(root, TINY, seed=3, counts=COUNTS)
    return root, meta


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files_other_seed_differs(dataset, tmp_path):
    root, _ = dataset
    again = tmp_path / "again"
    write_dataset(again, TINY, seed=3, counts=COUNTS)
    first, second = _files(root), _files(again)
    assert list(first) == list(second) and len(first) == 5 * 3 + 2 * len(ARTIFACT_LEVELS) * 2 + 1
    assert all(first[k] == second[k] for k in first)
    other = tmp_path / "other"
    write_dataset(other, TINY, seed=4, counts={"train": 1})
    assert (other / "train/images/train_0000.tif").read_bytes() != first["train/images/train_0000.tif"]


def test_layout_metadata_and_readers(dataset):
    root, meta = dataset
    on_disk = json.loads((root / "dataset.json").read_text())
    assert on_disk == json.loads(json.dumps(meta))
    assert on_disk["seed"] == 3 and on_disk["params"]["shape"] == [12, 40, 40]
    assert FluorescenceParams(**on_disk["params"]) == TINY  # the stored parameters rebuild the generator
    for split, n in COUNTS.items():
        ds = BioimageDataset(root / split, ndim=3)
        assert ds.names == [f"{split}_{i:04d}" for i in range(n)]
        assert all(s.score is not None for s in ds.samples)
    assert list(artifact_sets(root / "test")) == list(ARTIFACT_LEVELS)
    clean = BioimageDataset(root / "test", ndim=3)[1]
    for folder in artifact_sets(root / "test").values():
        assert sorted(p.name for p in folder.iterdir()) == ["images", "masks"]
        ds = BioimageDataset(folder, ndim=3)
        assert ds.names == ["test_0000", "test_0001"]
        # no scores/ here: computed with the stored voxel size, they equal the clean set's maps
        np.testing.assert_array_equal(ds[1]["score"], clean["score"])
        assert ds[1]["spacing"] == pytest.approx(TINY.voxel_size)
    image_path = root / "train/images/train_0000.tif"
    assert read_image(image_path).dtype == np.uint16
    assert read_spacing(image_path) == pytest.approx(TINY.voxel_size)


def test_masks_and_score_maps_agree_with_the_images(dataset):
    root, meta = dataset
    for split in COUNTS:
        for record in meta["volumes"][split]:
            name = record["name"]
            image = read_image(root / split / "images" / f"{name}.tif").astype(np.float64)
            labels = read_mask(root / split / "masks" / f"{name}.tif", shape=image.shape)
            score = read_score(root / split / "scores" / f"{name}.tif", shape=image.shape)
            ids = np.unique(labels[labels > 0])
            assert len(ids) == record["n_objects"] >= 1 and ids[-1] == len(ids)  # ids 1..K
            np.testing.assert_array_equal(score, score_map(labels, spacing=TINY.voxel_size))
            assert np.all((score > 0) <= (labels > 0))
            # objects are where the signal is: every object's core is brighter than the far background
            # (a mask shifted by 8 voxels fails these on most volumes)
            smooth = ndi.uniform_filter(image, 3)
            far = ~ndi.binary_dilation(labels > 0, iterations=4)
            background = np.percentile(smooth[far], 99.9)
            core = ndi.maximum(smooth, labels, ids)
            assert np.all(core > background), (name, core.min(), background)
            assert image[labels > 0].mean() > image[far].mean() + 20


def test_artifact_sets_differ_from_clean_only_where_artifacts_were_added(dataset):
    root, meta = dataset
    for i, record in enumerate(meta["volumes"]["test"]):
        name = record["name"]
        clean = read_image(root / "test/images" / f"{name}.tif").astype(np.int64)
        # regenerate the artifact geometry from its documented stream
        field, kinds = artifact_field(TINY, volume_rng(3, "test", i, "artifacts"))
        assert kinds == record["artifacts"] and field.max() > 0
        level = record["object_level_photons"]
        previous = None
        for k, folder in artifact_sets(root / "test").items():
            arti = read_image(folder / "images" / f"{name}.tif").astype(np.int64)
            diff = arti - clean
            assert np.all(diff >= 0)  # artifacts only add light
            assert not np.any(diff[field == 0])  # ... and only inside their support
            assert (folder / "masks" / f"{name}.tif").read_bytes() == (root / "test/masks" / f"{name}.tif").read_bytes()
            # the added photons are k times the typical object intensity, times the artifact's shape
            expected = k * level * field
            assert abs(diff.sum() - expected.sum()) < 5 * np.sqrt(expected.sum()) + 1
            bright = field >= 0.8
            assert abs(diff[bright].mean() / (level * field[bright].mean()) - k) < 0.15 * k
            if previous is not None:
                assert diff.sum() > previous
            previous = diff.sum()


def test_anisotropic_voxels_keep_objects_round_in_micrometres():
    params = FluorescenceParams(shape=(16, 64, 64), voxel_size=(0.8, 0.2, 0.2), count=6, spot_fraction=0.0,
                                nucleus_aspect=(1.0, 1.0), nucleus_radius=(1.5, 1.5))
    labels = generate_volume(params, np.random.default_rng(0)).labels
    for label in range(1, 7):
        z, y, x = np.nonzero(labels == label)
        if min(z.min(), y.min(), x.min()) == 0 or z.max() == 15 or max(y.max(), x.max()) == 63:
            continue  # cut by the border
        extent_um = [(c.max() - c.min() + 1) * v for c, v in zip((z, y, x), params.voxel_size)]
        assert extent_um == pytest.approx([3.0] * 3, abs=0.81)  # a 1.5 um ball, within one z voxel
        assert (x.max() - x.min() + 1) >= 3 * (z.max() - z.min() + 1)  # 4x more voxels across in x than in z


def test_tiny_volumes_and_empty_scenes():
    tiny = FluorescenceParams(shape=(3, 8, 8))  # far smaller than any training patch: still one object
    vol = generate_volume(tiny, np.random.default_rng(1))
    assert vol.image.shape == (3, 8, 8) and vol.labels.max() == 1 and vol.image.dtype == np.uint16
    empty = generate_volume(TINY.replace(count=0), np.random.default_rng(1))
    assert not empty.labels.any() and empty.kinds == []


def test_bad_parameters_are_refused_by_name(tmp_path):
    for changes, name in (({"voxel_size": (0.4, 0.0, 0.2)}, "voxel_size"), ({"shape": (8, 8)}, "shape"),
                          ({"brightness": (300, 60)}, "brightness"), ({"psf_sigma": (-1, 0, 0)}, "psf_sigma"),
                          ({"spot_fraction": 1.5}, "spot_fraction"), ({"density": 0}, "density")):
        with pytest.raises(ValueError, match=name):
            TINY.replace(**changes)
    with pytest.raises(ValueError, match="counts"):
        write_dataset(tmp_path / "x", TINY, counts={"training": 2})
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="dataset.json"):
        write_dataset(tmp_path / "mine", TINY, counts={"train": 1}, overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="preset"):
        preset("huge")


def test_overwrite_replaces_a_generated_dataset(dataset, tmp_path):
    root = tmp_path / "d"
    write_dataset(root, TINY, seed=1, counts={"train": 2}, artifact_levels=())
    with pytest.raises(FileExistsError):
        write_dataset(root, TINY, seed=1, counts={"train": 1})
    write_dataset(root, TINY, seed=1, counts={"train": 1, "test": 1}, artifact_levels=(2,), overwrite=True)
    assert BioimageDataset(root / "train").names == ["train_0000"]
    assert list(artifact_sets(root / "test")) == [2.0]
    assert [p.name for p in tmp_path.iterdir()] == ["d"]  # no temporary folders left behind


@pytest.mark.slow
def test_command_line_entry_writes_data_and_preview(tmp_path):
    out, png = tmp_path / "data", tmp_path / "preview.png"
    cmd = [sys.executable, str(REPO / "object_localization/3D/generate_synthetic.py"), "--out", str(out),
           "--preset", "quick", "--n-train", "1", "--n-val", "0", "--n-test", "1", "--shape", "8", "24", "24",
           "--artifact_levels", "3", "--preview", str(png)]
    done, bad = side_by_side(dict(args=cmd, env={**os.environ, "MPLBACKEND": "Agg"}),
                             dict(args=cmd[:2] + ["--out", str(tmp_path / "bad"), "--voxel_size", "0.4", "-1", "0.2"]))
    assert done.returncode == 0, done.stderr
    assert "arti_3" in done.stdout and png.stat().st_size > 0 and (tmp_path / "preview_max.png").is_file()
    assert read_image(out / "test/arti_3/images/test_0000.tif").shape == (8, 24, 24)
    assert bad.returncode == 2 and "voxel_size" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad").exists()
