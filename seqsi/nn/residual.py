"""How a skip connection is merged with its branch."""
from __future__ import annotations

import torch
import torch.nn as nn


class Sum(nn.Module):
    """skip + branch: keeps scale equivariance (both scale by a), not affine (b would double)."""

    def forward(self, skip: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
        return skip + branch


class ConvexSum(nn.Module):
    """alpha*skip + (1-alpha)*branch, alpha = sigmoid(learned) in [0, 1].

    Weights summing to one carry a*x + b through unchanged, so the sum stays affine.
    """

    def __init__(self, alpha: float = 0.5) -> None:
        super().__init__()
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"ConvexSum: initial alpha must lie strictly inside (0, 1); got {alpha}")
        self.logit = nn.Parameter(torch.logit(torch.tensor(float(alpha))))

    @property
    def alpha(self) -> torch.Tensor:
        return torch.sigmoid(self.logit)

    def forward(self, skip: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
        # branch + alpha*(skip - branch) in one kernel (three, with two temporaries, as written above)
        return torch.lerp(branch, skip, self.alpha.to(skip.dtype))
