"""Patch preparation on small data sets written here in the real layouts (zarr v2 OME-Zarr, MRC, picks JSON)."""
import json
import warnings

import mrcfile
import numpy as np
import pytest
import zarr
from helpers import ROOT, load_script

from seqsi.data.cryoet import (
    CLASSES, check_split, cut_patch, patch_origin, prepare_classification_data, read_tomogram, split_runs,
)
from seqsi.io import read_csv

SPACING = 10.012
SHAPE = (12, 20, 22)
TYPES = ("denoised", "wbp")


def coded_volume(shape, offset):
    """value = offset + 10000 z + 100 y + x: a patch tells exactly where it was cut from."""
    z, y, x = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    return (offset + 10000 * z + 100 * y + x).astype(np.float32)


def write_zarr(path, volume):
    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    group.create_array("0", shape=volume.shape, dtype="float32", chunks=(8, 8, 8))[...] = volume
    group.attrs["multiscales"] = [{"version": "0.4", "axes": [{"name": a, "type": "space"} for a in "zyx"],
                                   "datasets": [{"path": "0"}]}]  # no scale: the reader falls back to 10.012 A


def write_picks(folder, class_name, zyx_voxels, spacing=SPACING):
    folder.mkdir(parents=True, exist_ok=True)
    points = [{"location": {"x": x * spacing, "y": y * spacing, "z": z * spacing}} for z, y, x in zyx_voxels]
    (folder / f"{class_name}.json").write_text(json.dumps({"points": points}))


# per run: ribosome picks in voxels; run 0 has one near the border and one outside the volume
PICKS = {
    "TS_0": [(6, 10, 11), (1, 1, 21), (6, 10, 40)],
    "TS_1": [(5, 9, 9)],
    "TS_2": [(4, 12, 7)],
    "TS_3": [(7, 7, 15)],
    "TS_4": [(6, 6, 6)],
}


def make_czii(root, missing=()):
    """Kaggle CZII layout: train/static/... zarr per type and train/overlay/... picks; `missing` = (run, type)."""
    for i, (run, zyx) in enumerate(PICKS.items()):
        tomo_dir = root / "train" / "static" / "ExperimentRuns" / run / "VoxelSpacing10.000"
        tomo_dir.mkdir(parents=True)
        for j, t in enumerate(TYPES):
            if (run, t) not in missing:
                write_zarr(tomo_dir / f"{t}.zarr", coded_volume(SHAPE, 1e6 * (10 * i + j)))
        picks = root / "train" / "overlay" / "ExperimentRuns" / run / "Picks"
        write_picks(picks, "ribosome", zyx)
        write_picks(picks, "apo-ferritin", [(6, 10, 5)])
    return root


def test_split_by_tomogram_is_seeded_disjoint_and_complete():
    runs = [f"TS_{i}" for i in range(20)]
    split = split_runs(runs, seed=42)
    assert [len(split[s]) for s in ("train", "val", "test")] == [16, 1, 3]
    assert sorted(split["train"] + split["val"] + split["test"]) == sorted(runs)
    assert split == split_runs(list(reversed(runs)), seed=42)  # listing order does not matter
    assert any(split_runs(runs, seed=s) != split for s in range(1, 5))
    small = split_runs(runs[:3])
    assert all(len(v) == 1 for v in small.values())
    with pytest.raises(ValueError, match="at least one each"):
        split_runs(runs[:2])


