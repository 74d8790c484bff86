"""seqsi predict: real file formats in, napari CSVs / summary / overlays out; tiling keeps the guarantee."""
import json

import numpy as np
import pytest
import tifffile
import torch

import seqsi
from seqsi import build_model
from seqsi.cli import main
from seqsi.data.bioimage import write_tiff
from seqsi.data.fluorescence import volume_rng
from seqsi.data.fluorescence2d import NUCLEI_2D, generate_image
from seqsi.engine.checkpoint import save_checkpoint
from seqsi.invariance.audit import randomize_state
from seqsi.io import read_csv
from seqsi.localization import label_centres, localization_score
from seqsi.prediction import detect, prepared, shipped
from seqsi.prediction.readers import find_inputs, read_input, select_channel
from seqsi.prediction.zoo import LoadedModel

SHIPPED = pytest.mark.skipif("nuclei2d" not in shipped(), reason="shipped weights not present")


def nuclei(seed: int = 5, index: int = 0):
    return generate_image(NUCLEI_2D, volume_rng(seed, "test", index))


def small_run(tmp_path, mode: str, dims: int, threshold: float, experiment: str = "loc3d", widths=(4, 8, 8)):
    """A run folder (best.pt + threshold.json) of a small random-weight UNet."""
    model = randomize_state(build_model("drunet", mode, dims, widths=list(widths), blocks=1), 2).eval()
    run = tmp_path / f"{mode}{dims}d"
    run.mkdir()
    save_checkpoint(run / "best.pt", {"model_spec": model.seqsi_spec, "model": model.state_dict(),
                                      "experiment": experiment,
                                      "config": {"model": {"mode": mode, "loss": "zmse" if mode != "standard" else "bce"}}})
    (run / "threshold.json").write_text(json.dumps({"threshold": threshold}))
    return run


# ----------------------------------------------------------------------------- readers

