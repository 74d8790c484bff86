"""One image under every corruption of a suite, as one PNG (`seqsi gallery`).

So a person can see what each test set looks like before trusting a table built on it.
The input is min-max normalised to [0, 1] first, as the experiments do. Each panel is
shown on its own display range [min, max] (default; written under it, the same for all
channels so colours are not stretched) or all on [0, 1] (unit_range, `--range unit`). Pixels that a
corruption clipped (found by re-running it without its clip, same draws) are counted
and, on gray images, marked: red at the top bound, blue at the bottom. Volumes are
shown as an XY view over an XZ view, maximum projections (default) or central slices.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import tifffile
import torch

from ..io import atomic_path
from .corruptions import minmax_normalize, with_overrides
from .suites import load_suite

READERS = (".tif", ".tiff", ".npy", ".png", ".jpg", ".jpeg")


def read_array(path: Path) -> np.ndarray:
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise ValueError(f"{path}: unsupported file type {suffix!r}; expected one of {', '.join(READERS)}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if suffix in (".tif", ".tiff"):
        return np.asarray(tifffile.imread(path))
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    import matplotlib.image

    return np.asarray(matplotlib.image.imread(path))


def to_batch(array: np.ndarray, kind: str, source: str) -> torch.Tensor:
    """(1, C, *spatial) float64 in [0, 1] from a 2D gray/RGB image or a 3D gray volume."""
    if array.dtype.kind not in "uif":
        raise ValueError(f"{source}: expected numeric pixel values; got dtype {array.dtype}")
    a = np.squeeze(array).astype(np.float64)
    rgb = a.ndim == 3 and a.shape[-1] in (3, 4) and kind != "volume"
    if a.ndim == 2 and kind != "volume":
        x = a[None]
    elif rgb:
        x = np.moveaxis(a[..., :3], -1, 0)  # drop alpha
    elif a.ndim == 3 and kind != "image":
        x = a[None]
    else:
        raise ValueError(
            f"{source}: expected a 2D image (H, W) or (H, W, 3|4), or a 3D volume (Z, Y, X) "
            f"(--kind {kind}); got shape {array.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError(f"{source}: contains NaN or inf values")
    if x.max() == x.min():
        raise ValueError(f"{source}: the image is constant ({x.min():g}); min-max normalisation is undefined")
    return minmax_normalize(torch.from_numpy(np.ascontiguousarray(x))[None])


def _views(y: np.ndarray, view: str, project=np.max) -> np.ndarray:
    """A (C, H, W) image, or for a volume (1, Z, Y, X) its XY view above its XZ view."""
    if y.ndim == 3:
        return y
    vol = y[0]
    if view == "mip":
        xy, xz = project(vol, axis=0), project(vol, axis=1)
    else:
        xy, xz = vol[vol.shape[0] // 2], vol[:, vol.shape[1] // 2]
    gap = np.full((max(1, xy.shape[0] // 40), xy.shape[1]), np.nan)
    return np.concatenate([xy, gap, xz])[None]


def _panel(ax, image: np.ndarray, clip_masks, title: str, unit_range: bool) -> None:
    import matplotlib

    finite = image[np.isfinite(image)]
    lo, hi = (0.0, 1.0) if unit_range else (float(finite.min()), float(finite.max()))
    scale = hi - lo if hi > lo else 1.0
    shown = (image - lo) / scale
    if shown.shape[0] == 3:
        ax.imshow(np.clip(np.nan_to_num(np.moveaxis(shown, 0, -1), nan=1.0), 0, 1), interpolation="nearest")
    else:
        cmap = matplotlib.colormaps["gray"].with_extremes(bad="white")
        ax.imshow(np.ma.masked_invalid(shown[0]), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        if clip_masks is not None:
            low, high = clip_masks
            overlay = np.zeros((*low.shape, 4))
            overlay[high] = (1.0, 0.1, 0.1, 0.85)
            overlay[low] = (0.2, 0.4, 1.0, 0.85)
            ax.imshow(overlay, interpolation="nearest")
    ax.set_title(f"{title}\nshown [{lo:.3g}, {hi:.3g}]", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])


def save_gallery(x: torch.Tensor, output: str | Path, *, suite: str | None = None, seed: int = 0, view: str = "mip",
                 unit_range: bool = False, columns: int = 5, name: str = "image") -> tuple[int, list[str]]:
    """One PNG of the batch's first image under every corruption of `suite` that fits its dims.

    Returns (number of panels, skipped corruptions).

    Args:
        x: batch (N, C, *spatial) in [0, 1] (see to_batch); only the first image is drawn.
        output: path of the PNG to write.
        suite: name of the corruption suite; None uses "fluorescence" for volumes, "cifar10" for images.
        seed: seed of the one generator the corruptions draw from, in suite order.
        view: for volumes, "mip" (maximum projections) or "slice" (central slices); ignored for images.
        unit_range: show every panel on [0, 1] instead of its own [min, max].
        columns: most panels per row, at least 1.
        name: what the image is called in the figure title (e.g. its file name).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dims = x.ndim - 2
    suite = load_suite(suite or ("fluorescence" if dims == 3 else "cifar10"))
    if columns < 1:
        raise ValueError(f"--columns must be >= 1; got {columns}")

    panels, skipped = [], []
    generator = torch.Generator().manual_seed(seed)
    for key, corruption in suite.corruptions.items():
        if dims not in corruption.dims:
            skipped.append(f"{key} ({'/'.join(f'{d}D' for d in corruption.dims)} only)")
            continue
        state = generator.get_state()
        y, params = corruption(x, generator)
        image = _views(y[0].numpy(), view)
        drawn = corruption.format_params(params, 0)
        clip_masks = None
        if corruption.clip is not None:
            raw = with_overrides(corruption, clip=None)(x, torch.Generator().set_state(state))[0][0].numpy()
            low, high = raw < corruption.clip[0], raw > corruption.clip[1]
            drawn = f"{drawn}, clipped {float(low.mean() + high.mean()):.0%}".lstrip(", ")
            # a max projection shows the top bound where any voxel of the ray was clipped
            # high, the bottom bound only where every voxel was clipped low
            clip_masks = (_views(low, view, np.min)[0] > 0.5, _views(high, view, np.max)[0] > 0.5)
        title = f"{corruption.title}\n{drawn}" if drawn else corruption.title
        panels.append((image, clip_masks if image.shape[0] == 1 else None, title))
    if not panels:
        raise ValueError(f"suite {suite.name!r} has no corruption for {dims}D data (skipped: {', '.join(skipped)})")

    cols = min(columns, len(panels))
    rows = math.ceil(len(panels) / cols)
    height, width = panels[0][0].shape[-2:]
    aspect = height / width
    fig = Figure(figsize=(2.4 * cols, 2.4 * aspect * rows + 0.75 * rows + 0.6), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (image, masks, title) in zip(axes.flat, panels):
        _panel(ax, image, masks, title, unit_range)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    what = f"{'volume' if dims == 3 else 'image'} {tuple(x.shape[2:])}"
    if dims == 3:
        what += f", XY over XZ {'max projections' if view == 'mip' else 'central slices'}"
    legend = "all panels shown on [0, 1]" if unit_range else "each panel shown on its own range"
    if x.shape[1] == 1:
        legend += "; red/blue: clipped at the top/bottom by the corruption"
    fig.suptitle(f"{name}: {what}, min-max normalised; suite {suite.name}, seed {seed}\n{legend}", fontsize=9)
    fig.tight_layout()
    with atomic_path(Path(output)) as tmp:
        fig.savefig(tmp, format="png")
    return len(panels), skipped
