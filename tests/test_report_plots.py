"""Figures: real PNG files of sensible size, not blank, with each method in its colour."""
from __future__ import annotations

import os

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.colors import to_rgb

from seqsi.report.plots import color_map, normalize_rows, plot_confusion_matrix, plot_curves, plot_grouped_bars

METHODS = ["standard", "seq", "seqsi", "affeq"]


def _read_png(path) -> np.ndarray:
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    height, width = image.shape[:2]
    assert 300 <= height <= 4000 and 300 <= width <= 4000, image.shape
    rgb = image[..., :3]
    drawn = np.any(rgb < 0.9, axis=2).mean()
    assert drawn > 0.02, f"{path} looks blank ({drawn:.1%} non-white pixels)"
    return rgb


def _pixels_of(rgb: np.ndarray, color: str, tol: float = 0.02) -> int:
    return int(np.all(np.abs(rgb - np.array(to_rgb(color))) < tol, axis=2).sum())


def test_color_map_keeps_given_colours_and_gives_distinct_ones():
    colors = color_map(METHODS, {"seqsi": "#000000"})
    assert colors["seqsi"] == "#000000"
    assert len(set(colors.values())) == len(METHODS)
    assert color_map(METHODS) == color_map(METHODS)


def test_curves_on_a_log_axis(tmp_path):
    colors = color_map(METHODS)
    a = np.logspace(-2, 3, 11)
    curves = {"standard": (a, 0.9 - 0.1 * np.abs(np.log10(a))),
              "seqsi": (a, np.full(11, 0.88), np.full(11, 0.02))}
    path = plot_curves(curves, tmp_path / "acc_vs_scale.png", xlabel="intensity scale a", ylabel="accuracy",
                       title="accuracy vs scale", logx=True, reference=(1.0, "a = 1"), baseline=0.1, colors=colors)
    assert os.listdir(tmp_path) == ["acc_vs_scale.png"]  # written atomically, no temp file left
    rgb = _read_png(path)
    assert _pixels_of(rgb, colors["standard"]) > 50 and _pixels_of(rgb, colors["seqsi"]) > 50
    assert _pixels_of(rgb, colors["affeq"]) == 0  # not drawn
    with pytest.raises(ValueError, match="'standard' has x <= 0"):
        plot_curves({"standard": ([0.0, 1.0], [1, 2])}, tmp_path / "bad.png", xlabel="a", ylabel="y", title="t",
                    logx=True)
    with pytest.raises(ValueError, match="'seqsi' has 2 x values, 3 y values"):
        plot_curves({"seqsi": ([1, 2], [1, 2, 3])}, tmp_path / "bad.png", xlabel="b", ylabel="y", title="t")
    with pytest.raises(ValueError, match=r"\.png"):
        plot_curves(curves, tmp_path / "acc.pdf", xlabel="a", ylabel="y", title="t")


def test_grouped_bars_keep_each_method_colour_across_figures(tmp_path):
    colors = color_map(METHODS)
    values = {"Clean": {"standard": (0.9, 0.01), "seqsi": (0.88, 0.02), "affeq": 0.85},
              "Scale (>1) Saturated": {"standard": (0.3, 0.05), "seqsi": (0.86, None), "affeq": 0.84},
              "Gamma (darken)": {"standard": 0.5, "seqsi": 0.8}}
    bars = _read_png(plot_grouped_bars(values, tmp_path / "bars.png", ylabel="accuracy",
                                       title="accuracy per corruption", colors=colors))
    for method in ("standard", "seqsi", "affeq"):
        assert _pixels_of(bars, colors[method]) > 500, method
    assert _pixels_of(bars, colors["seq"]) == 0
    # the same mapping in another figure draws seqsi in the same colour
    a = np.logspace(-1, 1, 5)
    line = _read_png(plot_curves({"seqsi": (a, a)}, tmp_path / "line.png", xlabel="a", ylabel="y", title="t",
                                 colors=colors))
    assert _pixels_of(line, colors["seqsi"]) > 50


def test_confusion_matrix(tmp_path):
    names = ["apo-ferritin", "beta-amylase", "ribosome"]
    counts = np.array([[8, 2, 0], [1, 3, 0], [0, 0, 0]])
    assert np.allclose(normalize_rows(counts), [[0.8, 0.2, 0], [0.25, 0.75, 0], [0, 0, 0]])
    for normalize in (True, False):
        rgb = _read_png(plot_confusion_matrix(counts, names, tmp_path / f"cm_{normalize}.png",
                                              title="confusion", normalize=normalize))
        assert rgb.shape[0] >= 500
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.ones((2, 3)), names, tmp_path / "bad.png", title="t")
    with pytest.raises(ValueError, match="3 class names for a 2x2"):
        plot_confusion_matrix(np.ones((2, 2)), names, tmp_path / "bad.png", title="t")
