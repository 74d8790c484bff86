"""How far a classifier's outputs move under x -> a*x + b (the paper's invariance table)."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..engine.predict import classes_of


def compare_logits(clean: torch.Tensor, altered: torch.Tensor, a: float) -> dict[str, float]:
    """Prediction mismatch (%), mean/max |logit error|, and the same after dividing altered logits by a.

    For SEqSI the logits scale by a, so the raw error is expected to grow with a while the
    mismatch stays 0 and the rescaled error stays at rounding level.
    """
    raw = (altered - clean).abs()
    rescaled = (altered / a - clean).abs()
    return {
        # a row with non-finite logits has no class (seqsi.engine.predict), so it counts as a mismatch
        "mismatch_pct": 100.0 * ((classes_of(altered)[0] != classes_of(clean)[0]) | (classes_of(altered)[0] < 0))
        .double().mean().item(),
        "mean_abs_err": raw.mean().item(),
        "max_abs_err": raw.max().item(),
        "mean_abs_err_rescaled": rescaled.mean().item(),
        "max_abs_err_rescaled": rescaled.max().item(),
    }


@torch.no_grad()
def invariance_table(model: nn.Module, images: torch.Tensor, cases, dtype: torch.dtype = torch.float32,
                     batch_size: int = 512, device: str | torch.device = "cpu") -> list[dict]:
    """One row per (a, b) case over the whole image set: compare_logits of f(x) vs f(a x + b)."""
    model = model.to(device=device, dtype=dtype).eval()

    def logits(a: float, b: float) -> torch.Tensor:
        parts = [model((a * images[i:i + batch_size].to(device, dtype)) + b).double().cpu()
                 for i in range(0, len(images), batch_size)]
        return torch.cat(parts)

    clean = logits(1.0, 0.0)
    return [{"a": a, "b": b, "dtype": str(dtype).removeprefix("torch."), **compare_logits(clean, logits(a, b), a)}
            for a, b in cases]
