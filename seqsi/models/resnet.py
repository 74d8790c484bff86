"""ResNet with basic blocks, for any number of spatial dims and any mode.

The CIFAR-10 network (3 stages of 3 blocks) and the cryo-ET ResNet-18-like 3D network
(4 stages of 2 blocks, LeakyReLU, 3x3x3 shortcuts) are two presets of this one class.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from ..nn.modes import Mode
from ..nn.nd import adaptive_avg_pool_cls, check_dims, dropout_cls
from .init import check_init, initialise


class BasicBlock(nn.Module):
    """conv-norm-act-dropout-conv-norm-dropout, merged with the shortcut, then act."""

    def __init__(
        self, mode: Mode, dims: int, in_channels: int, out_channels: int, stride: int, *,
        norm: str, stage: int, dropout: float, negative_slope: float, shortcut_kernel: int, conv_bias: bool,
    ) -> None:
        super().__init__()
        self.conv1 = mode.conv(dims, in_channels, out_channels, 3, stride=stride, bias=conv_bias)
        self.norm1 = mode.norm(norm, dims, out_channels, stage)
        self.act1 = mode.activation(out_channels, negative_slope, framed=True)  # feeds only conv2
        self.drop1 = dropout_cls(dims)(dropout) if dropout else nn.Identity()
        self.conv2 = mode.conv(dims, out_channels, out_channels, 3, bias=conv_bias)
        self.norm2 = mode.norm(norm, dims, out_channels, stage)
        self.drop2 = dropout_cls(dims)(dropout) if dropout else nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                mode.conv(dims, in_channels, out_channels, shortcut_kernel, stride=stride, bias=conv_bias),
                mode.norm(norm, dims, out_channels, stage),
            )
        else:
            self.shortcut = nn.Identity()
        self.merge = mode.merge()
        self.act2 = mode.activation(out_channels, negative_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.drop1(self.act1(self.norm1(self.conv1(x))))
        branch = self.drop2(self.norm2(self.conv2(branch)))
        return self.act2(self.merge(self.shortcut(x), branch))


class ResNet(nn.Module):
    """stem -> stages of basic blocks -> global average pool -> the mode's linear head.

    `conv_bias=False` makes every convolution bias-free even in modes with biases (the
    paper's 3D ResNet; its linear head keeps the mode's bias). `init`: "default" (PyTorch's,
    as the paper) or "he" (seqsi.models.init).
    """

    def __init__(
        self,
        mode: Mode,
        dims: int = 2,
        in_channels: int = 3,
        num_classes: int = 10,
        widths: Sequence[int] = (64, 128, 256),
        blocks: Sequence[int] = (3, 3, 3),
        strides: Sequence[int] = (1, 2, 2),
        stem_kernel: int = 3,
        norm: str = "none",
        dropout: float = 0.0,
        negative_slope: float = 0.0,
        shortcut_kernel: int = 1,
        conv_bias: bool = True,
        init: str = "default",
    ) -> None:
        super().__init__()
        check_dims(dims)
        check_init(init)
        if not len(widths) == len(blocks) == len(strides):
            raise ValueError(f"widths, blocks and strides need one entry per stage; got {widths}, {blocks}, {strides}")
        self.stem = nn.Sequential(
            mode.conv(dims, in_channels, widths[0], stem_kernel, stem=True, bias=conv_bias),
            mode.norm(norm, dims, widths[0], stage=0),
            mode.activation(widths[0], negative_slope),
        )
        stages, channels = [], widths[0]
        for stage, (width, count, stride) in enumerate(zip(widths, blocks, strides), start=1):
            layers = []
            for i in range(count):
                layers.append(BasicBlock(
                    mode, dims, channels, width, stride if i == 0 else 1, norm=norm, stage=stage,
                    dropout=dropout, negative_slope=negative_slope, shortcut_kernel=shortcut_kernel,
                    conv_bias=conv_bias,
                ))
                channels = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.pool = adaptive_avg_pool_cls(dims)(1)
        self.head = mode.linear(channels, num_classes)
        initialise(self, init, negative_slope, [m.conv2 for m in self.modules() if isinstance(m, BasicBlock)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.head(self.pool(x).flatten(1))
