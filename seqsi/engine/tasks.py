"""What is learned: the loss that is minimised and the validation metrics that are reported."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..logits import classes_of


def macro_accuracy(hits, support, predicted) -> float:
    """Mean per-class recall, as torchmetrics' MulticlassAccuracy(num_classes=K) (average="macro"),
    the paper's cryo-ET "accuracy" (= sklearn's recall_score(average="macro", zero_division=0)).

    Per class: `hits` correct predictions, `support` true samples, `predicted` predictions (any
    common scale). A class that is neither present nor predicted is left out of the mean; one that
    is predicted but absent counts with recall 0.
    """
    hits, support, predicted = (np.array(v, dtype=np.float64) for v in (hits, support, predicted))
    counted = (support + predicted) > 0
    if not counted.any():
        return float("nan")
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    return float(recall[counted].mean())


class Classification:
    """Cross-entropy; validation loss and accuracy, and with `num_classes` also the macro accuracy."""

    def __init__(self, num_classes: int | None = None) -> None:
        self.num_classes = num_classes

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target)

    def metric_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        predictions = classes_of(output)[0]  # non-finite rows: no class (-1), wrong
        sums = {"loss": F.cross_entropy(output, target, reduction="sum"),
                "accuracy": (predictions == target).sum()}
        if self.num_classes:  # per-class counts (underscored: turned into macro_accuracy by summarise)
            k = self.num_classes
            hits = torch.bincount(target[predictions == target], minlength=k)
            support, predicted = torch.bincount(target, minlength=k), torch.bincount(predictions[predictions >= 0], minlength=k)
            for c in range(k):
                sums.update({f"_hits{c}": hits[c], f"_support{c}": support[c], f"_predicted{c}": predicted[c]})
        return sums

    def summarise(self, metrics: dict[str, float]) -> dict[str, float]:
        """The averaged validation sums -> the reported metrics (per-class counts -> macro_accuracy)."""
        if not self.num_classes:
            return metrics
        k = range(self.num_classes)
        out = {key: v for key, v in metrics.items() if not key.startswith("_")}
        counts = ([metrics[f"_{name}{c}"] for c in k] for name in ("hits", "support", "predicted"))
        out["macro_accuracy"] = macro_accuracy(*counts)
        return out


class MapRegression:
    """Dense score-map regression with a localization loss (BCE or ZMSE, seqsi.localization.get_loss)."""

    def __init__(self, loss) -> None:
        self.criterion = loss

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.criterion(output, target)

    def metric_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": self.criterion(output, target) * len(output)}
