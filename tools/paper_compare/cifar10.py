"""CIFAR-10 side by side: the paper's ResNet in every mode and norm against ours on copied weights,
and the 13 photometric corruptions (parameter ranges, and the formula on equal draws)."""
from __future__ import annotations

import math

import torch

from .check import Check, close
from .paper_import import import_paper

FOLDER = "classification/cifar10"
# the paper's --model -> ours
MODES = {"standard": "standard", "se": "seq", "seqsi_avg": "seqsi", "seqsi_telescopic": "seqsi_telescopic",
         "affeq_avg": "affeq", "affeq_telescopic": "affeq_telescopic"}
NORMS = {None: "none", "batch": "batch", "instance": "instance", "layer": "layer", "group": "group", "mix": "mix"}


def _our_name(paper_key: str) -> str:
    """A parameter/buffer name of the paper's ResNet -> the same tensor's name in ours."""
    parts = paper_key.split(".")
    if parts[0] in ("conv1", "bn1"):
        return ".".join(["stem", "0" if parts[0] == "conv1" else "1", *parts[1:]])
    if parts[0] == "fc":
        return ".".join(["head", *parts[1:]])
    stage = int(parts[0].removeprefix("layer")) - 1
    block, rest = parts[1], parts[2:]
    layer = {"conv1": "conv1", "bn1": "norm1", "conv2": "conv2", "bn2": "norm2", "shortcut_seq": "shortcut",
             "residual_connection": "merge"}[rest[0]]
    return ".".join(["stages", str(stage), block, layer, *rest[1:]])


def copy_weights(paper_model: torch.nn.Module, ours: torch.nn.Module) -> None:
    """Every parameter and buffer of the paper's model into ours (names translated, shapes checked)."""
    theirs = paper_model.state_dict()
    mine = ours.state_dict()
    mapped = {}
    for key, value in theirs.items():
        name = _our_name(key)
        if name.endswith("merge.alpha"):  # the convex sum's one parameter, whatever ours calls it
            prefix = name.removesuffix("alpha")
            (name,) = [k for k in mine if k.startswith(prefix)]
        if name not in mine or mine[name].shape != value.shape:
            raise KeyError(f"paper's {key} {tuple(value.shape)} has no counterpart in ours ({name})")
        mapped[name] = value
    missing = sorted(set(mine) - set(mapped))
    if missing:
        raise KeyError(f"ours has tensors the paper's model lacks: {missing}")
    ours.load_state_dict(mapped)


def copy_randomised(theirs, ours, generator: torch.Generator, suite: str, name: str) -> Check | None:
    """Randomise the paper's model and copy it into ours; a failed Check if their sizes differ."""
    n_theirs, n_ours = (sum(p.numel() for p in m.parameters()) for m in (theirs, ours))
    if n_theirs != n_ours:
        return Check(suite, name, None, False, f"parameters {n_ours} vs {n_theirs}")
    _randomise(theirs, generator)
    copy_weights(theirs, ours)
    return None


