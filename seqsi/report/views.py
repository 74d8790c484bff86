"""Figures a person looks at to trust a volume or a detection: orthogonal views and 2D overlays.

Coordinates of points are array indices in axis order: (z, y, x) for volumes, (y, x) for
images, as everywhere in seqsi.localization. `spacing` (voxel size, any unit) makes the
panels keep physical proportions, so a coarse z sampling does not squash the views.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..localization.scoremaps import check_spacing
from .plots import save_png

# one style per point set, in the order given: hollow circles for the first (ground truth
# by convention), crosses for the second (detections), then more
_STYLES = (
    {"marker": "o", "facecolors": "none", "edgecolors": "#39ff14", "linewidths": 1.2},
    {"marker": "+", "c": "#ff2d55", "linewidths": 1.4},
    {"marker": "x", "c": "#00d5ff", "linewidths": 1.2},
    {"marker": "^", "facecolors": "none", "edgecolors": "#ffd60a", "linewidths": 1.2},
    {"marker": "s", "facecolors": "none", "edgecolors": "#ff8c00", "linewidths": 1.2},
    {"marker": "D", "facecolors": "none", "edgecolors": "#e040fb", "linewidths": 1.2},
)
_PROJECTIONS = ("slice", "max")


def _array(data, name: str, ndim: int) -> np.ndarray:
    if hasattr(data, "detach"):  # a torch tensor
        data = data.detach().cpu().numpy()
    array = np.asarray(data)
    while array.ndim > ndim and array.shape[0] == 1:  # (1, 1, Z, Y, X) batches of one
        array = array[0]
    if array.ndim != ndim or array.size == 0:
        raise ValueError(f"{name} must be a non-empty {ndim}D array; got shape {array.shape}")
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{name} must hold real numbers; got dtype {array.dtype}")
    return array.astype(np.float32, copy=False)


def _points(points: Mapping[str, np.ndarray] | None, ndim: int) -> dict[str, np.ndarray]:
    if points is None:
        return {}
    if not isinstance(points, Mapping):
        raise ValueError("points must be a dict {label: (K, d) array of coordinates}")
    if len(points) > len(_STYLES):
        raise ValueError(f"at most {len(_STYLES)} point sets can be told apart; got {len(points)}")
    out = {}
    for label, coords in points.items():
        coords = np.asarray(coords, dtype=np.float64)
        if coords.size == 0:
            coords = coords.reshape(0, ndim)
        if coords.ndim != 2 or coords.shape[1] != ndim or not np.all(np.isfinite(coords)):
            raise ValueError(f"points[{label!r}] must be a finite (K, {ndim}) array of index coordinates; "
                             f"got shape {coords.shape}")
        out[str(label)] = coords
    return out


def _display_range(panels: Sequence[np.ndarray], percentiles=(0.5, 99.8)) -> tuple[float, float]:
    """One grey range for all panels, robust to a few hot voxels."""
    values = np.concatenate([p[np.isfinite(p)].ravel() for p in panels])
    if not values.size:
        return 0.0, 1.0
    lo, hi = np.percentile(values, percentiles)
    if hi <= lo:
        lo, hi = float(values.min()), float(values.max())
    return float(lo), float(hi) if hi > lo else float(lo) + 1.0


def _show(ax, panel, extent, vrange, cmap):
    ax.imshow(panel, cmap=cmap, vmin=vrange[0], vmax=vrange[1], extent=extent, interpolation="nearest",
              origin="upper", aspect="equal")
    ax.set_autoscale_on(False)  # points outside the image must not shift or shrink it


def _extent(rows: int, cols: int, row_step: float, col_step: float):
    """imshow extent placing pixel (i, j) at (j * col_step, i * row_step): index coordinates times spacing."""
    return (-0.5 * col_step, (cols - 0.5) * col_step, (rows - 0.5) * row_step, -0.5 * row_step)


def _scatter(ax, xs, ys, style_index: int, size: float):
    if len(xs):
        ax.scatter(xs, ys, s=size, **_STYLES[style_index])


def _legend(ax, sets: Mapping[str, np.ndarray], size: float, **kwargs):
    handles = [ax.scatter([], [], s=size, **_STYLES[i]) for i in range(len(sets))]  # empty: legend keys only
    labels = [f"{label} ({len(coords)})" for label, coords in sets.items()]
    return ax.legend(handles, labels, frameon=True, facecolor="0.15", labelcolor="white",
                            edgecolor="0.5", **kwargs)


def _figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas, never through pyplot: the caller's backend is left alone."""
    fig = Figure(figsize=(width, height), facecolor="0.1")
    FigureCanvasAgg(fig)
    return fig


