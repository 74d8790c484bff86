"""Wrappers that give any backbone an extra guarantee."""
from __future__ import annotations

import torch
import torch.nn as nn


def standardize(x: torch.Tensor, unbiased: bool = False) -> torch.Tensor:
    """Per-sample z-score over channels and space: exactly invariant to a*x + b, a > 0.

    `unbiased=True` divides by the sample std (n - 1), as the paper's ZMSE and map z-score
    do; the default is the population std. No epsilon is added to the spread (it would
    break invariance for small a); a sample whose spread is zero, or lost in the rounding
    of its mean, maps to zeros, not NaN.
    """
    dims = tuple(range(1, x.ndim))
    mean = x.mean(dim=dims, keepdim=True)
    std = x.std(dim=dims, keepdim=True, correction=int(unbiased))
    tiny = 16 * torch.finfo(x.dtype).eps * mean.abs()
    flat = ~(std > tiny)  # also a single value, whose sample std is NaN
    return torch.where(flat, torch.zeros_like(x), (x - mean) / torch.where(flat, torch.ones_like(std), std))


class Standardize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return standardize(x)


class ZScoreInput(nn.Module):
    """f(standardize(x)): invariant to a*x + b for a > 0 whatever f is."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.standardize = Standardize()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(self.standardize(x))


class SignSymmetric(nn.Module):
    """g(x) = f(x) + f(-x) on a SEqSI f: g(a*x + b) = |a| g(x) for every a != 0.

    Since f(a x + b) = |a| f(sign(a) x), the sum over both signs no longer sees the
    sign of a, so contrast inversion is covered too. Both signs run as one batch.
    """

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.backbone(torch.cat((x, -x)))
        pos, neg = y.chunk(2)
        return pos + neg