def test_readers_take_every_format_with_its_voxel_size(tmp_path):
    import mrcfile
    import zarr
    from PIL import Image as PILImage

    volume = np.random.default_rng(0).integers(0, 4000, (6, 20, 24)).astype(np.uint16)
    write_tiff(tmp_path / "ij.tif", volume, spacing=(0.4, 0.2, 0.1))
    tifffile.imwrite(tmp_path / "ome.ome.tif", volume.astype(np.float32), ome=True,
                     metadata={"axes": "ZYX", "PhysicalSizeZ": 2.0, "PhysicalSizeY": 0.5, "PhysicalSizeX": 0.25})
    with mrcfile.new(tmp_path / "tomo.mrc") as mrc:
        mrc.set_data(volume.astype(np.float32))
        mrc.voxel_size = 10.0  # Angstrom
    zarr.save_array(str(tmp_path / "vol.zarr"), volume.astype(np.float32))
    grey = (volume[0] // 16).astype(np.uint8)
    PILImage.fromarray(np.stack([grey] * 3, -1)).save(tmp_path / "grey_rgb.png")
    images = {p.name: read_input(p) for p in find_inputs([str(tmp_path)])}
    assert images["ij.tif"].voxel_size == pytest.approx((0.4, 0.2, 0.1))
    assert images["ome.ome.tif"].voxel_size == pytest.approx((2.0, 0.5, 0.25))
    assert images["ome.ome.tif"].name == "ome"
    assert images["tomo.mrc"].voxel_size == pytest.approx((1e-3,) * 3)  # 10 A = 0.001 um
    assert images["vol.zarr"].data.shape == volume.shape
    png = images["grey_rgb.png"]
    assert png.channels == 1 and np.array_equal(png.data, grey)  # grey stored as RGB: one channel
    for name in ("ij.tif", "ome.ome.tif", "tomo.mrc", "vol.zarr"):
        assert np.array_equal(images[name].data, volume), name  # values and (z, y, x) order kept


def test_multichannel_input_needs_a_channel(tmp_path):
    two = np.random.default_rng(1).random((2, 16, 16)).astype(np.float32)
    tifffile.imwrite(tmp_path / "two.tif", two, imagej=True, metadata={"axes": "CYX"})
    image = read_input(tmp_path / "two.tif")
    assert image.channels == 2
    with pytest.raises(ValueError, match="--channel"):
        select_channel(image, None)
    assert np.array_equal(select_channel(image, 1), two[1])
    with pytest.raises(ValueError, match="out of range"):
        select_channel(image, 2)


def test_find_inputs_globs_and_clear_errors(tmp_path):
    for name in ("a.tif", "b.tif", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in find_inputs([str(tmp_path / "*.tif")])] == ["a.tif", "b.tif"]
    with pytest.raises(FileNotFoundError, match="no image matches"):
        find_inputs([str(tmp_path / "*.png")])
    with pytest.raises(ValueError, match="cannot read as TIFF"):
        read_input(tmp_path / "a.tif")
    bad = np.full((8, 8), np.nan, np.float32)
    tifffile.imwrite(tmp_path / "nan.tif", bad)
    with pytest.raises(ValueError, match="NaN"):
        read_input(tmp_path / "nan.tif")


# ----------------------------------------------------------------------------- tiling and the guarantee

def test_tiled_detections_do_not_move_under_affine_maps_and_a_standard_models_do(tmp_path):
    rng = np.random.default_rng(3)
    volume = rng.random((8, 32, 32))
    seqsi_run = small_run(tmp_path, "seqsi", 3, 1.0, widths=(4, 8))  # one level: a 10-voxel receptive margin
    standard_run = small_run(tmp_path, "standard", 3, 0.5, widths=(4, 8))
    for run, expect_equal in ((seqsi_run, True), (standard_run, False)):
        loaded = seqsi.prediction.as_loaded(run)
        net = prepared(loaded, "float64", "cpu")
        loss = seqsi.prediction.loss_of(loaded)
        kwargs = dict(dtype="float64", max_pixels=2000, tile=16)
        base = detect(net, loss, volume, loaded.threshold, **kwargs)
        assert base.tiled and len(base.centres) > 3
        whole = detect(net, loss, volume, loaded.threshold, dtype="float64", max_pixels=None)
        if expect_equal:  # the exact receptive margin: tiles stitch to the whole-volume map
            assert np.array_equal(whole.centres, base.centres)
        moved = [detect(net, loss, volume, loaded.threshold, case=case, **kwargs).centres
                 for case in ((0.01, 1000.0), (50.0, -3.0), (3.0, 5.0))]
        same = [np.array_equal(m, base.centres) for m in moved]
        assert all(same) if expect_equal else not any(same)


def test_a_constant_image_has_no_detections_under_any_alteration_in_every_mode(tmp_path):
    constant = np.full((8, 32, 32), 7.0)
    for mode in ("seqsi", "affeq", "standard"):
        loaded = seqsi.prediction.as_loaded(small_run(tmp_path, mode, 3, 0.0, widths=(4, 8)))
        net = prepared(loaded, "float32", "cpu")
        loss = seqsi.prediction.loss_of(loaded)
        for case in (None, (1.0, 2.0), (0.01, 1000.0), (3.0, 5.0)):
            assert len(detect(net, loss, constant, 0.0, case=case).centres) == 0, (mode, case)
    # the same threshold finds peaks on an image with signal, so the rule is what removed them
    varied = np.random.default_rng(1).random((8, 32, 32))
    assert len(detect(net, loss, varied, 0.0).centres) > 0


def test_zscore_uses_the_whole_stitched_map_not_each_tile(tmp_path):
    """Per-tile statistics would give each tile its own z-score: tiles then disagree with the whole map."""
    run = small_run(tmp_path, "seqsi", 2, 1.0, experiment="loc2d")
    loaded = seqsi.prediction.as_loaded(run)
    net = prepared(loaded, "float64", "cpu")
    image = np.random.default_rng(4).random((64, 64))
    tiled = detect(net, "zmse", image, 1.0, dtype="float64", max_pixels=1000, tile=16, keep_map=True)
    whole = detect(net, "zmse", image, 1.0, dtype="float64", max_pixels=None, keep_map=True)
    assert tiled.tiled and np.allclose(tiled.map, whole.map, atol=1e-6)
    tile_z = tiled.map[:16, :16]
    per_tile = (whole.map[:16, :16] - whole.map[:16, :16].mean()) / whole.map[:16, :16].std()
    assert not np.allclose(tile_z, per_tile, atol=1e-3)


# ----------------------------------------------------------------------------- the CLI

def test_predict_cli_writes_napari_csvs_summary_overlays_and_maps(tmp_path):
    run = small_run(tmp_path, "seqsi", 3, 0.5)
    volume = (np.random.default_rng(5).random((12, 32, 32)) * 1000).astype(np.uint16)
    write_tiff(tmp_path / "in" / "vol.tif", volume, spacing=(0.5, 0.2, 0.2))
    out = tmp_path / "out"
    assert main(["predict", str(run), str(tmp_path / "in"), "--out", str(out), "--save_maps", "--quiet"]) == 0
    rows = read_csv(out / "vol.csv")
    assert list(rows[0]) == ["index", "axis-0", "axis-1", "axis-2", "zscore", "z_um", "y_um", "x_um"]
    assert float(rows[0]["z_um"]) == pytest.approx(int(rows[0]["axis-0"]) * 0.5)
    assert all(float(r["zscore"]) > 0.5 for r in rows)
    summary = read_csv(out / "summary.csv")[0]
    assert summary["shape"] == "12x32x32" and summary["voxel_size_um"] == "0.5x0.2x0.2"
    assert int(summary["count"]) == len(rows) and float(summary["threshold"]) == 0.5
    assert (out / "vol.png").is_file() and (out / "vol_slices.png").is_file() == (len(rows) > 30)
    assert tifffile.imread(out / "maps" / "vol.tif").shape == volume.shape
    # a threshold override changes the count; a 2D image for a 3D model is refused
    assert main(["predict", str(run), str(tmp_path / "in"), "--out", str(out), "--threshold", "3", "--quiet"]) == 0
    assert int(read_csv(out / "summary.csv")[0]["count"]) < len(rows)
    write_tiff(tmp_path / "flat.tif", volume[0])
    assert main(["predict", str(run), str(tmp_path / "flat.tif"), "--out", str(out), "--quiet"]) == 2


def test_classifier_predicts_one_row_per_input(tmp_path):
    from PIL import Image as PILImage

    model = build_model("resnet", "seqsi", 2, widths=[4, 8], blocks=[1, 1], strides=[1, 2]).eval()
    save_checkpoint(tmp_path / "best.pt", {"model_spec": model.seqsi_spec, "model": model.state_dict(),
                                           "experiment": "cifar10", "dataset": "cifar10"})
    rgb = np.random.default_rng(6).integers(0, 255, (2, 32, 32, 3)).astype(np.uint8)
    for i, image in enumerate(rgb):
        PILImage.fromarray(image).save(tmp_path / f"img{i}.png")
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "best.pt"), str(tmp_path / "*.png"), "--out", str(out), "--quiet"]) == 0
    rows = read_csv(out / "classes.csv")
    assert [r["image"] for r in rows] == ["img0", "img1"]
    probs = [float(rows[0][f"p_{c}"]) for c in seqsi.prediction.CIFAR10_CLASSES]
    assert sum(probs) == pytest.approx(1.0, abs=1e-5)
    assert rows[0]["class"] == seqsi.prediction.CIFAR10_CLASSES[int(np.argmax(probs))]
    x = torch.from_numpy(rgb[0]).permute(2, 0, 1).float()[None] / 255
    assert int(rows[0]["class_id"]) == int(model(x).argmax())


