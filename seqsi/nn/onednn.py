"""3D convolutions sent to oneDNN where torch's CPU size rule would not send them.

For a batch of one and a kernel of at most 3 per side, torch's CPU dispatch takes oneDNN for
a float32 convolution only when N*C*D*H exceeds 20480 elements: a product written for 2D
inputs that leaves out a volume's last dim. A 3D UNet's full-resolution levels on a small
crop (1 x 32 x 24³ is 18432 by that count) then run on torch's own im2col kernel, which
benchmarks/conv3d.py measures 1.6x to 5.9x slower than oneDNN; larger inputs already pass
torch's count. Here the same threshold counts the whole input; 2D inputs are unchanged, since
torch's product already covers them. Only in inference on CPU (float32, no autograd, tracing,
scripting, compiling or export): there the two kernels differ by float rounding alone.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SMALL = 20480  # torch's own threshold (aten/src/ATen/native/Convolution.cpp, use_mkldnn)
ENABLED = True  # benchmarks/conv3d.py turns it off to time torch's dispatch beside this one


def cpu_inference(x: torch.Tensor) -> bool:
    """A CPU tensor outside autograd, tracing, scripting, compiling and export: where our choice
    of kernel or buffer cannot change what a graph records or what a gradient sees."""
    return (x.device.type == "cpu" and not (x.requires_grad and torch.is_grad_enabled())
            and not torch.jit.is_tracing() and not torch.jit.is_scripting() and not torch.compiler.is_compiling()
            and not torch.compiler.is_exporting())


def missed_by_torch(x: torch.Tensor, weight: torch.Tensor, groups: int) -> bool:
    """A float32 3D convolution that torch's rule keeps off oneDNN only because it leaves out the last dim."""
    return (ENABLED and x.dim() == 5 and x.dtype == torch.float32 and weight.dtype == torch.float32 and groups == 1
            and x.shape[0] == 1 and weight.shape[2:].numel() > 1
            and not (weight.requires_grad and torch.is_grad_enabled())
            and math.prod(x.shape[:4]) <= SMALL < x.numel()
            and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled and cpu_inference(x))


def conv3d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride, padding, dilation,
           groups: int) -> torch.Tensor:
    """F.conv3d with zero padding, on oneDNN where `missed_by_torch`.

    Args:
        x: input, N x C x D x H x W.
        weight: kernel, C_out x C/groups x kD x kH x kW.
        bias: one per output channel, or None.
        stride: three ints, as nn.Conv3d stores them.
        padding: three ints, with zeros.
        dilation: three ints.
        groups: channel groups.
    """
    if missed_by_torch(x, weight, groups):
        return torch.mkldnn_convolution(x.contiguous(), weight.contiguous(), bias, padding, stride, dilation, groups)
    return F.conv3d(x, weight, bias, stride, padding, dilation, groups)


class Conv3d(nn.Conv3d):
    """nn.Conv3d (same parameters, same state dict) whose calls go through `conv3d`: after F.pad
    for the other padding modes, as nn.Conv3d pads them. Padding given as a string ("same",
    "valid") keeps nn.Conv3d's own path."""

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if isinstance(self.padding, str):
            return super()._conv_forward(input, weight, bias)
        padding = self.padding
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            padding = (0, 0, 0)
        return conv3d(input, weight, bias, self.stride, padding, self.dilation, self.groups)
