"""Figures a person can open: accuracy vs corruption, vs intensity scale/shift, confusion.

Figures are built with matplotlib's object API on the Agg canvas, never through pyplot: importing
this module leaves an interactive session's backend alone, nothing needs closing, and it works
on a headless node. Every PNG is written atomically.

Colours: pass the same `colors` mapping (from `color_map(all_methods)`) to every figure of an
experiment so that a method keeps its colour (and marker) across figures; without it, colours
follow the order of the labels in each figure.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from ..io import atomic_path

# tab10 then Dark2: 18 colours that stay distinguishable side by side.
PALETTE = [to_hex(c) for c in colormaps["tab10"].colors] + [to_hex(c) for c in colormaps["Dark2"].colors]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "h", "<", ">", "*", "p"]
DPI = 150


def color_map(labels: Iterable[str], colors: Mapping[str, Any] | None = None) -> dict[str, str]:
    """A colour per label: keeps those given in `colors`, gives the others unused palette colours.

    Build it once from every method of an experiment and pass it to every figure.
    """
    out = {str(k): to_hex(v) for k, v in (colors or {}).items()}
    free = [c for c in PALETTE if c not in set(out.values())]
    for label in labels:
        label = str(label)
        if label not in out:
            out[label] = free.pop(0) if free else PALETTE[len(out) % len(PALETTE)]
    return out


def _marker(label: str, colors: Mapping[str, str]) -> str:
    return MARKERS[list(colors).index(label) % len(MARKERS)]


def _new_figure(width: float, height: float) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def save_png(fig: Figure, path: str | os.PathLike, dpi: int = DPI) -> Path:
    """Write `fig` atomically as a PNG, on its own background colour."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"figure path must end in .png; got {path}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, facecolor=fig.get_facecolor())
    return path


def _line(value: float | tuple[float, str] | None) -> tuple[float, str | None] | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return float(value[0]), str(value[1])
    return float(value), None


def _legend(ax: Any, n_entries: int) -> None:
    """Inside the axes when small; to the right when it would hide data."""
    if n_entries <= 5:
        ax.legend(fontsize="small", loc="best", framealpha=0.9)
    else:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def plot_curves(
    curves: Mapping[str, Sequence],
    path: str | os.PathLike,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    logx: bool = False,
    reference: float | tuple[float, str] | None = None,
    baseline: float | tuple[float, str] | None = None,
    colors: Mapping[str, Any] | None = None,
    ylim: tuple[float, float] | None = None,
) -> Path:
    """One line per label, e.g. accuracy vs intensity scale a (logx) or vs shift b, per mode.

    `curves[label]` is (x, y) or (x, y, yerr); yerr (std over seeds) draws a shaded band.
    `reference` draws a dashed vertical line at the unaltered input (a = 1 or b = 0), with an
    optional legend text; `baseline` a dotted horizontal line (e.g. chance accuracy).

    Args:
        curves: {label: (x, y) or (x, y, yerr)}, one line per label; points are drawn in x order.
        path: the PNG to write (must end in .png).
        xlabel: x-axis label.
        ylabel: y-axis label.
        title: figure title.
        logx: logarithmic x axis; every x must then be > 0.
        reference: None, x of a dashed vertical line, or (x, legend text).
        baseline: None, y of a dotted horizontal line, or (y, legend text).
        colors: {label: colour} shared across figures (see color_map); None colours the labels in order.
        ylim: (low, high) of the y axis; None lets matplotlib choose.
    """
    if not curves:
        raise ValueError(f"plot_curves({path}): no curves to draw")
    cmap = color_map(curves, colors)
    fig, ax = _new_figure(7.0, 4.5)
    for label, data in curves.items():
        label = str(label)
        if len(data) not in (2, 3):
            raise ValueError(f"plot_curves: curve {label!r} must be (x, y) or (x, y, yerr)")
        x, y = (np.asarray(a, dtype=np.float64).ravel() for a in data[:2])
        err = np.asarray(data[2], dtype=np.float64).ravel() if len(data) == 3 and data[2] is not None else None
        if len(x) != len(y) or (err is not None and len(err) != len(x)) or len(x) == 0:
            raise ValueError(f"plot_curves: curve {label!r} has {len(x)} x values, {len(y)} y values"
                             + (f" and {len(err)} yerr values" if err is not None else ""))
        if logx and np.any(x <= 0):
            raise ValueError(f"plot_curves: curve {label!r} has x <= 0, which a log axis cannot show")
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
        ax.plot(x, y, color=cmap[label], marker=_marker(label, cmap), markersize=4, linewidth=2, label=label)
        if err is not None:
            err = err[order]
            ax.fill_between(x, y - err, y + err, color=cmap[label], alpha=0.2, linewidth=0)
    if logx:
        ax.set_xscale("log")
    ref = _line(reference)
    if ref is not None:
        ax.axvline(ref[0], color="0.35", linestyle="--", linewidth=1, label=ref[1] or f"{xlabel} = {ref[0]:g}")
    base = _line(baseline)
    if base is not None:
        ax.axhline(base[0], color="0.35", linestyle=":", linewidth=1.2, label=base[1] or f"{base[0]:g}")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    _legend(ax, len(curves) + (ref is not None) + (base is not None))
    return save_png(fig, path)


