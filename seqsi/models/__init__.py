"""Model registry: build_model(name, mode=..., dims=..., **config)."""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from ..nn.modes import Mode, get_mode
from ..nn.nd import check_dims
from .resnet import BasicBlock, ResNet
from .unet import ResBlock, UNet, pad_to_multiple

# name -> (class, preset keyword arguments). Presets are the paper's networks.
MODELS: dict[str, tuple[type[nn.Module], dict[str, Any]]] = {
    "cifar_resnet": (ResNet, dict(widths=(64, 128, 256), blocks=(3, 3, 3), strides=(1, 2, 2))),
    "resnet18": (
        ResNet,
        dict(widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2), strides=(1, 2, 2, 2), negative_slope=0.1,
             shortcut_kernel=3, norm="auto", in_channels=1, num_classes=6, conv_bias=False),
    ),
    "drunet": (UNet, dict(widths=(64, 128, 256, 512), blocks=4)),
}
_ALIASES = {"resnet": "cifar_resnet", "resnet3d": "resnet18", "unet": "drunet"}


def build_model(name: str, mode: str | Mode = "seqsi", dims: int = 2, **config: Any) -> nn.Module:
    """Build a registered network in a mode. `config` overrides the preset's arguments.

    The returned module carries `seqsi_spec`, the arguments that rebuild it, which
    checkpoints store so that a model can be restored from its checkpoint alone.
    """
    key = _ALIASES.get(name, name)
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid models: {sorted(MODELS)} (aliases: {sorted(_ALIASES)})")
    mode = get_mode(mode)
    check_dims(dims)
    cls, preset = MODELS[key]
    kwargs = {**preset, **config}
    try:
        model = mode.wrap(cls(mode, dims=dims, **kwargs))
    except TypeError as err:
        raise ValueError(f"bad configuration for model {key!r}: {err}") from None
    model.seqsi_spec = {"name": key, "mode": mode.name, "dims": dims, "config": dict(config)}
    model.seqsi_mode = mode
    return model


def input_channels(model: nn.Module) -> int:
    """The channels a model takes: those of its first module with `in_channels` (the first
    convolution of every network here), since a checkpoint's spec may leave it to the preset."""
    for module in model.modules():
        if hasattr(module, "in_channels"):
            return int(module.in_channels)
    raise ValueError(f"cannot tell the input channels of {type(model).__name__}: none of its modules has in_channels")


def model_from_spec(spec: dict[str, Any]) -> nn.Module:
    """Rebuild a model from the `seqsi_spec` dict that build_model attached."""
    return build_model(spec["name"], spec["mode"], spec["dims"], **spec.get("config", {}))


__all__ = ["MODELS", "BasicBlock", "ResBlock", "ResNet", "UNet", "build_model", "input_channels", "model_from_spec", "pad_to_multiple"]
