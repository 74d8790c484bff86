"""Issue 14, case 1: a zarr chunk absent from the store (deleted, never copied) is an error naming
the array and the chunk, or with --skip_missing_chunks a counted skip, never a patch of zeros.
Both zarr formats (2: `0/0.0.0`, 3: `0/c/0/0/0`) on real stores."""
import json

import numpy as np
import pytest
import zarr

from helpers import ROOT, load_script
from seqsi.cli import guarded
from seqsi.data.cryoet import prepare_classification_data
from seqsi.data.cryoet.readers import MissingChunkError, open_tomogram

SHAPE, CHUNK, SPACING = (16, 16, 16), 8, 10.012
RUNS = {f"TS_{i}": [(4, 4, 4), (12, 12, 12)] for i in range(5)}  # one pick in chunk 0.0.0, one in 1.1.1


def write_zarr(path, volume, zarr_format):
    group = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
    group.create_array("0", shape=volume.shape, dtype="float32", chunks=(CHUNK,) * 3)[...] = volume
    group.attrs["multiscales"] = [{"version": "0.4", "axes": [{"name": a, "type": "space"} for a in "zyx"],
                                   "datasets": [{"path": "0"}]}]


def chunk_file(tomogram, zarr_format, key=(0, 0, 0)):
    return tomogram / "0" / (".".join(map(str, key)) if zarr_format == 2 else "c/" + "/".join(map(str, key)))


def make_czii(root, zarr_format):
    rng = np.random.default_rng(0)
    for run, zyx in RUNS.items():
        tomo_dir = root / "train" / "static" / "ExperimentRuns" / run / "VoxelSpacing10.000"
        write_zarr(tomo_dir / "wbp.zarr", rng.normal(5, 1, SHAPE).astype(np.float32), zarr_format)
        picks = root / "train" / "overlay" / "ExperimentRuns" / run / "Picks"
        picks.mkdir(parents=True)
        points = [{"location": {"x": x * SPACING, "y": y * SPACING, "z": z * SPACING}} for z, y, x in zyx]
        (picks / "ribosome.json").write_text(json.dumps({"points": points}))
    return root


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_reader_names_array_and_chunk(tmp_path, zarr_format):
    write_zarr(tmp_path / "t.zarr", np.ones(SHAPE, np.float32), zarr_format)
    assert chunk_file(tmp_path / "t.zarr", zarr_format, (1, 0, 1)).is_file()  # the layout this test deletes from
    chunk_file(tmp_path / "t.zarr", zarr_format, (1, 0, 1)).unlink()
    key = "1.0.1" if zarr_format == 2 else "c/1/0/1"
    with open_tomogram(tmp_path / "t.zarr") as tomo:
        with pytest.raises(MissingChunkError, match=rf"t.zarr: array '0' chunk '{key}' is missing"):
            tomo.read()
        with pytest.raises(MissingChunkError, match=key):
            tomo.read((slice(9, 10), slice(0, 3), slice(12, 16)))
        assert np.all(tomo.read((slice(0, 8), slice(0, 16), slice(0, 16))) == 1)  # other chunks read fine
        assert tomo.missing_chunks((slice(0, 16), slice(0, 8), slice(8, 16))) == [key]
        assert tomo.missing_chunks((slice(0, 8),) * 3) == []


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_prepare_refuses_then_skips_and_counts(tmp_path, zarr_format):
    raw = make_czii(tmp_path / "raw", zarr_format)
    tomogram = raw / "train" / "static" / "ExperimentRuns" / "TS_1" / "VoxelSpacing10.000" / "wbp.zarr"
    chunk_file(tomogram, zarr_format).unlink()
    with pytest.raises(MissingChunkError, match="TS_1.*wbp.zarr: array '0' chunk"):
        prepare_classification_data(raw, tmp_path / "out", patch_size=6, tomo_types=["wbp"], classes=["ribosome"],
                                    progress=False)
    assert not (tmp_path / "out").exists()
    summary = prepare_classification_data(raw, tmp_path / "out", patch_size=6, tomo_types=["wbp"],
                                          classes=["ribosome"], progress=False, skip_missing_chunks=True)
    key = "0.0.0" if zarr_format == 2 else "c/0/0/0"
    assert summary["skipped_missing_chunks"] == {"TS_1/wbp": {key: 1}} and summary["skipped_missing_chunks_total"] == 1
    patches = sorted((tmp_path / "out" / "wbp").rglob("*.npy"))
    assert len(patches) == 2 * len(RUNS) - 1
    assert not any(np.all(np.load(p) == 0) for p in patches)  # no patch of fill values


def test_prepare_script_exits_2_naming_the_chunk(tmp_path, capsys):
    raw = make_czii(tmp_path / "raw", 2)
    chunk_file(raw / "train" / "static" / "ExperimentRuns" / "TS_0" / "VoxelSpacing10.000" / "wbp.zarr", 2).unlink()
    script = load_script(ROOT / "classification" / "czi", "prepare_classification_data")
    args = ["--data_root", str(raw), "--out", str(tmp_path / "out"), "--patch_size", "6", "--tomo_types", "wbp",
            "--classes", "ribosome", "--quiet"]
    assert script.main(args) == 2
    assert "chunk '0.0.0' is missing" in capsys.readouterr().err
    assert script.main(args + ["--skip_missing_chunks"]) == 0
    assert "patches left out over missing zarr chunks: 1" in capsys.readouterr().out