def test_classifier_reports_a_non_finite_output_instead_of_a_class():
    from seqsi.logits import NO_CLASS, NonFiniteOutputWarning
    from seqsi.prediction import classify

    model = build_model("resnet", "seqsi", 2, widths=[4, 8], blocks=[1, 1], strides=[1, 2]).eval()
    image = np.random.default_rng(2).random((32, 32, 3))
    assert classify(model, image, seqsi.prediction.CIFAR10_CLASSES, channels_last=True).label != NO_CLASS
    with pytest.warns(NonFiniteOutputWarning):
        huge = classify(model, image * 1e38, seqsi.prediction.CIFAR10_CLASSES, channels_last=True)
    assert huge.label == NO_CLASS and np.isnan(list(huge.probabilities.values())).all()


def test_invariance_cli_on_user_files(tmp_path, capsys):
    seqsi_run, standard_run = small_run(tmp_path, "seqsi", 2, 1.0, "loc2d"), small_run(tmp_path, "standard", 2, 0.5, "loc2d")
    write_tiff(tmp_path / "img.tif", (np.random.default_rng(7).random((48, 48)) * 255).astype(np.uint8))
    for run in (seqsi_run, standard_run):
        assert main(["invariance", str(run), str(tmp_path / "img.tif"), "--cases", "0.01,1000 50,-3",
                     "--out", str(run / "inv")]) == 0
    seqsi_rows, standard_rows = read_csv(seqsi_run / "inv" / "invariance.csv"), read_csv(standard_run / "inv" / "invariance.csv")
    assert {r["dtype"] for r in seqsi_rows} == {"float64"}  # |b| / a = 1e5: auto picks float64
    assert all(float(r["acc0"]) == 1.0 for r in seqsi_rows)
    assert any(float(r["acc0"]) < 1.0 for r in standard_rows)
    assert main(["invariance", str(seqsi_run), str(tmp_path / "img.tif"), "--cases", "0,1"]) == 2
    assert "a > 0" in capsys.readouterr().err