def _marker_size(sets: Mapping[str, np.ndarray]) -> float:
    """Smaller markers when there are many points, within readable bounds."""
    return max(12.0, min(60.0, 900.0 / math.sqrt(max(1, sum(len(c) for c in sets.values())))))


def save_orthogonal_views(volume, path: str | os.PathLike, *, points: Mapping[str, np.ndarray] | None = None,
                          title: str | None = None, projection: str = "slice", spacing: Sequence[float] | None = None,
                          at: Sequence[float] | None = None, depth: float | None = None, unit: str | None = None,
                          cmap: str = "gray", width: float = 8.0, dpi: int = 120) -> None:
    """Write a PNG with the yx, zy and zx views of a (z, y, x) volume, Fiji style.

    projection="slice" cuts through `at` (z, y, x) indices (default: the centre) and marks
    the cut with thin lines; "max" shows maximum-intensity projections. `points` is
    {label: (K, 3) zyx index coordinates}; each set gets its own marker (first: hollow
    circles, second: crosses, ...). In slice views a point is drawn on a panel when it lies
    within `depth` of that panel's plane (in units of `spacing`; default 3 voxels of the
    finest axis); projections show every point.

    Args:
        volume: the (z, y, x) volume, numpy array or tensor (leading axes of size 1 are dropped).
        path: the PNG to write (must end in .png).
        points: {label: (K, 3) zyx index coordinates}, at most six sets; None draws no points.
        title: figure title; None for none.
        projection: "slice" (planes through `at`) or "max" (maximum-intensity projections).
        spacing: voxel size (z, y, x), so that the panels keep physical proportions; None means 1 per axis.
        at: (z, y, x) indices the slices go through, inside the volume; None is the centre. Slices only.
        depth: how far from a slice's plane a point may lie to be drawn on it, in units of `spacing`; None
            means 3 voxels of the finest axis. Slices only.
        unit: axis label unit; None means "voxels" without `spacing`, "um" with it.
        cmap: matplotlib colour map of the grey values.
        width: figure width in inches.
        dpi: PNG resolution in dots per inch.
    """
    vol = _array(volume, "volume", 3)
    step = check_spacing(spacing, 3)
    sets = _points(points, 3)
    if projection not in _PROJECTIONS:
        raise ValueError(f"projection must be one of {_PROJECTIONS}; got {projection!r}")
    nz, ny, nx = vol.shape
    centre = np.array([(n - 1) / 2 for n in vol.shape]) if at is None else np.asarray(at, dtype=np.float64)
    if centre.shape != (3,) or np.any(centre < 0) or np.any(centre > np.array(vol.shape) - 1):
        raise ValueError(f"at must be (z, y, x) indices inside the volume {vol.shape}; got {at!r}")
    z0, y0, x0 = (int(round(c)) for c in centre)
    if projection == "max":
        yx, zy, zx = vol.max(axis=0), vol.max(axis=2).T, vol.max(axis=1)
    else:
        yx, zy, zx = vol[z0], vol[:, :, x0].T, vol[:, y0, :]
    vrange = _display_range([yx, zy, zx])
    depth = 3 * step.min() if depth is None else float(depth)
    unit = unit or ("voxels" if spacing is None else "um")

    sz, sy, sx = step
    w_main, w_side = nx * sx, nz * sz
    h_main, h_side = ny * sy, nz * sz
    scale = width / (w_main + w_side)
    fig = _figure(width, max(2.0, scale * (h_main + h_side)) + (0.4 if title else 0.0) + 0.6)
    grid = fig.add_gridspec(2, 2, width_ratios=[w_main, w_side], height_ratios=[h_main, h_side],
                            wspace=0.06, hspace=0.06, left=0.07, right=0.98, bottom=0.07,
                            top=0.92 if title else 0.98)
    ax_yx = fig.add_subplot(grid[0, 0])
    ax_zy = fig.add_subplot(grid[0, 1], sharey=ax_yx)
    ax_zx = fig.add_subplot(grid[1, 0], sharex=ax_yx)
    _show(ax_yx, yx, _extent(ny, nx, sy, sx), vrange, cmap)
    _show(ax_zy, zy, _extent(ny, nz, sy, sz), vrange, cmap)
    _show(ax_zx, zx, _extent(nz, nx, sz, sx), vrange, cmap)
    marker = _marker_size(sets)
    for i, coords in enumerate(sets.values()):
        pz, py, px = coords.T
        keep = {"yx": np.ones(len(coords), bool), "zy": np.ones(len(coords), bool), "zx": np.ones(len(coords), bool)}
        if projection == "slice":
            keep = {"yx": np.abs(pz - z0) * sz <= depth, "zy": np.abs(px - x0) * sx <= depth,
                    "zx": np.abs(py - y0) * sy <= depth}
        _scatter(ax_yx, px[keep["yx"]] * sx, py[keep["yx"]] * sy, i, marker)
        _scatter(ax_zy, pz[keep["zy"]] * sz, py[keep["zy"]] * sy, i, marker)
        _scatter(ax_zx, px[keep["zx"]] * sx, pz[keep["zx"]] * sz, i, marker)
    if projection == "slice":
        line = {"color": "#ffd60a", "lw": 0.6, "alpha": 0.5}
        ax_yx.axhline(y0 * sy, **line), ax_yx.axvline(x0 * sx, **line)
        ax_zy.axhline(y0 * sy, **line), ax_zy.axvline(z0 * sz, **line)
        ax_zx.axhline(z0 * sz, **line), ax_zx.axvline(x0 * sx, **line)
    labels = ((ax_yx, None, f"y ({unit})"), (ax_zy, f"z ({unit})", None), (ax_zx, f"x ({unit})", f"z ({unit})"))
    for ax, xl, yl in labels:
        ax.tick_params(colors="0.8", labelsize=7)
        if xl:
            ax.set_xlabel(xl, color="0.8", fontsize=8)
        if yl:
            ax.set_ylabel(yl, color="0.8", fontsize=8)
    ax_yx.tick_params(labelbottom=False)
    ax_zy.tick_params(labelleft=False)
    ax_info = fig.add_subplot(grid[1, 1])
    ax_info.axis("off")
    where = "max projections" if projection == "max" else f"slices z={z0} y={y0} x={x0}"
    ax_info.text(0.02, 0.98, f"{where}\nshape {nz}x{ny}x{nx}\ngrey {vrange[0]:.4g}..{vrange[1]:.4g}",
                 va="top", ha="left", color="0.85", fontsize=7, transform=ax_info.transAxes)
    if sets:
        _legend(ax_info, sets, marker, loc="lower left", fontsize=7)
    if title:
        fig.suptitle(title, color="white", fontsize=10)
    save_png(fig, path, dpi)