def _mean_std(value: Any) -> tuple[float, float | None]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"bar value must be a number or (mean, std); got {value!r}")
        mean, std = value
        return float(mean), (None if std is None or not np.isfinite(std) else float(std))
    return float(value), None


def plot_grouped_bars(
    values: Mapping[str, Mapping[str, Any]],
    path: str | os.PathLike,
    *,
    ylabel: str,
    title: str,
    xlabel: str | None = None,
    colors: Mapping[str, Any] | None = None,
    series_order: Sequence[str] | None = None,
    ylim: tuple[float, float] | None = None,
) -> Path:
    """Grouped bars, e.g. accuracy per corruption (groups) per mode (series).

    `values[group][series]` is a number or (mean, std); std draws an error bar (None: none).
    A series absent from a group leaves a gap, so positions stay comparable across groups.
    `Table.to_grouped()` gives this structure from a result table.

    Args:
        values: {group: {series: value}}, each value a number or (mean, std).
        path: the PNG to write (must end in .png).
        ylabel: y-axis label.
        title: figure title.
        xlabel: x-axis label; None leaves it empty.
        colors: {series: colour} shared across figures (see color_map); None colours the series in order.
        series_order: series to draw first, in this order; the others follow in the order first seen.
        ylim: (low, high) of the y axis; None lets matplotlib choose.
    """
    groups = [str(g) for g in values]
    if not groups:
        raise ValueError(f"plot_grouped_bars({path}): no groups to draw")
    seen = list(dict.fromkeys(str(s) for g in values.values() for s in g))
    series = seen
    if series_order is not None:
        first = [str(s) for s in series_order]
        series = first + [s for s in seen if s not in set(first)]
    if not series:
        raise ValueError(f"plot_grouped_bars({path}): no values to draw")
    cmap = color_map(series, colors)
    width = 0.8 / len(series)
    fig_width = min(max(6.0, 1.0 + len(groups) * (0.25 * len(series) + 0.35)), 24.0)
    fig, ax = _new_figure(fig_width, 4.8)
    for j, name in enumerate(series):
        xs, heights, errs = [], [], []
        for i, group in enumerate(values.values()):
            entry = {str(k): v for k, v in group.items()}
            if name in entry:
                mean, std = _mean_std(entry[name])
                xs.append(i + (j - (len(series) - 1) / 2) * width)
                heights.append(mean)
                errs.append(np.nan if std is None else std)
        if not xs:
            continue
        has_err = any(np.isfinite(e) for e in errs)
        ax.bar(xs, heights, width * 0.95, color=cmap[name], label=name,
               yerr=np.array(errs) if has_err else None, capsize=2 if has_err else 0,
               error_kw={"elinewidth": 1, "ecolor": "0.15"})
    long_labels = max(len(g) for g in groups) > 8 or len(groups) > 6
    ax.set_xticks(range(len(groups)), labels=groups, rotation=35 if long_labels else 0,
                  ha="right" if long_labels else "center", rotation_mode="anchor")
    if ylim is not None:
        ax.set_ylim(*ylim)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return save_png(fig, path)


def normalize_rows(matrix: Any) -> np.ndarray:
    """Each row (true class) divided by its total; a class never seen stays all zero."""
    m = np.asarray(matrix, dtype=np.float64)
    totals = m.sum(axis=1, keepdims=True)
    return np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)


def plot_confusion_matrix(
    matrix: Any,
    class_names: Sequence[str],
    path: str | os.PathLike,
    *,
    title: str,
    normalize: bool = True,
    cmap: str = "Blues",
) -> Path:
    """Confusion matrix (rows: true class, columns: predicted), each cell annotated.

    normalize=True shows per-true-class fractions (recall on the diagonal), so classes with
    few particles are as readable as frequent ones.
    """
    m = np.asarray(matrix, dtype=np.float64)
    k = len(class_names)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"plot_confusion_matrix: matrix must be square; got shape {m.shape}")
    if m.shape[0] != k:
        raise ValueError(f"plot_confusion_matrix: {k} class names for a {m.shape[0]}x{m.shape[0]} matrix")
    shown = normalize_rows(m) if normalize else m
    vmax = 1.0 if normalize else max(float(shown.max()), 1.0)
    side = max(4.5, 0.7 * k + 2.5)
    fig, ax = _new_figure(side + 1.0, side)
    image = ax.imshow(shown, cmap=cmap, vmin=0.0, vmax=vmax)
    integer_counts = not normalize and np.all(m == np.round(m))
    font = "small" if k <= 10 else "x-small"
    for i in range(k):
        for j in range(k):
            v = shown[i, j]
            text = f"{v:.2f}" if normalize else (f"{int(v)}" if integer_counts else f"{v:.3g}")
            ax.text(j, i, text, ha="center", va="center", fontsize=font,
                    color="white" if v > 0.6 * vmax else "black")
    names = [str(n) for n in class_names]
    ax.set_xticks(range(k), labels=names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), labels=names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of true class" if normalize else "count")
    return save_png(fig, path)
