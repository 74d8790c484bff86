"""x2 up-sampling that keeps affine equivariance: 1x1 sum-to-one conv, then pixel shuffle."""
from __future__ import annotations

import torch
import torch.nn as nn

from .constrained import SumToOneConv
from .nd import check_dims


def pixel_shuffle(x: torch.Tensor, factor: int) -> torch.Tensor:
    """(N, C*r^d, *S) -> (N, C, *(r*S)) for any number d of spatial dims.

    Matches torch.nn.functional.pixel_shuffle in 2D; torch has no 1D/3D version.
    """
    n, c, *spatial = x.shape
    d = len(spatial)
    if c % factor**d:
        raise ValueError(f"pixel_shuffle: {c} channels are not divisible by factor^{d} = {factor**d}")
    out_c = c // factor**d
    x = x.reshape(n, out_c, *([factor] * d), *spatial)
    # interleave: (N, C, r1..rd, s1..sd) -> (N, C, s1, r1, s2, r2, ...)
    order = [0, 1] + [i for k in range(d) for i in (2 + d + k, 2 + k)]
    x = x.permute(order)
    return x.reshape(n, out_c, *(s * factor for s in spatial))


class PixelShuffle(nn.Module):
    def __init__(self, factor: int = 2) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pixel_shuffle(x, self.factor)


class AffineUpsample(nn.Sequential):
    """Affine-equivariant replacement of a stride-2 transposed convolution."""

    def __init__(self, dims: int, in_channels: int, out_channels: int, reparam: str = "avg") -> None:
        check_dims(dims)
        super().__init__(
            SumToOneConv(dims, in_channels, out_channels * 2**dims, 1, reparam=reparam),
            PixelShuffle(2),
        )
