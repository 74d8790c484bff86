"""The one place that says what each network mode means.

A mode name is parsed once, at the edge (CLI, config, checkpoint), into a `Mode`;
models then ask the mode for their layers (``mode.conv``, ``mode.activation``,
``mode.merge``, ``mode.linear``, ...) and never test mode strings.

| mode      | guarantee                     | stem         | body            | bias | act      | residual | head        |
|-----------|-------------------------------|--------------|-----------------|------|----------|----------|-------------|
| standard  | none                          | conv         | conv            | yes  | ReLU     | sum      | linear      |
| seq       | f(ax) = a f(x)                | conv         | conv            | no   | ReLU     | sum      | linear      |
| affeq     | f(ax+b) = a f(x) + b          | sum-to-one   | sum-to-one      | no   | SortPool | weighted | sum-to-one  |
| seqsi     | f(ax+b) = a f(x)              | zero-sum     | conv            | no   | ReLU     | sum      | linear      |
| zscore    | f(ax+b) = f(x)                | standard network behind a per-image z-score of the input           |
| seqsi_sym | f(ax+b) = abs(a) f(x), a != 0 | seqsi network g, returns g(x) + g(-x)                              |

"weighted": alpha * first + (1 - alpha) * second (see seqsi/nn/residual.py for the two
parametrisations of alpha, chosen by the network through ``mode.merge(bounded=...)``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import torch.nn as nn

from ..properties import AFFINE_EQUIVARIANT, INVARIANT, SCALE_EQUIVARIANT, SEQSI, SIGN_SEQSI, Property
from .activations import SortPool
from .constrained import REPARAMETRISATIONS, ConstrainedConv, SumToOneLinear, check_reparam
from .nd import check_dims, conv_cls, conv_transpose_cls, ntuple, same_padding
from .norms import make_norm
from .residual import AffineSum, ConvexSum, Sum
from .upsample import AffineUpsample
from .wrappers import SignSymmetric, ZScoreInput


@dataclass(frozen=True, kw_only=True)
class Mode:
    """One row of the table above. Built by keyword; the defaults are a plain bias-free,
    norm-free ReLU network, so a row names only what its mode changes."""

    family: str  # the canonical name without the _avg / _telescopic suffix
    title: str  # display label of tables and figures
    property: Property | None  # what the finished network promises (None: nothing)
    stem_kernel_sum: float | None = None  # what the stem's kernels sum to; None: a plain convolution
    body_kernel_sum: float | None = None  # the same for every later convolution
    bias: bool = False
    sort_activation: bool = False  # SortPool instead of ReLU
    convex_residual: bool = False  # merges weight the two paths alpha / 1 - alpha instead of adding them
    sum_to_one_head: bool = False  # the linear head's rows sum to 1
    wrapper: Callable[[nn.Module], nn.Module] | None = None  # what the backbone is put behind
    default_norm: str = "none"  # what norm="auto" means for this mode
    default_loss: str  # the localization loss the paper pairs with it ("bce" or "zmse")
    reparam: str = "avg"

    @property
    def constrained(self) -> bool:
        return self.stem_kernel_sum is not None or self.body_kernel_sum is not None or self.sum_to_one_head

    @property
    def name(self) -> str:
        """Canonical name, stored in checkpoints and result files."""
        return self.family if self.reparam == "avg" else f"{self.family}_{self.reparam}"

    @property
    def label(self) -> str:
        return self.title if self.reparam == "avg" else f"{self.title} ({self.reparam})"

    def __str__(self) -> str:
        return self.name

    # -- layers -----------------------------------------------------------------------
    def conv(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size=3,
        *,
        stride=1,
        padding="same",
        dilation=1,
        groups: int = 1,
        stem: bool = False,
        bias: bool = True,
    ) -> nn.Module:
        """A convolution of this mode; `stem=True` for the first layer that sees the image.

        `bias=False` drops the bias even in a mode that has one (the paper's 3D ResNet).

        Args:
            dims: spatial dimensions, 1, 2 or 3.
            in_channels: input channels.
            out_channels: output channels.
            kernel_size: kernel side in pixels, one int or one per axis.
            stride: step in pixels, one int or one per axis.
            padding: "same" (keeps the size at stride 1, for odd kernels) or pixels per side, one int or one
                per axis. A constrained kernel pads by reflection, a plain one with zeros.
            dilation: spacing between kernel taps, one int or one per axis.
            groups: channel groups; both channel counts must be divisible by it.
            stem: this layer sees the image, so it gets the mode's stem kernel rule (zero-sum for SEqSI).
            bias: allow a bias; only modes that have one add it, and constrained kernels never do.
        """
        check_dims(dims)
        kernel_sum = self.stem_kernel_sum if stem else self.body_kernel_sum
        if kernel_sum is not None:
            return ConstrainedConv(
                dims, in_channels, out_channels, kernel_size, kernel_sum=kernel_sum, reparam=self.reparam,
                stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode="reflect",
            )
        k, d = ntuple(kernel_size, dims, "kernel_size"), ntuple(dilation, dims, "dilation")
        pad = same_padding(k, d) if padding == "same" else padding
        return conv_cls(dims)(
            in_channels, out_channels, k, stride=stride, padding=pad, dilation=d, groups=groups,
            bias=self.bias and bias,
        )

    def downsample(self, dims: int, in_channels: int, out_channels: int) -> nn.Module:
        """Stride-2 convolution with a 2^d kernel (the UNet's down step)."""
        return self.conv(dims, in_channels, out_channels, 2, stride=2, padding=0)

    def upsample(self, dims: int, in_channels: int, out_channels: int) -> nn.Module:
        """x2 up-sampling: transposed conv k2 s2, or 1x1 sum-to-one conv + pixel shuffle."""
        if self.body_kernel_sum == 1.0:
            return AffineUpsample(dims, in_channels, out_channels, reparam=self.reparam)
        return conv_transpose_cls(dims)(in_channels, out_channels, 2, stride=2, bias=self.bias)

    def activation(self, channels: int, negative_slope: float = 0.0, *, framed: bool = False) -> nn.Module:
        """In place for (Leaky)ReLU, as the paper's code has it: the networks apply it to a fresh
        convolution, norm or sum output that nothing else reads, and it saves one tensor per call.
        `framed=True` where the output feeds only a 3x3 convolution of this mode (see SortPool)."""
        if self.sort_activation:
            return SortPool(channels, framed=framed)
        if negative_slope:
            return nn.LeakyReLU(negative_slope, inplace=True)
        return nn.ReLU(inplace=True)

    def merge(self, bounded: bool = True) -> nn.Module:
        """How a residual/skip connection joins two paths: merge(first, second).

        A convex-residual mode weights them alpha / 1 - alpha: alpha = sigmoid(raw), raw
        from 0.5 (bounded, the paper's classification nets) or alpha free from 0.5
        (bounded=False, the paper's localization UNets). Other modes add them.
        """
        if not self.convex_residual:
            return Sum()
        return ConvexSum() if bounded else AffineSum()

    def linear(self, in_features: int, out_features: int) -> nn.Module:
        if self.sum_to_one_head:
            return SumToOneLinear(in_features, out_features, reparam=self.reparam)
        return nn.Linear(in_features, out_features, bias=self.bias)

    def norm(self, kind: str, dims: int, channels: int, stage: int = 0) -> nn.Module:
        """make_norm, with kind="auto" resolved to this mode's default."""
        return make_norm(self.default_norm if kind == "auto" else kind, dims, channels, stage)

    def wrap(self, model: nn.Module) -> nn.Module:
        """The finished network: the backbone, behind this mode's wrapper if it has one."""
        return self.wrapper(model) if self.wrapper else model


_FAMILIES: dict[str, Mode] = {
    m.family: m
    for m in (
        Mode(family="standard", title="Standard", property=None, bias=True, default_norm="batch",
             default_loss="bce"),
        Mode(family="seq", title="SEq", property=SCALE_EQUIVARIANT, default_loss="bce"),
        Mode(family="affeq", title="AffEq", property=AFFINE_EQUIVARIANT, stem_kernel_sum=1.0, body_kernel_sum=1.0,
             sort_activation=True, convex_residual=True, sum_to_one_head=True, default_loss="zmse"),
        Mode(family="seqsi", title="SEqSI", property=SEQSI, stem_kernel_sum=0.0, default_loss="zmse"),
        Mode(family="zscore", title="Z-score", property=INVARIANT, bias=True, wrapper=ZScoreInput,
             default_loss="bce"),
        Mode(family="seqsi_sym", title="SEqSI-sym", property=SIGN_SEQSI, stem_kernel_sum=0.0, wrapper=SignSymmetric,
             default_loss="zmse"),
    )
}

_ALIASES = {
    "ordinary": "standard",
    "baseline": "standard",
    "se": "seq",
    "scale_equiv": "seq",
    "scale_equivariant": "seq",
    "norm_equiv": "affeq",
    "affine_equiv": "affeq",
    "affine_equivariant": "affeq",
    "z_score": "zscore",
    "sym_seqsi": "seqsi_sym",
}

MODE_NAMES = tuple(_FAMILIES)


def _valid_names() -> str:
    constrained = [f for f, m in _FAMILIES.items() if m.constrained]
    return (
        f"{', '.join(MODE_NAMES)} (suffix _avg or _telescopic for {', '.join(constrained)}; "
        f"aliases: {', '.join(sorted(_ALIASES))})"
    )


def get_mode(name: str | Mode, reparam: str | None = None, *, default_reparam: str | None = None) -> Mode:
    """Parse a mode name (canonical, alias or with an _avg/_telescopic suffix) into a Mode.

    `default_reparam` (a config's model.reparam) sets the kernels of a constrained mode whose
    name does not choose them; unconstrained modes ignore it."""
    if isinstance(name, Mode):
        return name if reparam is None else replace(name, reparam=reparam)
    if not isinstance(name, str):
        raise TypeError(f"mode must be a name or a Mode; got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    suffix = None
    for r in REPARAMETRISATIONS:
        if key.endswith("_" + r):
            key, suffix = key[: -len(r) - 1], r
    key = _ALIASES.get(key, key)
    if key not in _FAMILIES:
        raise ValueError(f"unknown mode {name!r}; valid modes: {_valid_names()}")
    if suffix and reparam and suffix != reparam:
        raise ValueError(f"mode {name!r} names reparam {suffix!r} but reparam={reparam!r} was also given")
    mode = _FAMILIES[key]
    chosen = check_reparam(reparam or suffix or (default_reparam if mode.constrained else None) or "avg")
    if chosen != "avg" and not mode.constrained:
        raise ValueError(f"mode {key!r} has no constrained kernels, so reparam {chosen!r} means nothing")
    return replace(mode, reparam=chosen)


def mode_labels(names) -> dict[str, str]:
    """{canonical mode name: display label} for tables and figures, e.g. seqsi -> SEqSI."""
    modes = [get_mode(n) for n in names]
    return {m.name: m.label for m in modes}
