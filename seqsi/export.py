"""Export a trained model as plain PyTorch: a state_dict, TorchScript or ONNX.

`plain(model)` returns a copy in which nothing is left that only seqsi can compute:

- every constrained kernel (zero-sum, sum-to-one; `avg` or `telescopic`) is computed once
  and stored as the weight of an ordinary bias-free `nn.ConvNd` / `nn.Linear`, with the
  same padding mode (reflect stays reflect);
- the folded kernel is rounded to float32 on the grid of its largest entry (steps of
  ulp(max |w|)) and one entry absorbs the remainder, so the stored float32 kernel sums to
  exactly 0 (or 1). The fold therefore keeps the guarantee exactly, in float64 too; it
  moves each weight by at most half an ulp of the largest one, as float32 rounding does;
- the few seqsi layers with Python-only forwards (the UNet, pixel shuffle, sort pooling,
  convex residual, z-score input) become TorchScript-compatible equivalents with the same
  parameter names, so the state_dict keys are the original ones.

A TorchScript or ONNX file then runs with torch (or onnxruntime) alone. An ONNX UNet takes
spatial sizes that are multiples of 2^levels (recorded as "onnx_size_multiple"): the mean
padding to that multiple is shape-dependent control flow, which the exporter cannot keep,
so the caller pads (TorchScript keeps it and takes any size). Both carry the
model's spec (name, mode, dims, config) and its promised property as metadata
("seqsi.json"), which `seqsi certify --checkpoint FILE` reads to certify the export. A
state_dict export is {"format": "seqsi-export-1", "spec", "property", "state_dict"}: the
weights of the plain modules, loadable into `plain(build_model(spec))` (`load_export`).
"""
from __future__ import annotations

import contextlib
import copy
import json
import warnings
from pathlib import Path
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from .engine.checkpoint import is_torchscript
from .io import atomic_path
from .models import input_channels, model_from_spec
from .models.unet import UNet
from .nn import onednn
from .nn.activations import SortPool
from .nn.constrained import ConstrainedConv, SumToOneLinear
from .nn.modes import get_mode
from .nn.nd import torch_conv_cls
from .nn.residual import ConvexSum
from .nn.upsample import PixelShuffle
from .nn.wrappers import Standardize

FORMAT = "seqsi-export-1"
TARGETS = ("state_dict", "torchscript", "onnx")
METADATA = "seqsi.json"


# ----------------------------------------------------------------------------- folding

def exact_sum_kernel(kernel: torch.Tensor, total: float) -> torch.Tensor:
    """float32 kernel close to `kernel` whose rows sum to exactly `total` (0 or 1).

    Entries are rounded to multiples of q = ulp(max |row|) in float32, so every partial sum
    is an exact multiple of q; the remainder (an integer number of q) is removed from the
    largest entry. Both steps are exact in float32 and float64 arithmetic.
    """
    flat = kernel.detach().to(torch.float64).flatten(1)
    out = torch.empty_like(flat)
    for i, row in enumerate(flat):
        peak = float(row.abs().max())
        if peak == 0.0:
            out[i] = row
            if total:
                out[i, 0] = total
            continue
        q = 2.0 ** (torch.frexp(torch.tensor(peak, dtype=torch.float64)).exponent.item() - 24)
        steps = torch.round(row / q)
        steps[torch.argmax(row.abs())] -= steps.sum() - round(total / q)
        out[i] = steps * q
    exact = out.to(torch.float32)
    if not torch.equal(exact.to(torch.float64), out):  # cannot happen for |total| <= max |w| * 2^24
        raise ValueError("exact_sum_kernel: the folded kernel is not representable in float32")
    return exact.view_as(kernel)


def _plain_conv(module: ConstrainedConv) -> nn.Module:
    conv = torch_conv_cls(module.dims)(
        module.in_channels, module.out_channels, module.kernel_size, stride=module.stride, padding=module.padding,
        dilation=module.dilation, groups=module.groups, bias=False, padding_mode=module.padding_mode)
    with torch.no_grad():
        conv.weight.copy_(exact_sum_kernel(module.kernel(), module.kernel_sum))
    return conv


def _plain_linear(module: SumToOneLinear) -> nn.Module:
    linear = nn.Linear(module.in_features, module.out_features, bias=False)
    with torch.no_grad():
        linear.weight.copy_(exact_sum_kernel(module.kernel(), module.kernel_sum))
    return linear


