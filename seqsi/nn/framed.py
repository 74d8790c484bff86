"""Sort-pooling outputs written inside the padding frame of the convolution that reads them.

An AffEq convolution pads its input by reflection before convolving: a copy of the whole
feature map. Inside a residual block the sort pooling between the two convolutions feeds
nothing but the second one, so in eval it can write its output straight into the interior
of a buffer one voxel larger on each side; the convolution then fills only the thin frame
and convolves the buffer. The values are the same copies F.pad makes, so outputs are bitwise
unchanged. Only layers built with `framed=True` write such outputs, and only a convolution
whose padding is the frame's width reads the buffer; any other reader sees an ordinary
(strided) tensor.

What it saves on CPU is F.pad's fresh allocation, whose pages the kernel faults in and zeroes
(benchmarks/framed.py: 11 % of an eval-only process on the CIFAR ResNet). A GPU's caching
allocator has no such cost, so there, and under autograd, tracing, scripting or compiling,
everything runs the plain way.
"""
from __future__ import annotations

import torch

ENABLED = True  # benchmarks/framed.py turns it off to time the plain path beside this one
_BUFFER = "_seqsi_reflect_frame"


def framing_enabled(x: torch.Tensor) -> bool:
    """On CPU, no autograd, tracing, scripting or compiling, and every spatial side long enough to reflect."""
    return (ENABLED and x.device.type == "cpu" and not (x.requires_grad and torch.is_grad_enabled())
            and not torch.jit.is_tracing() and not torch.jit.is_scripting() and not torch.compiler.is_compiling()
            and x.dim() > 2 and min(x.shape[2:]) > 1)


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

    One dim after the other, over the full extent of the dims already done: the corners come
    out as F.pad(mode="reflect") makes them. A frame one wide reflects a single row: no flip."""
    buffer = getattr(x, _BUFFER, None)
    if buffer is None or any(p != 1 for p in padding):
        return None
    for dim, size in enumerate(x.shape[2:], start=2):
        slab = buffer
        for later, later_size in enumerate(x.shape[dim + 1:], start=dim + 1):
            slab = slab.narrow(later, 1, later_size)
        slab.narrow(dim, 0, 1).copy_(slab.narrow(dim, 2, 1))
        slab.narrow(dim, size + 1, 1).copy_(slab.narrow(dim, size - 1, 1))
    return buffer
