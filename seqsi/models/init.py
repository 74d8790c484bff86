"""Weight initialisation for networks without normalisation layers.

PyTorch's default conv init shrinks the signal about 3x per layer; with no norm to undo
it, the logits of a deep bias-free network start near 0 and training stalls. He init
keeps the variance through conv + (leaky) ReLU; each residual branch's last conv is then
scaled by 1/sqrt(number of residual blocks) so that the sums do not double the variance
block after block.
"""
from __future__ import annotations

import math

import torch.nn as nn

from ..nn.constrained import ConstrainedConv


def he_init(model: nn.Module, negative_slope: float = 0.0) -> None:
    for module in model.modules():
        if isinstance(module, (nn.modules.conv._ConvNd, ConstrainedConv)):
            nn.init.kaiming_normal_(module.weight, a=negative_slope, nonlinearity="leaky_relu")
            if isinstance(module, ConstrainedConv) and module.reparam == "telescopic":
                module.weight.data.mul_(math.sqrt(0.5))  # roll(w) - w doubles the variance
    # biases keep PyTorch's default (non-zero) init, as an ordinary network has them


def scale_branches(branch_ends: list[nn.Module]) -> None:
    """Scale the last conv of every residual branch by 1/sqrt(len(branch_ends))."""
    factor = 1.0 / math.sqrt(max(1, len(branch_ends)))
    for conv in branch_ends:
        conv.weight.data.mul_(factor)
