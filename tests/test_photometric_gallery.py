"""`seqsi gallery`: real files in, a readable PNG out, clear one-line errors."""
import re

import matplotlib.image
import numpy as np
import pytest
import tifffile

from seqsi.cli import main


def _blobs(shape, seed=0):
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    out = np.full(shape, 10.0)
    for _ in range(4):
        c = rng.uniform(0, shape)
        out += 200 * np.exp(-sum((g - ci) ** 2 for g, ci in zip(grids, c)) / 8)
    return out + rng.normal(0, 2, shape)


def _png_shape(path):
    return matplotlib.image.imread(path).shape


def test_gray_tiff_with_the_3d_suite_skips_3d_only_entries(tmp_path, capsys):
    src, out = tmp_path / "cells.tif", tmp_path / "gallery.png"
    tifffile.imwrite(src, _blobs((24, 28)).astype(np.uint16))
    assert main(["gallery", str(src), "-o", str(out), "--suite", "fluorescence", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "15 panels (suite fluorescence, seed 3)" in printed
    assert "skipped for 2D data: artifacts (3D only), arti_1.5 (3D only)" in printed
    h, w, _ = _png_shape(out)
    assert h > 300 and w > 600


def test_rgb_png_and_volume(tmp_path, capsys):
    rgb = np.clip(np.stack([_blobs((16, 16), s) for s in range(3)], -1) / 255, 0, 1)
    src = tmp_path / "small.png"
    matplotlib.image.imsave(src, rgb)
    assert main(["gallery", str(src), "-o", str(tmp_path / "a.png"), "--range", "unit"]) == 0
    assert "14 panels (suite cifar10, seed 0)" in capsys.readouterr().out
    vol = tmp_path / "vol.npy"
    np.save(vol, _blobs((8, 20, 20)).astype(np.float32))
    assert main(["gallery", str(vol), "-o", str(tmp_path / "v.png"), "--view", "slice", "--columns", "10"]) == 0
    assert "20 panels (suite fluorescence, seed 0)" in capsys.readouterr().out
    assert _png_shape(tmp_path / "v.png")[1] > _png_shape(tmp_path / "v.png")[0]  # 10 columns: wide


@pytest.mark.parametrize(
    "name, array, extra, message",
    [
        ("four.npy", np.zeros((2, 3, 4, 5)), [], r"four\.npy: expected a 2D image .* got shape \(2, 3, 4, 5\)"),
        ("flat.npy", np.ones((8, 8)), [], r"flat\.npy: the image is constant"),
        ("nan.npy", np.array([[0.0, np.nan], [1.0, 2.0]]), [], r"nan\.npy: contains NaN or inf"),
        ("img.npy", np.eye(6), ["--suite", "cifar100"],
         r"unknown suite 'cifar100'; packaged suites: cifar10, fluorescence"),
        ("img.bmp", None, [], r"img\.bmp: unsupported file type '\.bmp'"),
        ("vol.npy", np.random.default_rng(0).random((6, 6, 6)), ["--kind", "image"], r"vol\.npy: expected a 2D image"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, capsys, name, array, extra, message):
    src = tmp_path / name
    if array is not None:
        np.save(src, array)
    else:
        src.write_bytes(b"BM")
    assert main(["gallery", str(src), "-o", str(tmp_path / "out.png"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("seqsi gallery: error:") and "\n" not in err
    assert re.search(message, err), err
    assert not (tmp_path / "out.png").exists()
