"""How a skip connection is merged with its branch.

Both weighted merges compute alpha * first + (1 - alpha) * second: weights summing to one
carry a*x + b through unchanged, for ANY real alpha, so the sum stays affine-equivariant.
They differ only in how alpha is parametrised, as in the paper's code: its CIFAR ResNet
squashes a raw parameter (initialised at 0.5) through a sigmoid, so alpha starts at
sigmoid(0.5) = 0.6225 on the shortcut; its localization UNets learn alpha itself, unbounded,
starting at 0.5.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class Sum(nn.Module):
    """first + second: keeps scale equivariance (both scale by a), not affine (b would double)."""

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return first + second


class ConvexSum(nn.Module):
    """alpha*first + (1-alpha)*second, alpha = sigmoid(logit) in (0, 1); `logit` starts at `raw`.

    raw = 0.5 (alpha = 0.6225) is where the paper's classification networks start.
    """

    def __init__(self, raw: float = 0.5) -> None:
        super().__init__()
        self.logit = nn.Parameter(torch.tensor(float(raw)))

    @property
    def alpha(self) -> torch.Tensor:
        return torch.sigmoid(self.logit)

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return weighted_sum(self.alpha, first, second)


class AffineSum(nn.Module):
    """alpha*first + (1-alpha)*second with alpha a free real parameter (starts at 0.5).

    What the paper's localization UNets do: an affine (not necessarily convex) combination,
    equivariant whatever alpha becomes.
    """

    def __init__(self, alpha: float = 0.5) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor([float(alpha)]))

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return weighted_sum(self.alpha, first, second)


def weighted_sum(alpha: torch.Tensor, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """alpha*first + (1-alpha)*second as second + alpha*(first - second): one kernel (lerp), not three."""
    return torch.lerp(second, first, alpha.to(first.dtype))
