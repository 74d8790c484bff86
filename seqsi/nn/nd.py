"""Spatial-dimension plumbing: one place maps dims (1, 2, 3) to torch's per-dims classes."""
from __future__ import annotations

from collections.abc import Sequence

import torch.nn as nn
import torch.nn.functional as F

from .onednn import Conv3d, conv3d


def check_dims(dims: int, name: str = "dims") -> int:
    if not isinstance(dims, int) or isinstance(dims, bool) or dims not in (1, 2, 3):
        raise ValueError(f"{name} must be the number of spatial dimensions, 1, 2 or 3; got {dims!r}")
    return dims


def ntuple(value: int | Sequence[int], dims: int, name: str) -> tuple[int, ...]:
    """Broadcast an int to `dims` ints, or check a sequence has `dims` entries."""
    if isinstance(value, int):
        return (value,) * dims
    value = tuple(int(v) for v in value)
    if len(value) != dims:
        raise ValueError(f"{name} must be an int or {dims} ints for {dims}D data; got {value}")
    return value


def conv_fn(dims: int):
    """F.conv*d; in 3D the one that takes oneDNN where torch's size rule misses it (see onednn)."""
    return (F.conv1d, F.conv2d, conv3d)[check_dims(dims) - 1]


def conv_cls(dims: int) -> type[nn.Module]:
    """The convolution our models are built of: torch's, with onednn.Conv3d in 3D."""
    return (nn.Conv1d, nn.Conv2d, Conv3d)[check_dims(dims) - 1]


def torch_conv_cls(dims: int) -> type[nn.Module]:
    """torch's own class, for models that must not need seqsi (export)."""
    return (nn.Conv1d, nn.Conv2d, nn.Conv3d)[check_dims(dims) - 1]


def conv_transpose_cls(dims: int) -> type[nn.Module]:
    return (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)[check_dims(dims) - 1]


def batch_norm_cls(dims: int) -> type[nn.Module]:
    return (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)[check_dims(dims) - 1]


def instance_norm_cls(dims: int) -> type[nn.Module]:
    return (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)[check_dims(dims) - 1]


def dropout_cls(dims: int) -> type[nn.Module]:
    return (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)[check_dims(dims) - 1]


def adaptive_avg_pool_cls(dims: int) -> type[nn.Module]:
    return (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)[check_dims(dims) - 1]


def same_padding(kernel_size: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    """Per-dimension padding that keeps the size at stride 1 (odd kernels)."""
    return tuple(d * (k - 1) // 2 for k, d in zip(kernel_size, dilation))


def pad_arg(padding: tuple[int, ...]) -> tuple[int, ...]:
    """Per-dimension symmetric padding in F.pad's order (last dimension first)."""
    return tuple(p for pad in reversed(padding) for p in (pad, pad))
