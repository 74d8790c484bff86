"""How far a classifier's outputs move under x -> a*x + b (the paper's invariance table)."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..logits import classes_of
from ..properties import Property



def undo(altered: torch.Tensor, a: float, b: float, promise: Property | None) -> torch.Tensor:
    """The altered logits mapped back by the inverse of what the mode promises: (f - b) / a for
    AffEq, f / a for SEqSI and SEq, f for invariant modes. A model that promises nothing (Standard)
    gets SEqSI's f / a, so that its column is comparable with SEqSI's."""
    if promise is None:
        return altered / a
    if promise.adds_shift:
        altered = altered - b
    factor = {"none": 1.0, "a": a, "|a|": abs(a)}[promise.scale]
    return altered / factor


def compare_logits(clean: torch.Tensor, altered: torch.Tensor, a: float, b: float = 0.0,
                   promise: Property | None = None) -> dict[str, float]:
    """Prediction mismatch (%), mean/max |logit error|, and the same after undoing the promised map.

    For SEqSI the logits scale by a (for AffEq they become a f + b), so the raw error is expected to
    grow with a while the mismatch stays 0 and the rescaled error stays at rounding level.
    """
    raw = (altered - clean).abs()
    rescaled = (undo(altered, a, b, promise) - clean).abs()
    return {
        # a row with non-finite logits has no class (seqsi.logits), so it counts as a mismatch
        "mismatch_pct": 100.0 * ((classes_of(altered)[0] != classes_of(clean)[0]) | (classes_of(altered)[0] < 0))
        .double().mean().item(),
        "mean_abs_err": raw.mean().item(),
        "max_abs_err": raw.max().item(),
        "mean_abs_err_rescaled": rescaled.mean().item(),
        "max_abs_err_rescaled": rescaled.max().item(),
    }


@torch.no_grad()
def invariance_table(model: nn.Module, images: torch.Tensor, cases, dtype: torch.dtype = torch.float32,
                     batch_size: int = 512, device: str | torch.device = "cpu",
                     promise: Property | None = None) -> list[dict]:
    """One row per (a, b) case over the whole image set: compare_logits of f(x) vs f(a x + b).

    `promise`: what the model guarantees (default: the property of its mode, from build_model).

    Args:
        model: the classifier; it is moved to `device` and `dtype` in place and set to eval mode.
        images: the image set, (N, C, ...), already in the scale the model was trained on (e.g. [0, 1]).
        cases: (a, b) pairs, e.g. CIFAR_INVARIANCE_CASES; each row compares f(a x + b) with f(x).
        dtype: dtype of the model and of the images for both forward passes.
        batch_size: images per forward pass.
        device: where the model runs.
        promise: the Property the outputs are mapped back by before the rescaled errors; None reads it from
            the model's `seqsi_mode`, and a model without one is treated as SEqSI (f / a).
    """
    if promise is None and getattr(model, "seqsi_mode", None) is not None:
        promise = model.seqsi_mode.property
    model = model.to(device=device, dtype=dtype).eval()

    def logits(a: float, b: float) -> torch.Tensor:
        parts = [model((a * images[i:i + batch_size].to(device, dtype)) + b).double().cpu()
                 for i in range(0, len(images), batch_size)]
        return torch.cat(parts)

    clean = logits(1.0, 0.0)
    return [{"a": a, "b": b, "dtype": str(dtype).removeprefix("torch."),
             **compare_logits(clean, logits(a, b), a, b, promise)}
            for a, b in cases]