def test_split_of_the_seven_kaggle_runs_is_the_papers():
    """The paper's rule (sorted, legacy np.random.seed(42) + shuffle, int() counts, train | val | test),
    computed once with the paper's own lines: its test tomogram is TS_99_9."""
    kaggle = ["TS_5_4", "TS_69_2", "TS_6_4", "TS_6_6", "TS_73_6", "TS_86_3", "TS_99_9"]
    expected = {"train": ["TS_5_4", "TS_69_2", "TS_6_4", "TS_73_6", "TS_86_3"], "val": ["TS_6_6"], "test": ["TS_99_9"]}
    assert split_runs(kaggle, seed=42) == expected
    assert split_runs(list(reversed(kaggle)), seed=42) == expected
    state = np.random.get_state()[1].copy()
    split_runs(kaggle, seed=42)
    assert (np.random.get_state()[1] == state).all()  # numpy's global generator is left alone
    # int() floors: 30 runs -> int(1.5) = 1 val and int(4.5) = 4 test (round() would give 2 val)
    assert [len(split_runs([f"TS_{i}" for i in range(30)])[s]) for s in ("train", "val", "test")] == [25, 1, 4]


def test_patch_origin_shifts_inside_and_cut_patch_pads_with_mean():
    assert patch_origin((5, 5, 5), (20, 20, 20), (4, 4, 4)) == (3, 3, 3)
    assert patch_origin((0.2, 19, 10), (20, 20, 20), (6, 6, 6)) == (0, 14, 7)
    volume = coded_volume((3, 10, 10), 0)
    patch, origin = cut_patch(lambda r: volume[r], volume.shape, (1, 5, 5), (5, 4, 4))
    assert patch.shape == (5, 4, 4) and origin == (-1, 3, 3)
    inner = volume[:, 3:7, 3:7]
    np.testing.assert_array_equal(patch[1:4], inner)
    assert np.all(patch[0] == inner.mean()) and np.all(patch[4] == inner.mean())


