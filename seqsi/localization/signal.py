"""Which inputs carry no signal, decided on the input itself (never on the output map).

A constant image through a zero-sum stem gives zero only up to rounding, and a z-score then
blows that rounding up into peaks: 0 detections on a constant image, thousands on the same
image under a x + b. So an image (or volume) whose spread, max - min, is at most
NO_SIGNAL_FLOOR times its magnitude, max |x|, is declared without signal and yields no
detections, whatever the mode.

The rule is exact where it matters: a constant image stays exactly constant under a x + b
in floating point (every pixel is the same number), so it has no signal before and after
any alteration of that form. A min-max normalised image (spread 1, values in [0, 1]) keeps
a ratio a / (a + |b|) >= 1e-4 for every a >= 0.01, |b| <= 100 (the audit's range), far
above the floor, so it never loses its signal to an alteration either: the decision is the
same for x and a x + b. Tiled volumes are decided as a whole, before tiling.
"""
from __future__ import annotations

import numpy as np
import torch

NO_SIGNAL_FLOOR = 2.0**-17  # about 64 float32 epsilons: the rounding of one convolution is far below it


def spread_ratio(x) -> float:
    """(max - min) / max |x| of an array or tensor (0.0 for an all-zero input)."""
    array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if array.size == 0:
        return 0.0
    low, high = float(np.min(array)), float(np.max(array))
    magnitude = max(abs(low), abs(high))
    return (high - low) / magnitude if magnitude > 0 else 0.0


def has_signal(x, floor: float = NO_SIGNAL_FLOOR) -> bool:
    """False when the input's spread is at most `floor` times its magnitude (a constant, say)."""
    return spread_ratio(x) > floor


def signal_per_sample(x: torch.Tensor, floor: float = NO_SIGNAL_FLOOR) -> torch.Tensor:
    """has_signal for each sample of a batch (N, ...), as a bool tensor."""
    flat = x.detach().reshape(len(x), -1).double()
    low, high = flat.min(1).values, flat.max(1).values
    magnitude = torch.maximum(low.abs(), high.abs())
    return (high - low) > floor * magnitude


def no_detections(ndim: int) -> np.ndarray:
    """The empty (0, ndim) int64 centre array that detect_centres returns when nothing is found."""
    return np.zeros((0, ndim), dtype=np.int64)


__all__ = ["NO_SIGNAL_FLOOR", "has_signal", "no_detections", "signal_per_sample", "spread_ratio"]
