"""What `seqsi predict` writes: per-image CSVs (napari points), the summary, overlays, maps."""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..io import write_csv
from ..report.plots import save_png

DENSE_3D = 30  # detections in a volume above which its max projections get a slice grid beside them


def centre_rows(centres: np.ndarray, values: np.ndarray, voxel_size: Sequence[float] | None,
                value_name: str) -> list[dict]:
    """napari points rows: index, axis-0.. (pixel indices), the value, and physical positions (um)."""
    rows = []
    for i, (c, v) in enumerate(zip(centres, values)):
        row = {"index": i, **{f"axis-{a}": int(p) for a, p in enumerate(c)}, value_name: float(v)}
        if voxel_size is not None:
            names = ("z_um", "y_um", "x_um")[-len(c):]
            row.update({n: float(p) * float(s) for n, p, s in zip(names, c, voxel_size)})
        rows.append(row)
    return rows


def write_centres(path: Path, centres: np.ndarray, values: np.ndarray, voxel_size, value_name: str) -> None:
    ndim = centres.shape[1] if centres.ndim == 2 else 0
    fields = ["index", *[f"axis-{a}" for a in range(ndim)], value_name]
    if voxel_size is not None:
        fields += list(("z_um", "y_um", "x_um")[-ndim:])
    write_csv(path, centre_rows(centres, values, voxel_size, value_name), fieldnames=fields)


def save_overlay(image: np.ndarray, centres: np.ndarray, path: Path, *, title: str, spacing=None) -> list[Path]:
    """2D: the image with its detections. 3D: max projections (as the 3D eval draws them) and,
    for dense volumes, a grid of the z-slices holding most detections. Returns the files written."""
    from ..report.views import save_orthogonal_views, save_overlay_2d

    points = {"detected": centres}
    if image.ndim == 2:
        save_overlay_2d(image, path, points=points, title=title, spacing=spacing)
        return [path]
    save_orthogonal_views(image, path, points=points, title=title, spacing=spacing, projection="max")
    written = [path]
    if len(centres) > DENSE_3D:
        slices = path.with_name(path.stem + "_slices.png")
        save_slice_grid(image, centres, slices, title=title)
        written.append(slices)
    return written


def save_slice_grid(volume: np.ndarray, centres: np.ndarray, path: Path, *, title: str = "", slices: int = 6,
                    depth: int = 1) -> None:
    """The `slices` z-slices through the most detections, each with the detections within
    `depth` slices of it: readable where a max projection of a dense volume is not."""
    z = centres[:, 0] if len(centres) else np.zeros(0, int)
    counts = np.array([np.sum(np.abs(z - k) <= depth) for k in range(volume.shape[0])])
    chosen = sorted(np.argsort(-counts, kind="stable")[:slices].tolist())
    cols = min(3, len(chosen))
    rows = math.ceil(len(chosen) / cols)
    aspect = volume.shape[1] / volume.shape[2]
    fig = Figure(figsize=(3.2 * cols, 3.2 * rows * aspect + 0.5), facecolor="0.1")
    FigureCanvasAgg(fig)
    low, high = np.percentile(volume, (0.5, 99.8))
    for i, k in enumerate(chosen):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(volume[k], cmap="gray", vmin=low, vmax=high if high > low else low + 1, interpolation="nearest")
        near = centres[np.abs(z - k) <= depth] if len(centres) else centres
        if len(near):
            ax.scatter(near[:, 2], near[:, 1], s=30, marker="+", c="#ff2d55", linewidths=1.2)
        ax.set_title(f"z = {k}: {len(near)} within {depth}", color="0.85", fontsize=8)
        ax.axis("off")
    if title:
        fig.suptitle(f"{title} (z-slices)", color="white", fontsize=10)
    save_png(fig, path, 110)