def prepare_quiet(root, out, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = prepare_classification_data(root, out, progress=False, **kw)
    return summary, [str(w.message) for w in caught]


def test_prepare_czii_layout(tmp_path):
    root = make_czii(tmp_path / "raw")
    summary, messages = prepare_quiet(root, tmp_path / "out", patch_size=6, seed=42, tomo_types=TYPES)
    assert summary["missing_types"] == {} and not any("tomogram;" in m for m in messages)
    assert summary["absent_pick_files"]["TS_1"] == [c for c in CLASSES if c not in ("ribosome", "apo-ferritin")]
    splits = summary["splits"]
    assert sorted(sum(splits.values(), [])) == sorted(PICKS)
    assert summary["layout"] == "czii"
    assert summary["skipped_outside"] == {t: {"TS_0": 1} for t in TYPES} and summary["skipped_outside_total"] == 2
    on_disk = json.loads((tmp_path / "out" / "prepare.json").read_text())
    assert on_disk["splits"] == splits and on_disk["counts"] == summary["counts"]
    names = {}
    for t in TYPES:
        for split in ("train", "val", "test"):
            folder = tmp_path / "out" / t / split
            rows = read_csv(folder / "metadata.csv")
            assert {r["run"] for r in rows} <= set(splits[split])  # no leakage, in any type
            names[t, split] = sorted(r["patch"] for r in rows)
            for r in rows:
                patch = np.load(folder / r["patch"], allow_pickle=False)
                assert patch.shape == (6, 6, 6) and patch.dtype == np.float32
                origin = [int(r[f"origin_{a}"]) for a in "zyx"]
                i, j = int(r["run"][3:]), TYPES.index(t)
                expected = coded_volume(SHAPE, 1e6 * (10 * i + j))[tuple(slice(o, o + 6) for o in origin)]
                np.testing.assert_array_equal(patch, expected)  # cut from the right tomogram at the right place
                assert int(r["class_id"]) == CLASSES.index(r["class_name"])
                centre = [float(r[f"centre_{a}"]) for a in "zyx"]
                assert all(0 <= c - o < 6 for c, o in zip(centre, origin))  # the pick lies in its patch
        ribosomes, apoferritins = sum(map(len, PICKS.values())) - 1, len(PICKS)  # one pick is outside
        assert sum(len(names[t, s]) for s in ("train", "val", "test")) == ribosomes + apoferritins
    assert all(names["denoised", s] == names["wbp", s] for s in ("train", "val", "test"))
    border = [r for r in read_csv(tmp_path / "out" / "wbp" / [s for s in splits if "TS_0" in splits[s]][0] / "metadata.csv")
              if r["run"] == "TS_0" and float(r["centre_z"]) == 1.0]
    assert [(int(border[0]["origin_z"]), int(border[0]["origin_x"]))] == [(0, SHAPE[2] - 6)]  # shifted inside
    assert summary["counts"]["wbp"]["train"]["ribosome"] + summary["counts"]["wbp"]["val"]["ribosome"] \
        + summary["counts"]["wbp"]["test"]["ribosome"] == ribosomes


def test_missing_type_warns_counts_and_continues(tmp_path):
    split = split_runs(list(PICKS), seed=42)
    val_run = split["val"][0]
    root = make_czii(tmp_path / "raw", missing={(val_run, "wbp")})
    summary, messages = prepare_quiet(root, tmp_path / "out", patch_size=4, tomo_types=TYPES)
    assert any(val_run in m and "wbp" in m for m in messages)
    assert summary["missing_types"] == {"wbp": [val_run]} and summary["missing_types_total"] == 1
    assert summary["splits"] == split  # the run still counts for the other types
    in_volume = sum(all(0 <= c < n for c, n in zip(zyx, SHAPE)) for zyx in PICKS[val_run])
    assert check_split(tmp_path / "out" / "denoised" / "val") == in_volume + 1  # + its apo-ferritin
    with pytest.raises(ValueError, match="empty"):
        check_split(tmp_path / "out" / "wbp" / "val")  # the empty split is an error before training
    with pytest.raises(FileNotFoundError, match="metadata.csv"):
        check_split(tmp_path / "out" / "ctfdeconvolved" / "val")


def test_flat_mrc_layout_uses_header_voxel_size(tmp_path):
    spacing = 20.0
    for i, run in enumerate(["run_a", "run_b", "run_c"]):
        (tmp_path / "raw" / run).mkdir(parents=True)
        with mrcfile.new(str(tmp_path / "raw" / run / "wbp.mrc")) as mrc:
            mrc.set_data(coded_volume(SHAPE, 1e6 * i))
            mrc.voxel_size = spacing
        write_picks(tmp_path / "raw" / run / "Picks", "thyroglobulin", [(6, 10, 11)], spacing=spacing)
    summary, _ = prepare_quiet(tmp_path / "raw", tmp_path / "out", patch_size=4, tomo_types=["wbp"])
    assert summary["layout"] == "flat" and summary["voxel_size_A"]["run_a"]["wbp"] == [spacing] * 3
    for split in ("train", "val", "test"):
        (row,) = read_csv(tmp_path / "out" / "wbp" / split / "metadata.csv")
        assert row["class_name"] == "thyroglobulin" and row["class_id"] == "4"
        assert [float(row[f"centre_{a}"]) for a in "zyx"] == [6, 10, 11]
        patch = np.load(tmp_path / "out" / "wbp" / split / row["patch"], allow_pickle=False)
        assert patch[2, 2, 2] % 1e6 == 10000 * 6 + 100 * 10 + 11  # the voxel of the pick


def test_unreadable_tomogram_fails_with_path_and_leaves_nothing(tmp_path):
    root = make_czii(tmp_path / "raw")
    bad = root / "train" / "static" / "ExperimentRuns" / "TS_3" / "VoxelSpacing10.000" / "wbp.zarr"
    for f in bad.rglob("*"):
        if f.is_file():
            f.write_bytes(b"garbage")
    with pytest.raises(OSError, match="TS_3.*wbp.zarr"):
        prepare_quiet(root, tmp_path / "out", patch_size=4)
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == [tmp_path / "raw"]
    # an existing complete output is kept as it was
    good = make_czii(tmp_path / "raw2")
    prepare_quiet(good, tmp_path / "out", patch_size=4)
    before = sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*"))
    with pytest.raises(OSError, match="wbp.zarr"):
        prepare_quiet(root, tmp_path / "out", patch_size=4)
    assert sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*")) == before


def test_too_few_tomograms_is_an_error(tmp_path):
    root = tmp_path / "raw"
    for run in ["TS_a", "TS_b"]:
        (root / run).mkdir(parents=True)
        with mrcfile.new(str(root / run / "wbp.mrc")) as mrc:
            mrc.set_data(np.zeros((4, 4, 4), np.float32))
    with pytest.raises(ValueError, match="0 of the 2 runs have picks"):
        prepare_quiet(root, tmp_path / "out", tomo_types=["wbp"])
    for run in ["TS_a", "TS_b"]:
        write_picks(root / run / "Picks", "ribosome", [(2, 2, 2)])
    with pytest.raises(ValueError, match="2 tomograms"):
        prepare_quiet(root, tmp_path / "out", tomo_types=["wbp"])
    assert not (tmp_path / "out").exists()


def test_written_zarr_reads_back_like_real_files(tmp_path):
    """The fixture writer itself matches what the reader expects (guards the tests above)."""
    write_zarr(tmp_path / "t.zarr", coded_volume((3, 4, 5), 7))
    data, spacing = read_tomogram(tmp_path / "t.zarr")
    assert spacing is None and data[2, 3, 4] == 7 + 20000 + 300 + 4


def test_lazy_slicing_gives_the_same_patches(tmp_path):
    root = make_czii(tmp_path / "raw")
    prepare_quiet(root, tmp_path / "whole", patch_size=5, tomo_types=TYPES)
    prepare_quiet(root, tmp_path / "lazy", patch_size=5, tomo_types=TYPES, max_in_memory_bytes=0)
    files = sorted(p.relative_to(tmp_path / "whole") for p in (tmp_path / "whole").rglob("*.npy"))
    assert files == sorted(p.relative_to(tmp_path / "lazy") for p in (tmp_path / "lazy").rglob("*.npy"))
    for f in files:
        np.testing.assert_array_equal(np.load(tmp_path / "whole" / f), np.load(tmp_path / "lazy" / f))


def test_visualize_writes_one_png_per_type_and_class(tmp_path):
    from seqsi.report.views import save_orthogonal_views

    root = make_czii(tmp_path / "raw")
    prepare_quiet(root, tmp_path / "out", patch_size=6, tomo_types=TYPES, draw_example=save_orthogonal_views)
    pngs = sorted(p.relative_to(tmp_path / "out" / "examples").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert pngs == sorted(f"{t}/{c}.png" for t in TYPES for c in ("apo-ferritin", "ribosome"))
    assert all((tmp_path / "out" / "examples" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_entry_scripts(tmp_path, capsys):
    generate = load_script(ROOT / "classification" / "czi", "generate_synthetic")
    prepare = load_script(ROOT / "classification" / "czi", "prepare_classification_data")
    assert generate.main(["--out", str(tmp_path / "raw"), "--n_tomograms", "3", "--shape", "16", "24", "24",
                          "--particles_per_tomogram", "6", "--size_scale", "0.3", "--missing", "0:wbp", "--quiet"]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert prepare.main(["--data_root", str(tmp_path / "raw"), "--out", str(tmp_path / "out"),
                             "--patch_size", "8", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "missing tomograms: 1" in out and (tmp_path / "out" / "wbp" / "train" / "metadata.csv").exists()
    assert prepare.main(["--data_root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out2"), "--quiet"]) == 2
    assert "nowhere" in capsys.readouterr().err and not (tmp_path / "out2").exists()


def test_output_may_not_replace_the_raw_data(tmp_path):
    root = make_czii(tmp_path / "raw")
    for out in (root, tmp_path):
        with pytest.raises(ValueError, match="replace the raw data"):
            prepare_quiet(root, out, tomo_types=TYPES)
    assert (root / "train" / "overlay").is_dir()
