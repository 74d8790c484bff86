"""Sort pooling: the activation of affine-equivariant networks."""
from __future__ import annotations

import torch
import torch.nn as nn


def _pairs(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """An empty output shaped like x's channel pairs (N, C/2, 2, ...), and x's two halves."""
    pairs = x.unflatten(1, (-1, 2))
    first, second = pairs.unbind(2)
    return torch.empty_like(pairs), first, second


def sort_pairs(x: torch.Tensor) -> torch.Tensor:
    """min then max of each consecutive channel pair, written straight into one output.

    Two elementwise kernels and one allocation: a reduction over a size-2 dim plus a
    stack cost about ten times as much on CPU. Exact: the output is a permutation of x.
    """
    out, first, second = _pairs(x)
    return _sort_into(out, first, second)


def _sort_into(out: torch.Tensor, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    torch.minimum(first, second, out=out.select(2, 0))
    torch.maximum(first, second, out=out.select(2, 1))
    return out.flatten(1, 2)


class _SortPairs(torch.autograd.Function):
    """sort_pairs with a backward that sends each gradient back to where its value came from.

    Saves one bool per pair (was the pair swapped?) instead of the input, and routes the
    gradients with lerp on a 0/1 weight: exact unless a pair's two gradients differ by more
    than the float range (torch.where is twice as slow on CPU).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        out, first, second = _pairs(x)
        ctx.save_for_backward(first > second)
        return _sort_into(out, first, second)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (swapped,) = ctx.saved_tensors
        out, low, high = _pairs(grad)
        weight = swapped.to(grad.dtype)
        if torch.is_grad_enabled():  # create_graph: out= cannot be differentiated
            return torch.stack((torch.lerp(low, high, weight), torch.lerp(high, low, weight)), 2).flatten(1, 2)
        torch.lerp(low, high, weight, out=out.select(2, 0))
        torch.lerp(high, low, weight, out=out.select(2, 1))
        return out.flatten(1, 2)


class SortPool(nn.Module):
    """Sort each consecutive channel pair (min first, max second).

    Piecewise linear and it commutes with x -> a*x + b for a > 0, unlike ReLU,
    whose kink sits at a fixed 0 that a shift moves.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f"SortPool sorts channel pairs: channels must be even, got {channels}")
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.requires_grad and torch.is_grad_enabled():
            return _SortPairs.apply(x)
        return sort_pairs(x)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"
