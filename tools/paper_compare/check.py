"""One line of the comparison: what was compared, how far apart the two codes are, and the verdict."""
from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Check:
    suite: str                 # cifar10 | czi | loc2d | loc3d
    name: str                  # e.g. "ResNet affeq_avg logits", "set-level accuracy curve"
    max_abs_diff: float | None  # largest |ours - paper's| over the compared values; None: not numeric
    ok: bool
    detail: str = ""

    def row(self) -> str:
        diff = "-" if self.max_abs_diff is None else f"{self.max_abs_diff:.1e}"
        return f"| {self.suite} | {self.name} | {diff} | {'equal' if self.ok else 'DIFFERS'} | {self.detail} |"


def close(suite: str, name: str, ours, paper, tol: float = 1e-10, detail: str = "") -> Check:
    """Compare two arrays/tensors/numbers elementwise (float64 rounding is the default bar)."""
    import numpy as np
    import torch

    def as_array(x):
        if isinstance(x, torch.Tensor):
            return x.detach().cpu().double().numpy()
        return np.asarray(x, dtype=np.float64)

    a, b = as_array(ours), as_array(paper)
    if a.shape != b.shape:
        return Check(suite, name, None, False, f"shapes {a.shape} vs {b.shape}")
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(both_nan, 0.0, np.abs(a - b))
    worst = float(diff.max()) if diff.size else 0.0
    scale = max(1.0, float(np.nanmax(np.abs(b))) if b.size else 1.0)
    return Check(suite, name, worst, bool(worst <= tol * scale) and not math.isnan(worst), detail)