# ----------------------------------------------------------------------------- shipped models

@SHIPPED
def test_shipped_nuclei_model_finds_generated_nuclei_from_a_file(tmp_path):
    img = nuclei()
    write_tiff(tmp_path / "nuc.tif", img.image, spacing=(0.5, 0.5))
    assert main(["predict", "nuclei2d", str(tmp_path / "nuc.tif"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    rows = read_csv(tmp_path / "out" / "nuc.csv")
    found = np.array([[int(r["axis-0"]), int(r["axis-1"])] for r in rows])
    assert localization_score(found, label_centres(img.labels), 12) > 0.8
    model = seqsi.pretrained("nuclei2d")
    assert model.seqsi_mode.name == "seqsi" and model.seqsi_threshold > 0
    api = seqsi.predict("nuclei2d", img.image)
    assert np.array_equal(api.centres, found)


@SHIPPED
def test_float32_is_exact_in_the_documented_range_and_float64_beyond(tmp_path):
    from seqsi.prediction import FLOAT32_MAX_RATIO

    image = nuclei(7, 1).image
    base = seqsi.predict("nuclei2d", image, dtype="float32").centres
    for case in ((0.01, 1.0), (1.0, 100.0), (100.0, -3.0), (0.02, -2.0)):
        assert abs(case[1]) / case[0] <= FLOAT32_MAX_RATIO
        assert np.array_equal(seqsi.predict("nuclei2d", image, dtype="float32", case=case).centres, base)
    far = (0.01, 1000.0)  # |b| / a = 1e5: the float32 input is quantised
    base64 = seqsi.predict("nuclei2d", image, dtype="float64").centres
    assert np.array_equal(seqsi.predict("nuclei2d", image, dtype="float64", case=far).centres, base64)
    assert not np.array_equal(seqsi.predict("nuclei2d", image, dtype="float32", case=far).centres, base)


def test_models_command_and_unknown_names(capsys):
    names = shipped()
    assert main(["models"]) == (0 if names else 1)
    listing = capsys.readouterr().out
    assert all(name in listing for name in names) and ("synthetic" in listing or not names)
    with pytest.raises(ValueError, match="no shipped model"):
        seqsi.pretrained("no-such-model")
    assert main(["predict", "no-such-model", "x.tif", "--out", "/tmp/unused"]) == 2
    assert "seqsi models" in capsys.readouterr().err


def test_loaded_model_wrapper_keeps_threshold():
    model = build_model("drunet", "seqsi", 2, widths=[4, 8], blocks=1)
    model.seqsi_threshold = 1.5
    loaded = seqsi.prediction.as_loaded(model)
    assert isinstance(loaded, LoadedModel) and loaded.threshold == 1.5 and loaded.is_localizer


@SHIPPED
def test_demo_predict_step_scores_the_embedded_real_image(tmp_path):
    from seqsi.commands.demo import predict as predict_step

    section = predict_step.run(tmp_path)
    assert "Detect objects in your own images" in section and (tmp_path / "predict" / "image.png").is_file()
    assert "125 annotated nuclei" in section