def save_overlay_2d(image, path: str | os.PathLike, *, points: Mapping[str, np.ndarray] | None = None,
                    title: str | None = None, spacing: Sequence[float] | None = None, cmap: str = "gray",
                    width: float = 6.0, dpi: int = 120) -> None:
    """Write a PNG of a (y, x) image with point sets {label: (K, 2) yx indices} overlaid.

    Args:
        image: the (y, x) image, numpy array or tensor (leading axes of size 1 are dropped).
        path: the PNG to write (must end in .png).
        points: {label: (K, 2) yx index coordinates}, at most six sets; None draws no points.
        title: figure title; None for none.
        spacing: pixel size (y, x), so that the image keeps physical proportions; None means 1 per axis.
        cmap: matplotlib colour map of the grey values.
        width: figure width in inches.
        dpi: PNG resolution in dots per inch.
    """
    img = _array(image, "image", 2)
    sy, sx = check_spacing(spacing, 2)
    sets = _points(points, 2)
    ny, nx = img.shape
    fig = _figure(width, max(2.0, width * (ny * sy) / (nx * sx)) + (0.4 if title else 0.1))
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.9 if title else 0.96))
    _show(ax, img, _extent(ny, nx, sy, sx), _display_range([img]), cmap)
    ax.axis("off")
    marker = _marker_size(sets)
    for i, coords in enumerate(sets.values()):
        _scatter(ax, coords[:, 1] * sx, coords[:, 0] * sy, i, marker)
    if sets:
        _legend(ax, sets, marker, loc="lower left", fontsize=7)
    if title:
        fig.suptitle(title, color="white", fontsize=10)
    save_png(fig, path, dpi)
