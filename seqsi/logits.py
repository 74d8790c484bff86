"""Classes from logits, with non-finite outputs reported instead of turned into class 0.

argmax of a row holding NaN or inf is meaningless (torch returns the NaN's index, or 0 for
all -inf): an input far outside the training range (x * 1e38 overflows float32 in the first
layer) would otherwise be "classified" silently. Such a row gets NO_CLASS, which never
equals a label, so it counts as an error, and callers report how many there were.
"""
from __future__ import annotations

import warnings

import torch

NO_CLASS = -1


class NonFiniteOutputWarning(UserWarning):
    """Some samples gave NaN or infinite logits (reported as NO_CLASS)."""


def classes_of(logits: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(argmax class per row, NO_CLASS where a row is not all finite; number of such rows)."""
    finite = torch.isfinite(logits).all(dim=1)
    classes = torch.where(finite, logits.argmax(1), torch.full_like(finite, NO_CLASS, dtype=torch.long))
    return classes, int((~finite).sum().item())


def report_nonfinite(count: int, total: int, where: str) -> None:
    """Warn (once per call) that `count` of `total` samples gave non-finite logits."""
    if count:
        warnings.warn(f"{where}: {count} of {total} sample(s) gave non-finite logits (NaN or inf: an input far "
                      f"outside the training range?); reported as no class ({NO_CLASS}) and counted as errors",
                      NonFiniteOutputWarning, stacklevel=2)


__all__ = ["NO_CLASS", "NonFiniteOutputWarning", "classes_of", "report_nonfinite"]
