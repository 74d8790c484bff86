"""The normalisation factory. What each choice does to the guarantees:

- none: keeps every guarantee (the default of the equivariant modes);
- batch: in eval mode the running statistics add a fixed per-channel offset, which
  breaks scale and affine equivariance;
- instance / layer / group: divide by the feature's own spread, so everything after
  them becomes scale-INVARIANT (argmax survives, equivariance of the output does not);
- mix: instance norm in the stem and first stage, batch norm after (the paper's variant).

As the paper's get_norm_layer: instance norm (``nn.InstanceNorm2d(C)``) and group norm (32
groups, else the largest power of two that divides C) have no affine parameters; batch and
layer norm (GroupNorm(1, C)) keep theirs.
"""
from __future__ import annotations

import torch.nn as nn

from .nd import batch_norm_cls, instance_norm_cls

NORMS = ("none", "batch", "instance", "layer", "group", "mix")


def check_norm(kind: str) -> str:
    if kind not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}; got {kind!r}")
    return kind


def make_norm(kind: str, dims: int, channels: int, stage: int = 0, groups: int = 32) -> nn.Module:
    """A norm layer for `channels` features; `stage` (0 = stem, 1 = first stage...) matters for "mix"."""
    check_norm(kind)
    if kind == "mix":
        kind = "instance" if stage <= 1 else "batch"
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return batch_norm_cls(dims)(channels)
    if kind == "instance":
        return instance_norm_cls(dims)(channels)  # affine=False, track_running_stats=False
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    g = groups if channels % groups == 0 else next((p for p in (16, 8, 4, 2) if channels % p == 0), 1)
    return nn.GroupNorm(g, channels, affine=False)  # the paper's "group": no affine parameters
