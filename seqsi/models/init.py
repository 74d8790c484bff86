"""Weight initialisation: PyTorch's default (the paper's, in every suite) or He.

``default`` keeps what each layer's own reset gives: kaiming_uniform(a=sqrt(5)) on the weight,
i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), std 1/sqrt(3 fan_in). The paper's code never
re-initialises, so every paper preset uses it.

``he`` is our option for networks without normalisation layers: the default shrinks the
signal about 3x per conv, so the logits of a deep bias-free network start near 0 and a
short run can stall on the initial plateau. He init (kaiming_normal, std sqrt(2/fan_in) for
ReLU) keeps the variance through conv + (leaky) ReLU; each residual branch's last conv is
then scaled by 1/sqrt(number of residual blocks) so that the sums do not double the variance
block after block.
"""
from __future__ import annotations

import math

import torch.nn as nn

from ..nn.constrained import ConstrainedConv

INITS = ("default", "he")


def check_init(init: str) -> str:
    if init not in INITS:
        raise ValueError(f"model.init must be one of {INITS}; got {init!r}")
    return init


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


def initialise(model: nn.Module, init: str, negative_slope: float, branch_ends: list[nn.Module]) -> None:
    """Apply `init` ("default": leave PyTorch's init alone; "he": he_init + scale_branches)."""
    if check_init(init) == "he":
        he_init(model, negative_slope)
        scale_branches(branch_ends)
