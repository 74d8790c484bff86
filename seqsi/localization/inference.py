"""Tiled inference of a score-map network on images or volumes too large for one pass.

The image is cut into cores of `tile` pixels; each core is run with `overlap` extra
pixels of context on every side (clipped at the image border) and only the core of
the output is kept, no averaging. A core pixel then equals the untiled prediction (up
to float rounding) when
  - `overlap` >= the network's receptive-field radius (for the DRUNet-style UNet,
    unet_receptive_margin(levels, blocks) is an upper bound), and
  - windows start on the network's down-sampling grid: `align` = 2**levels for a UNet
    with `levels` stride-2 steps; `tile` and `overlap` must be multiples of it.
Near the far end of an axis whose size is not a multiple of `align` the UNet pads a
window with the window's mean instead of the image's: there, within the receptive
field, tiles may differ slightly. Networks that use whole-input statistics (z-score
input wrapper, instance or layer norm) see per-tile statistics: tiling changes them.

predict_maps is what training, evaluation and `seqsi predict` run: whole images batched,
images over `max_pixels` tile by tile on the UNet's grid (unet_geometry, read duck-typed:
this package never imports seqsi.models).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn

from .peaks import per_axis, tile_windows


def unet_receptive_margin(levels: int, blocks: int) -> int:
    """Upper bound (pixels) on how far the DRUNet-style UNet looks from an output pixel.

    3x3 head and tail: 1 each; per level i < levels: 2*blocks convs 3x3 in the encoder
    and as many in the decoder (2**i px each), one k2 s2 down and one up step (2**i px
    each); 2*blocks convs 3x3 at the bottom level (2**levels px each).
    """
    if levels < 0 or blocks < 0:
        raise ValueError(f"levels and blocks must be >= 0; got {levels} and {blocks}")
    return 2 + (4 * blocks + 2) * (2**levels - 1) + 2 * blocks * 2**levels


@torch.no_grad()
def predict_tiled(
    model: nn.Module,
    image,
    tile: int | Sequence[int],
    overlap: int | Sequence[int],
    *,
    align: int = 1,
    batch_size: int = 1,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Raw network output for a spatial-only image (H, W) or (D, H, W), computed tile by tile.

    The model takes (N, 1, *spatial) and is used as it is (call .eval() first). Returns
    (*spatial) for one output channel, else (C, *spatial), in `dtype` (default: the
    model's). `image` and `out` may be any array numpy can slice (np.memmap, zarr, ...),
    so neither has to fit in memory; windows of equal shape are batched.

    Args:
        model: network taking (N, 1, *spatial) and keeping the spatial size, already in eval mode.
        image: the spatial-only image or volume; any array numpy can slice.
        tile: core size of each tile in pixels, one value or one per axis; a positive multiple of `align`.
        overlap: context in pixels added on every side of a core (clipped at the border), one value or one
            per axis; a multiple of `align`, at least the receptive-field radius for an exact result.
        align: the network's down-sampling step (2**levels for a UNet); windows start on multiples of it.
        batch_size: windows of equal shape run per forward pass.
        device: where the windows are sent; None uses the device of the model's parameters.
        dtype: dtype of the windows and of the result; None uses the model's parameter dtype.
        out: None to allocate the result, or an array of the result's shape to write into.
    """
    shape = tuple(np.shape(image))
    ndim = len(shape)
    if ndim == 0 or 0 in shape:
        raise ValueError(f"image must be a non-empty spatial array (H, W) or (D, H, W); got shape {shape}")
    tile, overlap = per_axis(tile, ndim, "tile", int), per_axis(overlap, ndim, "overlap", int)
    if align < 1 or any(t < 1 or t % align for t in tile) or any(o < 0 or o % align for o in overlap):
        raise ValueError(f"tile {tile} must be positive and tile and overlap {overlap} multiples of align={align} "
                         "(windows must start on the network's down-sampling grid)")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    parameter = next(model.parameters(), None)
    device = torch.device(device) if device is not None else (parameter.device if parameter is not None else "cpu")
    dtype = dtype or (parameter.dtype if parameter is not None else torch.float32)
    groups: dict[tuple[int, ...], list] = {}
    for core, window, inner in tile_windows(shape, tile, overlap):
        groups.setdefault(tuple(w.stop - w.start for w in window), []).append((core, window, inner))
    for jobs in groups.values():
        for first in range(0, len(jobs), batch_size):
            batch = jobs[first:first + batch_size]
            x = torch.stack([torch.as_tensor(np.array(image[w]), dtype=dtype) for _, w, _ in batch])
            y = model(x[:, None].to(device))
            if y.shape[2:] != x.shape[1:]:
                raise ValueError(f"the model must keep the spatial size; got {tuple(y.shape[2:])} "
                                 f"for an input of {tuple(x.shape[1:])}")
            y = y.cpu()
            if out is None:
                channels = y.shape[1]
                out = np.empty(shape if channels == 1 else (channels, *shape), dtype=y.numpy().dtype)
            for (core, _, inner), result in zip(batch, y):
                out[(Ellipsis, *core)] = (result[0] if out.ndim == ndim else result)[(Ellipsis, *inner)].numpy()
    return out


