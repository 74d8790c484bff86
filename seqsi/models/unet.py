"""DRUNet-style UNet for any number of spatial dims and any mode (localization score maps)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..nn.modes import Mode
from ..nn.nd import check_dims
from .init import check_init, initialise


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad the end of every spatial dim up to a multiple, with the per-sample mean of x.

    Padding with mean(x) keeps the affine property: the pad of a*x + b is a*pad(x) + b.
    """
    extra = [(-s) % multiple for s in x.shape[2:]]
    if not any(extra):
        return x
    mean = x.mean(dim=tuple(range(1, x.ndim)), keepdim=True)
    pads = tuple(p for e in reversed(extra) for p in (0, e))
    return F.pad(x - mean, pads) + mean


class ResBlock(nn.Module):
    """merge(x, conv(act(conv(x)))), then act again if `post_activation`.

    The paper's 2D DRUNet block ends at the merge; its 3D UNet block applies the mode's
    activation (ReLU or SortPool) after it, which doubles the activations of the network.
    """

    def __init__(self, mode: Mode, dims: int, channels: int, negative_slope: float,
                 post_activation: bool = False) -> None:
        super().__init__()
        self.conv1 = mode.conv(dims, channels, channels, 3)
        self.act = mode.activation(channels, negative_slope)
        self.conv2 = mode.conv(dims, channels, channels, 3)
        self.merge = mode.merge(bounded=False)
        self.post = mode.activation(channels, negative_slope) if post_activation else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.merge(x, self.conv2(self.act(self.conv1(x)))))


class UNet(nn.Module):
    """head -> [res blocks, down] per level -> body -> [merge skip, up, res blocks] -> merge, tail.

    The paper's layout (2D DRUNet, 3D EquivUNet3D), weight for weight: the affine merges of
    AffEq learn an unbounded alpha weighting the decoder path (alpha * decoder + (1 - alpha)
    * encoder feature) and the identity of each residual block; `post_activation=True` is
    the 3D network's block (see ResBlock).
    """

    def __init__(
        self,
        mode: Mode,
        dims: int = 2,
        in_channels: int = 1,
        out_channels: int = 1,
        widths: Sequence[int] = (64, 128, 256, 512),
        blocks: int = 4,
        negative_slope: float = 0.0,
        post_activation: bool = False,
        init: str = "default",
    ) -> None:
        super().__init__()
        check_dims(dims)
        check_init(init)
        if len(widths) < 2:
            raise ValueError(f"UNet needs at least two widths (one down step); got {widths}")
        self.levels = len(widths) - 1

        def res(ch: int) -> list[nn.Module]:
            return [ResBlock(mode, dims, ch, negative_slope, post_activation) for _ in range(blocks)]

        self.head = mode.conv(dims, in_channels, widths[0], 3, stem=True)
        self.down = nn.ModuleList(
            nn.Sequential(*res(widths[i]), mode.downsample(dims, widths[i], widths[i + 1])) for i in range(self.levels)
        )
        self.body = nn.Sequential(*res(widths[-1]))
        self.up = nn.ModuleList(
            nn.Sequential(mode.upsample(dims, widths[i + 1], widths[i]), *res(widths[i]))
            for i in reversed(range(self.levels))
        )
        self.skips = nn.ModuleList(mode.merge(bounded=False) for _ in range(self.levels + 1))
        self.tail = mode.conv(dims, widths[0], out_channels, 3)
        initialise(self, init, negative_slope, [m.conv2 for m in self.modules() if isinstance(m, ResBlock)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[2:]
        features = [self.head(pad_to_multiple(x, 2**self.levels))]
        for down in self.down:
            features.append(down(features[-1]))
        y = self.body(features[-1])
        for up, skip, feature in zip(self.up, self.skips, reversed(features[1:])):
            y = up(skip(y, feature))
        y = self.tail(self.skips[-1](y, features[0]))
        return y[(..., *(slice(0, s) for s in size))]
