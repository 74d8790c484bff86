"""What is learned: the loss that is minimised and the validation metrics that are reported."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .predict import classes_of


class Classification:
    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target)

    def metric_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": F.cross_entropy(output, target, reduction="sum"),
                "accuracy": (classes_of(output)[0] == target).sum()}  # non-finite rows: no class, wrong


class MapRegression:
    """Dense score-map regression with a localization loss (BCE or ZMSE, seqsi.localization.get_loss)."""

    def __init__(self, loss) -> None:
        self.criterion = loss

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.criterion(output, target)

    def metric_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": self.criterion(output, target) * len(output)}
