"""Turn an existing PyTorch model into its SEq / SEqSI / z-score version.

For a bias-free ReLU network (seq), scaling the input scales every feature; putting a
zero-sum first convolution in front (seqsi) also cancels any shift. So conversion is:
remove every bias, replace the first convolution by a zero-sum one with reflect
padding (its weights kept, minus their mean), and deal with what cannot stay
(normalisation layers, activations that are not positively homogeneous).
Functional operations inside forward() are invisible here: run `seqsi.invariance.audit`
on the result, which is the actual certificate.
"""
from __future__ import annotations

import copy
import warnings

import torch
import torch.nn as nn

from .invariance import POSITIVELY_HOMOGENEOUS
from .nn.constrained import ZeroSumConv, unconstrain
from .nn.modes import Mode, get_mode
from .nn.norms import NORMS, make_norm

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm, nn.LayerNorm)
_BIASED = (nn.modules.conv._ConvNd, nn.Linear)


def _set_module(root: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, child = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, child, new)


def _zero_sum_like(conv: nn.modules.conv._ConvNd, reparam: str) -> ZeroSumConv:
    dims = conv.weight.ndim - 2
    padding = conv.padding if isinstance(conv.padding, tuple) else ("same" if conv.padding == "same" else 0)
    new = ZeroSumConv(
        dims, conv.in_channels, conv.out_channels, conv.kernel_size, reparam=reparam, stride=conv.stride,
        padding=padding, dilation=conv.dilation, groups=conv.groups, padding_mode="reflect",
    )
    with torch.no_grad():
        new.weight.copy_(unconstrain(conv.weight.detach(), reparam))
    return new.to(conv.weight.device, conv.weight.dtype)


def _norm_dims(norm: nn.Module, model_dims: int) -> int:
    """BatchNorm3d says its dims; GroupNorm and LayerNorm do not: they take the model's."""
    name = type(norm).__name__
    return int(name[-2]) if name[-2:] in ("1d", "2d", "3d") else model_dims


def convert(
    model: nn.Module,
    mode: str | Mode = "seqsi",
    *,
    norm: str = "none",
    stem: str | None = None,
    strict: bool = True,
    inplace: bool = False,
) -> nn.Module:
    """Return `model` converted to `mode` (seq, seqsi, seqsi_sym or zscore).

    norm: what replaces normalisation layers: "none" (removed, keeps the guarantee),
      "keep" (left in place and reported as breaking it), or a norm of
      seqsi.nn.NORMS (instance/layer/group make the output scale-invariant instead).
    stem: dotted name of the first convolution; default the first one registered.
    strict: raise on anything that breaks the guarantee (kept norms, activations that
      are not positively homogeneous); otherwise warn.
    """
    mode = get_mode(mode)
    if norm != "keep" and norm not in NORMS:
        raise ValueError(f"convert: norm must be 'keep' or one of {NORMS}; got {norm!r}")
    if mode.sort_activation or mode.convex_residual:
        raise ValueError(
            "convert: AffEq needs sort-pooling activations and convex residual sums written in the model's "
            "forward(), which cannot be changed from outside; build one with seqsi.build_model(..., mode='affeq')"
        )
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, _CONVS)]
    if not convs:
        raise ValueError(f"convert: {type(model).__name__} has no Conv1d/Conv2d/Conv3d layer to convert")
    if not inplace:
        model = copy.deepcopy(model)
    if mode.bias:  # standard (nothing to change) and zscore (a wrapper around the model as it is)
        return _tag(mode.wrap(model), mode)
    model_dims = convs[0][1].weight.ndim - 2

    problems = []
    for name, module in list(model.named_modules()):
        if isinstance(module, _BIASED) and module.bias is not None:
            module.register_parameter("bias", None)
        elif isinstance(module, _NORMS):
            if norm == "keep":
                problems.append(f"{name} ({type(module).__name__}) kept: it breaks the guarantee")
            else:
                channels = getattr(module, "num_features", None) or getattr(module, "num_channels", None)
                if channels is None:
                    problems.append(f"{name} ({type(module).__name__}) cannot be replaced: unknown channel count")
                    continue
                _set_module(model, name, make_norm(norm, _norm_dims(module, model_dims), channels))
        elif not any(True for _ in module.children()) and not isinstance(module, POSITIVELY_HOMOGENEOUS + _BIASED):
            problems.append(f"{name} ({type(module).__name__}) may not be positively homogeneous")

    if mode.stem_kernel_sum == 0.0:
        stem_name = stem or convs[0][0]
        old = model.get_submodule(stem_name)
        if not isinstance(old, _CONVS):
            raise ValueError(f"convert: stem {stem_name!r} is a {type(old).__name__}, not a convolution")
        _set_module(model, stem_name, _zero_sum_like(old, mode.reparam))

    if problems:
        message = f"convert to {mode.name}: " + "; ".join(problems)
        if strict:
            raise ValueError(message + " (pass strict=False to convert anyway, or norm='none')")
        warnings.warn(message, stacklevel=2)
    return _tag(mode.wrap(model), mode)


def _tag(model: nn.Module, mode: Mode) -> nn.Module:
    model.seqsi_mode = mode
    return model
