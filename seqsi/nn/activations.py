"""Sort pooling: the activation of affine-equivariant networks."""
from __future__ import annotations

import torch
import torch.nn as nn


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
        pairs = x.unflatten(1, (-1, 2))
        low, high = pairs.min(dim=2).values, pairs.max(dim=2).values
        return torch.stack((low, high), dim=2).flatten(1, 2)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"
