"""Convolutions and linear maps whose kernels sum to a fixed value.

A kernel that sums to 0 cancels any constant added to its input (shift invariance);
one that sums to 1 passes the constant through unchanged (affine equivariance).
The constraint is a reparametrisation of a free weight, so any optimizer can train it:

- ``avg``: w' = w - mean(w) + s/n (numerically stable, the default);
- ``telescopic``: w' = roll(w, 1) - w + s/n over the flattened kernel (the paper's
  alternative, less stable).

In eval mode under ``torch.no_grad`` the constrained kernel is computed once and
reused until the weight changes (its version counter, dtype or storage moves), so
inference costs what a plain convolution costs.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .framed import reflect_padded
from .nd import check_dims, conv_fn, ntuple, pad_arg, same_padding

REPARAMETRISATIONS = ("avg", "telescopic")


def check_reparam(reparam: str) -> str:
    if reparam not in REPARAMETRISATIONS:
        raise ValueError(f"reparam must be one of {REPARAMETRISATIONS}; got {reparam!r}")
    return reparam


def constrain(weight: torch.Tensor, kernel_sum: float, reparam: str = "avg") -> torch.Tensor:
    """Map a free weight (out, ...) to one whose entries sum to `kernel_sum` per output row."""
    flat = weight.flatten(1)
    if reparam == "avg":
        flat = flat - flat.mean(dim=1, keepdim=True)
    elif reparam == "telescopic":
        flat = flat.roll(1, dims=1) - flat
    else:
        check_reparam(reparam)
    if kernel_sum:
        flat = flat + kernel_sum / flat.shape[1]
    return flat.view_as(weight)


def unconstrain(kernel: torch.Tensor, reparam: str = "avg") -> torch.Tensor:
    """A free weight w whose constrained kernel is `kernel` with its mean replaced by s/n.

    Lets `convert` keep a pretrained kernel: its best sum-constrained approximation
    (the mean removed) is what the new layer computes, in either reparametrisation.
    """
    flat = kernel.flatten(1)
    target = flat - flat.mean(dim=1, keepdim=True)  # the zero-sum part
    if reparam == "avg":
        return target.view_as(kernel).clone()
    check_reparam(reparam)
    # roll(w, 1) - w = t  <=>  w[i] = w[i-1] - t[i], with w[0] = 0 (t sums to 0, so i = 0 closes).
    w = -torch.cumsum(target, dim=1)
    w = w - w[:, :1]
    return w.view_as(kernel)


class ConstrainedWeight(nn.Module):
    """Base for modules with a constrained `weight`; owns the eval-mode kernel cache."""

    kernel_sum: float

    def __init__(self, reparam: str) -> None:
        super().__init__()
        self.reparam = check_reparam(reparam)
        self._cache: tuple[tuple, torch.Tensor] | None = None

    def kernel(self) -> torch.Tensor:
        w = self.weight
        if self.training or torch.is_grad_enabled():
            self._cache = None
            return constrain(w, self.kernel_sum, self.reparam)
        key = (w._version, w.data_ptr(), w.dtype, w.device)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, constrain(w, self.kernel_sum, self.reparam))
        return self._cache[1]

    def train(self, mode: bool = True):
        self._cache = None
        return super().train(mode)

    def _reset(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))


class ConstrainedConv(ConstrainedWeight):
    """Bias-free N-d convolution whose kernel sums to `kernel_sum` per output channel.

    Reflect padding by default: zero padding would put a fixed 0 at the border, which
    does not follow a*x + b and so breaks the guarantee there.
    """

    def __init__(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        *,
        kernel_sum: float,
        reparam: str = "avg",
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = "same",
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        padding_mode: str = "reflect",
    ) -> None:
        super().__init__(reparam)
        self.dims = check_dims(dims)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups})"
            )
        if padding_mode not in ("reflect", "replicate", "circular", "zeros"):
            raise ValueError(f"padding_mode must be reflect, replicate, circular or zeros; got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(kernel_size, dims, "kernel_size")
        self.stride = ntuple(stride, dims, "stride")
        self.dilation = ntuple(dilation, dims, "dilation")
        if padding == "same":
            self.padding = same_padding(self.kernel_size, self.dilation)
        else:
            self.padding = ntuple(padding, dims, "padding")
        self.padding_mode = padding_mode
        self.kernel_sum = float(kernel_sum)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        self._reset()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.padding):
            framed = reflect_padded(x, self.padding) if self.padding_mode == "reflect" else None
            mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
            x = F.pad(x, pad_arg(self.padding), mode=mode) if framed is None else framed
        return conv_fn(self.dims)(x, self.kernel(), None, self.stride, (0,) * self.dims, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
            f"padding_mode={self.padding_mode}, kernel_sum={self.kernel_sum:g}, reparam={self.reparam}"
        )


class ZeroSumConv(ConstrainedConv):
    """Shift-invariant convolution: conv(a x + b) = a conv(x). The SEqSI stem."""

    def __init__(self, dims: int, in_channels: int, out_channels: int, kernel_size, **kwargs) -> None:
        super().__init__(dims, in_channels, out_channels, kernel_size, kernel_sum=0.0, **kwargs)


class SumToOneConv(ConstrainedConv):
    """Affine-equivariant convolution: conv(a x + b) = a conv(x) + b. The AffEq layer."""

    def __init__(self, dims: int, in_channels: int, out_channels: int, kernel_size, **kwargs) -> None:
        super().__init__(dims, in_channels, out_channels, kernel_size, kernel_sum=1.0, **kwargs)


class SumToOneLinear(ConstrainedWeight):
    """Linear map whose rows sum to 1: the AffEq classification head (logits follow a*x + b)."""

    kernel_sum = 1.0

    def __init__(self, in_features: int, out_features: int, reparam: str = "avg") -> None:
        super().__init__(reparam)
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self._reset()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.kernel())

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, reparam={self.reparam}"
