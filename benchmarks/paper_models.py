"""Our networks next to the paper's, built in the same mode with the same weights.

Shared by the benchmarks that compare against the paper's code (paper_speed.py, memory.py).
The paper's files are imported at run time from a checkout given with --paper-repo (see
tools/paper_compare/paper_import.py); nothing of them is part of this project.

Weights are copied from the paper's model into ours: the UNets by parameter name, with the
name map of the comparison tool (tools/paper_compare/localization.py; both UNets learn alpha
itself, on the same side); the CIFAR ResNet tensor by tensor in registration order (both
codes register stem, blocks and head in the same order; shapes are checked), its convex-sum
weights as values, since the paper learns sigmoid(alpha) where ours learns the logit.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqsi import build_model  # noqa: E402
from seqsi.nn import ConvexSum  # noqa: E402
from tools.paper_compare.localization import paper_key_to_ours  # noqa: E402


@dataclass(frozen=True)
class Network:
    name: str
    title: str
    ours: Callable[[str], nn.Module]
    modes: dict[str, str]  # our mode -> the paper's mode name for this network
    paper_folder: str
    paper_module: str
    paper_build: Callable  # (module, paper mode) -> the paper's model
    task: str  # "classify" (logits, cross-entropy) or "map" (score map, MSE)
    copyable: bool  # whether the paper's weights line up with ours (CZI: its Standard has no conv biases)
    channels: int
    dims: int
    classes: int = 10


NETWORKS = {
    "cifar": Network(
        "cifar", "CIFAR ResNet (64/128/256, 3x3 blocks)", lambda m: build_model("cifar_resnet", m, 2),
        {"standard": "standard", "seq": "se", "seqsi": "seqsi_avg", "seqsi_telescopic": "seqsi_telescopic",
         "affeq": "affeq_avg", "affeq_telescopic": "affeq_telescopic"},
        "classification/cifar10", "model", lambda mod, m: mod.ResNet(mode=m), "classify", True, 3, 2),
    "czi": Network(
        "czi", "CZI ResNet3D (64..512, 4x2 blocks)", lambda m: build_model("resnet18", m, 3),
        {"standard": "standard", "seqsi": "seqsi"},
        "classification/czi", "models.resnet3d", lambda mod, m: mod.ResNet3D(mode=m), "classify", False, 1, 3, 6),
    "unet2d": Network(
        "unet2d", "2D UNet (DRUNet 64..512, 4 blocks)", lambda m: build_model("drunet", m, 2),
        {"standard": "ordinary", "seq": "scale-equiv", "seqsi_telescopic": "seqsi", "affeq_telescopic": "norm-equiv"},
        "object_localization/2D", "models.drunet", lambda mod, m: mod.DRUNet(in_nc=1, blind=True, mode=m), "map", True, 1, 2),
    "unet3d": Network(
        "unet3d", "3D UNet (32..256, 3 blocks)",
        lambda m: build_model("drunet", m, 3, widths=(32, 64, 128, 256), blocks=3, post_activation=True),
        {"standard": "ordinary", "seq": "scale-equiv", "seqsi_telescopic": "seqsi", "affeq_telescopic": "norm-equiv"},
        "object_localization/3D", "models.unet", lambda mod, m: mod.EquivUNet3D(mode=m), "map", True, 1, 3),
}


def paper_model(paper_repo: str | Path, net: Network, mode: str) -> nn.Module:
    """The paper's network of `net` in the paper's counterpart of our `mode`."""
    from tools.paper_compare.paper_import import import_paper

    (module,) = import_paper(paper_repo, net.paper_folder, net.paper_module)
    return net.paper_build(module, net.modes[mode])


def _paper_alphas(paper: nn.Module) -> list[float]:
    """The CIFAR ResNet's effective convex-sum weights (sigmoid of its raw alpha), in order."""
    return [1 / (1 + math.exp(-float(p))) for name, p in paper.named_parameters() if name.endswith("alpha")]


def _paper_free(paper: nn.Module) -> list[nn.Parameter]:
    return [p for n, p in paper.named_parameters() if not n.endswith("alpha")]


def _our_free(ours: nn.Module) -> list[nn.Parameter]:
    merged = {id(p) for m in ours.modules() if isinstance(m, ConvexSum) for p in m.parameters()}
    return [p for p in ours.parameters() if id(p) not in merged]