def _randomise(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Random values everywhere (running statistics and convex weights too), so that no tensor is
    left at a value that would hide a wrong mapping."""
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype))
            else:  # weights at about a unit gain per layer, so that no mode's logits explode
                std = 0.5 / tensor[0].numel() ** 0.5 if tensor.ndim >= 2 else 0.2
                tensor.copy_(std * torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype))


def model_checks(paper_repo) -> list[Check]:
    from seqsi import build_model

    (paper_model,) = import_paper(paper_repo, FOLDER, "model")
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 32, 32, generator=generator, dtype=torch.float64)
    checks = []
    for paper_mode, our_mode in MODES.items():
        for paper_norm, our_norm in NORMS.items():
            theirs = paper_model.ResNet(num_classes=10, mode=paper_mode, norm_type=paper_norm).double()
            ours = build_model("cifar_resnet", our_mode, norm=our_norm).double()
            name = f"ResNet {paper_mode}, norm {our_norm}"
            mismatch = copy_randomised(theirs, ours, generator, "cifar10", name)
            if mismatch:
                checks.append(mismatch)
                continue
            outputs = []
            for train in (False, True):  # eval: running statistics; train: batch statistics
                theirs.train(train), ours.train(train)
                with torch.no_grad():
                    outputs.append((ours(x), theirs(x)))
            ours_all = torch.cat([o for o, _ in outputs])
            theirs_all = torch.cat([t for _, t in outputs])
            checks.append(close("cifar10", f"{name} logits", ours_all, theirs_all,
                                detail=f"{sum(p.numel() for p in ours.parameters()):,} parameters each; eval and train mode, float64; "
                                       f"max logit {theirs_all.abs().max().item():.2g}"))
    return checks


# the paper's corruption type -> (our field for each of its ranges)
RANGES = {"RandomShift": {"shift_range": "b"}, "RandomScale": {"scale_range": "a"},
          "RandomScaleShift": {"scale_range": "a", "shift_range": "b"},
          "RandomShiftSaturated": {"shift_range": "b"}, "RandomScaleSaturated": {"scale_range": "a"},
          "RandomScaleShiftSaturated": {"scale_range": "a", "shift_range": "b"},
          "RandomScaleShiftLinear": {"scale_range": "a", "shift_range": "b"},
          "RandomAdditiveGaussianNoise": {"range": "sigma"}, "RandomGammaCorrection": {"range": "g"}}
SATURATED = {"RandomShiftSaturated", "RandomScaleSaturated", "RandomScaleShiftSaturated",
             "RandomAdditiveGaussianNoise", "RandomGammaCorrection"}


def _paper_output(transform, kind: str, image: torch.Tensor, params: dict, i: int) -> torch.Tensor:
    """The paper's transform of one image with our i-th draws put into its parameters."""
    if kind == "RandomScaleShiftLinear":
        transform.scale0, transform.scale1 = params["a0"][i].clone(), params["a1"][i].clone()
        transform.shift0, transform.shift1 = params["b0"][i].clone(), params["b1"][i].clone()
        row, col = (float(v) for v in params["direction"][i])
        transform.angle = math.atan2(row, col)  # its x is the column axis, y the row axis
    else:
        if "a" in params:
            transform.scale = float(params["a"][i])
        if "b" in params:
            transform.shift = float(params["b"][i])
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # its ramp grid (torch.linspace) would be float32 otherwise
    try:
        return transform._apply_transform(image)
    finally:
        torch.set_default_dtype(default)


def corruption_checks(paper_repo) -> list[Check]:
    from seqsi.photometric import load_suite

    (extensions, config) = import_paper(paper_repo, FOLDER, "transformation.photometric_extensions",
                                        "transformation.config")
    paper = {name: spec for group in config.CONFIG["transformations"].values() for name, spec in group.items()}
    suite = load_suite("cifar10")
    ours = {c.title: c for c in suite.test_corruptions() if c.name != "clean"}
    checks = []
    if sorted(paper) != sorted(ours):
        return [Check("cifar10", "corruption names", None, False, f"ours {sorted(ours)} vs {sorted(paper)}")]
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(6, 3, 32, 32, generator=generator, dtype=torch.float64)
    for title, spec in paper.items():
        kind, corruption = spec["type"], ours[title]
        ranges_equal = all(tuple(float(v) for v in spec["params"][key]) == getattr(corruption, field).bounds
                           for key, field in RANGES[kind].items())
        clip_equal = (corruption.clip == (0.0, 1.0)) == (kind in SATURATED)
        offset = getattr(corruption, "offset", 0.0)
        offset_equal = offset == (0.5 if kind == "RandomScaleShiftSaturated" else 0.0)
        transform = extensions.TRANSFORM_REGISTRY["per_image"][kind](**spec["params"])
        if hasattr(transform, "_apply_transform"):
            y_ours, params = corruption(x, generator)
            y_paper = torch.stack([_paper_output(transform, kind, x[i], params, i) for i in range(len(x))])
            how = "our draws put into its parameters"
        else:  # noise, gamma: replay the paper's own draws (global generator) into our formula
            y_paper, y_ours = [], []
            for i in range(len(x)):
                torch.manual_seed(100 + i)
                y_paper.append(transform(x[i]))
                torch.manual_seed(100 + i)
                value = torch.empty(1).uniform_(*spec["params"]["range"]).to(torch.float64)
                draws = {"sigma": value, "_noise": torch.randn_like(x[i])} if "Noise" in kind else {"g": value}
                y_ours.append(corruption._apply(x[i:i + 1], draws).clamp(*corruption.clip)[0])
            y_paper, y_ours = torch.stack(y_paper), torch.stack(y_ours)
            how = "its own draws replayed into our formula"
        formula = close("cifar10", f"corruption {title}", y_ours, y_paper, detail=how)
        ok = formula.ok and ranges_equal and clip_equal and offset_equal
        detail = f"{how}; ranges {'equal' if ranges_equal else 'DIFFER'}, clip {'equal' if clip_equal else 'DIFFERS'}"
        checks.append(Check("cifar10", formula.name, formula.max_abs_diff, ok, detail))
    return checks


def run(paper_repo, suites=None) -> list[Check]:
    return model_checks(paper_repo) + corruption_checks(paper_repo)