def unet_geometry(model: nn.Module) -> tuple[int, int]:
    """(levels, blocks) of the UNet inside a model (behind any invariance wrapper), read by duck
    typing so that this package need not import seqsi.models: the first submodule with an
    integer `levels` (its stride-2 steps) and a `body` of residual blocks, as seqsi's UNet."""
    for module in model.modules():
        levels, body = getattr(module, "levels", None), getattr(module, "body", None)
        if isinstance(levels, int) and isinstance(body, nn.Sequential):
            return levels, len(body)
    raise ValueError(f"{type(model).__name__} holds no UNet: tiled inference needs its down-sampling geometry")


def is_tiled(image, max_pixels: int | None) -> bool:
    """Whether predict_maps runs `image` tile by tile (more than `max_pixels` pixels)."""
    return max_pixels is not None and int(np.prod(np.shape(image))) > max_pixels


def _round_up(value: int, step: int) -> int:
    return int(math.ceil(value / step) * step)


@torch.no_grad()
def predict_maps(model: nn.Module, images: Sequence[np.ndarray | torch.Tensor], *, dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu", max_pixels: int | None = None, tile: int | None = None,
                 overlap: int | None = None, batch_size: int = 1, tile_batch_size: int = 1) -> list[np.ndarray]:
    """Raw output maps (spatial shape of each image) of a model already in `dtype` and on `device`.

    Images of equal shape are run `batch_size` at a time. Images with more than
    `max_pixels` pixels go through `predict_tiled` (`tile_batch_size` windows at a time),
    with tiles on the UNet's down-sampling grid and, by default, the exact receptive-field
    overlap, so the result equals the whole-image prediction (up to rounding; see
    predict_tiled).

    Args:
        model: the network, already in `dtype`, on `device` and in eval mode; tiled images need a UNet inside.
        images: spatial-only images or volumes (numpy arrays or tensors), of any shapes.
        dtype: dtype the images are converted to before the forward pass.
        device: where the images are sent.
        max_pixels: images with more pixels than this are tiled; None never tiles.
        tile: tile core size in pixels for tiled images, rounded up to the UNet's grid; None means 128.
        overlap: context in pixels per side for tiled images, rounded up to the UNet's grid; None uses the
            UNet's receptive-field margin, which gives the untiled result.
        batch_size: whole images of equal shape run per forward pass.
        tile_batch_size: tiles run per forward pass for a tiled image.
    """
    arrays = [i.detach().cpu().numpy() if isinstance(i, torch.Tensor) else np.asarray(i) for i in images]
    outputs: list[np.ndarray | None] = [None] * len(arrays)
    whole: dict[tuple[int, ...], list[int]] = {}
    for k, array in enumerate(arrays):
        if not is_tiled(array, max_pixels):
            whole.setdefault(array.shape, []).append(k)
            continue
        levels, blocks = unet_geometry(model)
        align = 2**levels
        margin = _round_up(unet_receptive_margin(levels, blocks) if overlap is None else overlap, align)
        outputs[k] = predict_tiled(model, array, _round_up(tile or 128, align), margin, align=align,
                                   batch_size=tile_batch_size, device=device, dtype=dtype)
    for indices in whole.values():
        for first in range(0, len(indices), max(1, batch_size)):
            chunk = indices[first:first + max(1, batch_size)]
            x = torch.stack([torch.as_tensor(arrays[k], dtype=dtype) for k in chunk])[:, None].to(device)
            for k, y in zip(chunk, model(x)[:, 0].cpu().numpy()):
                outputs[k] = y
    return outputs


def predict_map(model: nn.Module, image: np.ndarray | torch.Tensor, **kwargs) -> np.ndarray:
    """One image's raw output map (see predict_maps)."""
    return predict_maps(model, [image], **kwargs)[0]