@torch.no_grad()
def copy_paper_weights(paper: nn.Module, ours: nn.Module, net: Network) -> None:
    """Make `ours` compute what `paper` computes (same kernels, biases and merge weights)."""
    if net.task == "map":
        mapped = {paper_key_to_ours(k): v for k, v in paper.state_dict().items()}
        ours.load_state_dict(mapped)  # strict: a parameter without a counterpart is an error
        return
    theirs, mine = _paper_free(paper), _our_free(ours)
    if [tuple(p.shape) for p in theirs] != [tuple(p.shape) for p in mine]:
        raise ValueError(f"{net.name}: the paper's parameters do not line up with ours "
                         f"({len(theirs)} vs {len(mine)} tensors)")
    for src, dst in zip(theirs, mine):
        dst.copy_(src)
    merges = [m for m in ours.modules() if isinstance(m, ConvexSum)]
    alphas = _paper_alphas(paper)
    if len(alphas) != len(merges):
        raise ValueError(f"{net.name}: {len(alphas)} convex sums in the paper's model, {len(merges)} in ours")
    for merge, value in zip(merges, alphas):
        merge.logit.fill_(math.log(value / (1 - value)))


def example(net: Network, batch: int, size: int, device="cpu", dtype=torch.float32):
    """A random input and target for one train step of `net`."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, net.channels, *([size] * net.dims), generator=g, dtype=dtype)
    if net.task == "classify":
        y = torch.randint(0, net.classes, (batch,), generator=g)
    else:
        y = torch.rand(batch, 1, *([size] * net.dims), generator=g, dtype=dtype)
    return x.to(device), y.to(device)


def loss_fn(net: Network):
    return nn.CrossEntropyLoss() if net.task == "classify" else nn.MSELoss()


def activation_calls(model: nn.Module, x: torch.Tensor) -> int:
    """How many activations (ReLU, LeakyReLU, sort pooling) one forward pass runs."""
    count = 0

    def hook(*_):
        nonlocal count
        count += 1

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.ReLU, nn.LeakyReLU)) or type(m).__name__ == "SortPool"]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return count


def _gradient_pairs(paper: nn.Module, ours: nn.Module, net: Network):
    """(the paper's gradient, ours) of each weight: by name for the UNets, in order for CIFAR."""
    if net.task == "map":
        mine = dict(ours.named_parameters())
        return [(p.grad, mine[paper_key_to_ours(k)].grad) for k, p in paper.named_parameters()]
    return [(a.grad, b.grad) for a, b in zip(_paper_free(paper), _our_free(ours))]


def check_equal(paper_repo, net: Network, mode: str, batch: int = 2, size: int = 16) -> tuple[str, float | None]:
    """Copy the paper's float64 weights into ours; compare outputs and weight gradients.

    Returns (verdict, max relative difference over the output and every weight gradient):
    "equal" within 1e-10, "DIFFERS", or "not compared" when the two run different numbers
    of activations (a structural difference).
    """
    torch.manual_seed(0)
    paper, ours = paper_model(paper_repo, net, mode).double(), net.ours(mode).double()
    with torch.no_grad():  # the paper's convex weights start at 0.5, which hides a swapped order
        for name, p in paper.named_parameters():
            if name.endswith("alpha"):
                p.uniform_(0.2, 0.8) if net.name != "cifar" else p.uniform_(-1.0, 1.0)
    copy_paper_weights(paper, ours, net)
    x, y = example(net, batch, size, dtype=torch.float64)
    if activation_calls(ours, x) != activation_calls(paper, x):
        return "not compared (different activation count)", None
    outs = []
    for model in (paper, ours):
        model.train()
        out = model(x)
        loss_fn(net)(out, y if net.task == "classify" else y.to(out.dtype)).backward()
        outs.append(out.detach())
    worst = float((outs[0] - outs[1]).abs().max() / outs[0].abs().max().clamp_min(1e-300))
    for a, b in _gradient_pairs(paper, ours, net):
        worst = max(worst, float((a - b).abs().max() / a.abs().max().clamp_min(1e-300)))
    return ("equal" if worst <= 1e-10 else "DIFFERS"), worst
