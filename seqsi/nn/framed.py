"""Sort-pooling outputs written inside the padding frame of the convolution that reads them.

An AffEq convolution pads its input by reflection before convolving: a copy of the whole
feature map. Inside a residual block the sort pooling between the two convolutions feeds
nothing but the second one, so in eval it can write its output straight into the interior
of a buffer one voxel larger on each side; the convolution then fills only the thin frame
and convolves the buffer. The values are the same copies F.pad makes, so outputs are bitwise
unchanged. Only layers built with `framed=True` write such outputs, and only a convolution
whose padding is the frame's width reads the buffer; any other reader sees an ordinary
(strided) tensor.

What it saves on CPU is F.pad's fresh allocation, whose pages the kernel faults in and zeroes:
benchmarks/framed.py measures 8 % to 11 % of an eval-only process on the CIFAR ResNet, and
nothing once a train step has grown the heap. A GPU's caching allocator has no such cost, so
there, and under autograd, tracing, scripting or compiling, everything runs the plain way.
"""
from __future__ import annotations

import torch

from .onednn import cpu_inference

ENABLED = True  # benchmarks/framed.py turns it off to time the plain path beside this one
_BUFFER = "_seqsi_reflect_frame"


def framing_enabled(x: torch.Tensor) -> bool:
    """On CPU, no autograd, tracing, scripting or compiling, and every spatial side long enough to reflect."""
    return ENABLED and cpu_inference(x) and x.dim() > 2 and min(x.shape[2:]) > 1


def framed_empty(x: torch.Tensor) -> torch.Tensor:
    """An uninitialised tensor shaped like x (N, C, *spatial): the interior of a buffer one
    larger on both sides of each spatial dim, which the returned view remembers."""
    buffer = x.new_empty((*x.shape[:2], *(s + 2 for s in x.shape[2:])))
    interior = buffer
    for dim, size in enumerate(x.shape[2:], start=2):
        interior = interior.narrow(dim, 1, size)
    setattr(interior, _BUFFER, buffer)
    return interior


def reflect_padded(x: torch.Tensor, padding: tuple[int, ...]) -> torch.Tensor | None:
    """x reflect-padded by `padding` in its own buffer, the frame filled now; None when x was
    not written by framed_empty or `padding` is not 1 in every dim.

    From the last dim to the first, each over the full extent of the dims already done: the
    corners come out as F.pad(mode="reflect") makes them, and every dim but the last copies
    whole contiguous rows. A frame one wide reflects a single row: no flip."""
    buffer = getattr(x, _BUFFER, None)
    if buffer is None or any(p != 1 for p in padding):
        return None
    last = buffer.dim() - 1
    for dim in range(last, 1, -1):
        size = x.shape[dim]
        slab = [slice(None)] * 2 + [slice(1, s + 1) for s in x.shape[2:dim]]
        for frame, source in _frame_sources(size, strided=dim == last):
            buffer[(*slab, frame)] = buffer[(*slab, source)]
    return buffer


def _frame_sources(size: int, strided: bool) -> list[tuple[slice, slice]]:
    """(frame rows, the rows they copy) along one dim of a buffer of size + 2. `strided`: both
    sides in one copy (rows 0 and size+1 from rows 2 and size-1, size-3 apart), which halves
    the cost of the single-element copies along the last dim."""
    if strided and size >= 4:
        return [(slice(0, size + 2, size + 1), slice(2, size, size - 3))]
    return [(slice(0, 1), slice(2, 3)), (slice(size + 1, size + 2), slice(size - 1, size))]
