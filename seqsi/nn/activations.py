"""Sort pooling: the activation of affine-equivariant networks."""
from __future__ import annotations

import torch
import torch.nn as nn

from .framed import framed_empty, framing_enabled


def _halves(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first and second channel of every consecutive pair of x, as views."""
    return x.unflatten(1, (-1, 2)).unbind(2)


def sort_pairs(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """min then max of each consecutive channel pair, written straight into one output
    (`out`, shaped like x, when given: seqsi.nn.framed passes one inside a padding frame).

    Two elementwise kernels and one allocation: a reduction over a size-2 dim plus a
    stack cost about ten times as much on CPU. Exact: the output is a permutation of x.
    """
    out = torch.empty_like(x) if out is None else out
    first, second = _halves(x)
    low, high = _halves(out)
    torch.minimum(first, second, out=low)
    torch.maximum(first, second, out=high)
    return out


class _SortPairs(torch.autograd.Function):
    """sort_pairs with a backward that sends each gradient back to where its value came from.

    Saves one bool per pair (was the pair swapped?) instead of the input, and routes the
    gradients with lerp on a 0/1 weight: exact unless a pair's two gradients differ by more
    than the float range (torch.where is twice as slow on CPU).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        first, second = _halves(x)
        ctx.save_for_backward(first > second)
        return sort_pairs(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (swapped,) = ctx.saved_tensors
        low, high = _halves(grad)
        weight = swapped.to(grad.dtype)
        if torch.is_grad_enabled():  # create_graph: out= cannot be differentiated
            return torch.stack((torch.lerp(low, high, weight), torch.lerp(high, low, weight)), 2).flatten(1, 2)
        out = torch.empty_like(grad)
        first, second = _halves(out)
        torch.lerp(low, high, weight, out=first)
        torch.lerp(high, low, weight, out=second)
        return out


class SortPool(nn.Module):
    """Sort each consecutive channel pair (min first, max second).

    Piecewise linear and it commutes with x -> a*x + b for a > 0, unlike ReLU,
    whose kink sits at a fixed 0 that a shift moves. `framed=True` where the output feeds only
    a 3x3 reflect-padded convolution: in eval it is then written inside that convolution's
    padding frame (seqsi.nn.framed), which saves the convolution its padding copy.
    """

    def __init__(self, channels: int, framed: bool = False) -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f"SortPool sorts channel pairs: channels must be even, got {channels}")
        self.channels, self.framed = channels, framed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.requires_grad and torch.is_grad_enabled():
            return _SortPairs.apply(x)
        return sort_pairs(x, framed_empty(x) if self.framed and framing_enabled(x) else None)

    def extra_repr(self) -> str:
        return f"channels={self.channels}" + (", framed=True" if self.framed else "")