class PlainSortPool(nn.Module):
    """SortPool with a TorchScript forward: each channel pair sorted (min, max)."""

    def __init__(self, source: SortPool) -> None:
        super().__init__()
        self.channels = source.channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape: List[int] = list(x.shape)
        pairs = x.reshape([shape[0], shape[1] // 2, 2] + shape[2:])
        return torch.stack((pairs.amin(dim=2), pairs.amax(dim=2)), dim=2).reshape(shape)


class PlainConvexSum(nn.Module):
    """alpha * skip + (1 - alpha) * branch with alpha = sigmoid(logit) (same parameter)."""

    def __init__(self, source: ConvexSum) -> None:
        super().__init__()
        self.logit = source.logit

    def forward(self, skip: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
        alpha = torch.sigmoid(self.logit).to(skip.dtype)
        return alpha * skip + (1 - alpha) * branch


class PlainPixelShuffle(nn.Module):
    """(N, C r^d, *S) -> (N, C, *(r S)) for the d fixed at export (seqsi.nn.upsample.pixel_shuffle)."""

    def __init__(self, source: PixelShuffle, dims: int) -> None:
        super().__init__()
        self.factor, self.dims = int(source.factor), int(dims)
        self.group = self.factor ** self.dims  # an int (TorchScript's int ** int is a float)
        self.order = [0, 1] + [i for k in range(dims) for i in (2 + dims + k, 2 + k)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape: List[int] = list(x.shape)
        spatial = shape[2:]
        out_c = shape[1] // self.group
        x = x.reshape([shape[0], out_c] + [self.factor] * self.dims + spatial)
        x = x.permute(self.order)
        return x.reshape([shape[0], out_c] + [s * self.factor for s in spatial])


class PlainStandardize(nn.Module):
    """seqsi.nn.wrappers.standardize with a TorchScript forward (same zero-spread rule)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = list(range(1, x.dim()))
        mean = x.mean(dim=dims, keepdim=True)
        std = torch.std(x, dim=dims, correction=0, keepdim=True)
        eps = 2.220446049250313e-16 if x.dtype == torch.float64 else 1.1920928955078125e-07
        flat = std <= 16 * eps * mean.abs()
        return torch.where(flat, torch.zeros_like(x), (x - mean) / torch.where(flat, torch.ones_like(std), std))


class PlainUNet(nn.Module):
    """seqsi.models.UNet with a TorchScript forward; same submodules, so the same state_dict."""

    def __init__(self, source: UNet) -> None:
        super().__init__()
        self.levels = int(source.levels)
        self.multiple = 2 ** self.levels
        self.head, self.down, self.body = source.head, source.down, source.body
        self.up, self.skips, self.tail = source.up, source.skips, source.tail
        self.reduce_dims = list(range(1, source.head.weight.dim()))  # channels and space

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size: List[int] = list(x.shape)[2:]
        pads: List[int] = []
        padded = False
        for d in range(x.dim() - 1, 1, -1):  # F.pad order: last dimension first
            extra = (self.multiple - x.shape[d] % self.multiple) % self.multiple
            pads += [0, extra]
            padded = padded or extra > 0
        if padded:  # pad with the per-sample mean, as seqsi.models.unet.pad_to_multiple
            mean = x.mean(dim=self.reduce_dims, keepdim=True)
            x = F.pad(x - mean, pads) + mean
        features = [self.head(x)]
        for down in self.down:
            features.append(down(features[-1]))
        y = self.body(features[-1])
        i = 0
        for up, skip in zip(self.up, self.skips):
            y = up(skip(features[self.levels - i], y))
            i += 1
        j = 0
        for skip in self.skips:
            if j == self.levels:
                y = self.tail(skip(features[0], y))
            j += 1
        for d in range(len(size)):
            y = y.narrow(2 + d, 0, size[d])
        return y


def plain(model: nn.Module) -> nn.Module:
    """A copy of `model` built from plain torch layers (see the module docstring), in eval mode."""
    spec = getattr(model, "seqsi_spec", None)
    dims = spec["dims"] if spec else None
    model = copy.deepcopy(model).eval()

    def replace(module: nn.Module) -> nn.Module:
        if isinstance(module, ConstrainedConv):
            return _plain_conv(module)
        if isinstance(module, SumToOneLinear):
            return _plain_linear(module)
        if isinstance(module, SortPool):
            return PlainSortPool(module)
        if isinstance(module, ConvexSum):
            return PlainConvexSum(module)
        if isinstance(module, PixelShuffle):
            if dims is None:
                raise ValueError("plain: the model has no seqsi_spec, so the pixel shuffle's dims are unknown")
            return PlainPixelShuffle(module, dims)
        if isinstance(module, Standardize):
            return PlainStandardize()
        if isinstance(module, UNet):
            return PlainUNet(module)
        if type(module) is onednn.Conv3d:  # it changes only the CPU dispatch: torch's class serves
            module.__class__ = nn.Conv3d
        return module

    def walk(parent: nn.Module) -> None:
        for name, child in list(parent.named_children()):
            new = replace(child)
            if new is not child:
                setattr(parent, name, new)
            walk(new)

    with torch.no_grad():
        root = replace(model)
        walk(root)
    for attr in ("seqsi_spec", "seqsi_mode", "seqsi_checkpoint"):
        if hasattr(model, attr):
            setattr(root, attr, getattr(model, attr))
    return root.eval()


# ----------------------------------------------------------------------------- writing and reading

def _metadata(model: nn.Module) -> dict:
    spec = getattr(model, "seqsi_spec", None)
    mode = getattr(model, "seqsi_mode", None)
    if spec is None or mode is None:
        raise ValueError("export: the model carries no seqsi_spec/seqsi_mode (build it with seqsi.build_model "
                         "or load it with seqsi.engine.checkpoint.load_model)")
    info = {"format": FORMAT, "spec": spec, "mode": mode.name,
            "property": mode.property.name if mode.property else None}
    checkpoint = getattr(model, "seqsi_checkpoint", None) or {}
    if checkpoint.get("experiment"):
        info["experiment"] = checkpoint["experiment"]
    return info


def example_input(model: nn.Module, size: int | None = None) -> torch.Tensor:
    dims = model.seqsi_spec["dims"]
    side = size or (16 if dims == 3 else 32)  # multiples of 2^levels for the UNets exported here
    return torch.rand(2, input_channels(model), *([side] * dims), generator=torch.Generator().manual_seed(0))


@contextlib.contextmanager
def _torchscript_asked_for():
    """Torch deprecates TorchScript (README: Export); to a user who asked for it, that is no news."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"`torch\.jit\.\w+` is deprecated", FutureWarning)
        yield


def export_model(model: nn.Module, to: str, out: str | Path) -> Path:
    """Write `model` as a state_dict, TorchScript or ONNX file (atomically); returns the path."""
    if to not in TARGETS:
        raise ValueError(f"--to must be one of {', '.join(TARGETS)}; got {to!r}")
    out = Path(out)
    info = _metadata(model)
    flat = plain(model).float()
    with atomic_path(out) as tmp:
        if to == "state_dict":
            torch.save({**info, "state_dict": flat.state_dict()}, tmp)
        elif to == "torchscript":
            with _torchscript_asked_for():
                scripted = torch.jit.script(flat)
                torch.jit.save(scripted, str(tmp), _extra_files={METADATA: json.dumps(info)})
        else:
            _export_onnx(flat, example_input(model), tmp, info)
    return out


def onnx_multiple(model: nn.Module) -> int:
    """What an ONNX export's spatial sizes must be multiples of: 2^levels for a UNet (whose
    mean padding to that multiple is shape-dependent control flow, left to the caller), else 1."""
    return max([m.multiple for m in model.modules() if isinstance(m, PlainUNet)] or [1])


def _export_onnx(model: nn.Module, x: torch.Tensor, path: Path, info: dict) -> None:
    try:
        import onnx
    except ImportError:
        raise ValueError("--to onnx needs the onnx package: pip install onnx onnxruntime") from None
    multiple = onnx_multiple(model)
    info = {**info, "onnx_size_multiple": multiple}
    dims = x.ndim - 2
    sizes = {2 + d: multiple * torch.export.Dim(f"k{d}", min=1) if multiple > 1 else torch.export.Dim(f"size{d}", min=2)
             for d in range(dims)}
    program = torch.onnx.export(model, (x,), input_names=["image"], output_names=["output"],
                                dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1), **sizes}}, dynamo=True,
                                verbose=False)
    program.save(str(path))
    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA, json.dumps(info)
    onnx.save(proto, str(path))


class ScriptedModel(nn.Module):
    """A loaded TorchScript export as an opaque nn.Module: the audit sees only its output
    (TorchScript modules take no Python hooks), and .to(dtype) reaches the scripted weights."""

    def __init__(self, scripted, info: dict) -> None:
        super().__init__()
        object.__setattr__(self, "scripted", scripted)  # not a child: no per-layer hooks
        self.in_channels = _scripted_in_channels(scripted)

    def _apply(self, fn, recurse=True):
        with warnings.catch_warnings():  # nn.Module._apply reads .grad of the scripted (non-leaf) weights: harmless
            warnings.filterwarnings("ignore", r"The \.grad attribute of a Tensor that is not a leaf", UserWarning)
            self.scripted._apply(fn)
        return super()._apply(fn, recurse)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scripted(x)


def _scripted_in_channels(scripted) -> int:
    """The input channels of the first convolution's weight (out, in / groups, *kernel)."""
    for _, p in scripted.named_parameters():
        if p.ndim >= 3:
            return int(p.shape[1])
    return 1


def _attach(model: nn.Module, info: dict) -> nn.Module:
    model.seqsi_spec = info["spec"]
    model.seqsi_mode = get_mode(info["mode"])
    return model.eval()


def load_export(path: str | Path) -> nn.Module:
    """Load a TorchScript or state_dict export as a module with seqsi_spec and seqsi_mode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"export not found: {path}")
    if is_torchscript(path):
        files = {METADATA: ""}
        with _torchscript_asked_for():
            scripted = torch.jit.load(str(path), map_location="cpu", _extra_files=files)
        if not files[METADATA]:
            raise ValueError(f"{path}: TorchScript file without {METADATA} metadata (not exported by seqsi export)")
        info = json.loads(files[METADATA])
        return _attach(ScriptedModel(scripted, info), info)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{path} cannot be read as a seqsi export: {err}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a seqsi export (expected format {FORMAT!r})")
    model = plain(model_from_spec(payload["spec"]))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit the recorded spec: {err}") from None
    return _attach(model, payload)


def is_export(path: str | Path) -> bool:
    """True for a TorchScript export or a state_dict export (not a training checkpoint)."""
    path = Path(path)
    if not path.is_file():
        return False
    if is_torchscript(path):
        return True
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return False
    return isinstance(payload, dict) and payload.get("format") == FORMAT
