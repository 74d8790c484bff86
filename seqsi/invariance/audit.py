"""The certificate: check a photometric property module by module.

x and a*x + b run through the model (float64, eval mode) for several (a, b); forward
hooks record every leaf module's output. For each module we find which relation its
output obeys (h' = a h + b, h' = a h, h' = h) and name the first module whose output
obeys none that the promised property allows: that is where the guarantee breaks,
with the likely reason (a bias, BatchNorm running statistics, zero padding, ...).
"""
from __future__ import annotations

import copy
import math
from collections import defaultdict
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ..properties import (AFFINE_EQUIVARIANT, INVARIANT, PROPERTIES, SCALE_EQUIVARIANT, SEQSI, SIGN_SEQSI, Property,
                          get_property)

# Default intensity maps (a, b): tiny and huge scales, large shifts, contrast inversion.
DEFAULT_CASES = ((0.01, 0.0), (3.0, 0.0), (255.0, 0.0), (0.5, -2.0), (3.0, 5.0), (0.01, 100.0), (255.0, -100.0),
                 (-1.0, 0.0), (-3.0, 5.0))

# What an intermediate feature may obey on the way to the promised output. The input
# itself obeys a*x + b; a shift-invariant stem turns that into a*h; a z-score into h.
_RELATIONS = {"a h + b": AFFINE_EQUIVARIANT, "a h": SEQSI, "h": INVARIANT}
_ALLOWED = {
    SEQSI: ("a h + b", "a h"),
    SIGN_SEQSI: ("a h + b", "a h"),
    AFFINE_EQUIVARIANT: ("a h + b",),
    SCALE_EQUIVARIANT: ("a h",),
    INVARIANT: ("a h + b", "h"),
}
# Leaf modules that are positively homogeneous, f(a h) = a f(h) for every a > 0: they keep
# SEq and SEqSI, so neither the audit's explanation nor seqsi.convert flags them.
POSITIVELY_HOMOGENEOUS = (
    nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
    nn.Flatten, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """||actual - expected|| / max(||actual||, ||expected||); 0 when both are 0."""
    diff = torch.linalg.vector_norm((actual - expected).flatten()).item()
    scale = max(torch.linalg.vector_norm(actual.flatten()).item(), torch.linalg.vector_norm(expected.flatten()).item())
    return diff / scale if scale > 0 else 0.0


@dataclass
class ModuleCheck:
    index: int
    name: str
    kind: str
    relation: str | None  # the allowed relation the output obeys best, None if none holds
    error: float  # worst relative error of that relation over the cases
    ok: bool
    has_state: bool  # has parameters or buffers (shown in the compact table)


@dataclass
class AuditReport:
    property: Property
    cases: list[tuple[float, float]]
    tolerance: float
    modules: list[ModuleCheck]
    output_errors: list[tuple[float, float, float]]  # (a, b, relative error of the promised identity)
    first_break: ModuleCheck | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(err <= self.tolerance for _, _, err in self.output_errors)

    @property
    def worst_output_error(self) -> float:
        return max(err for _, _, err in self.output_errors)

    def table(self, all_modules: bool = False) -> str:
        """The report as a fixed-width table (all leaf modules, or those with parameters and the break)."""
        lines = [f"property  {self.property}", f"cases     (a, b) = {', '.join(f'({a:g}, {b:g})' for a, b in self.cases)}",
                 "", f"{'#':>4}  {'module':<40} {'type':<18} {'obeys':<8} {'rel. error':>10}  status"]
        broken = False
        for m in self.modules:
            if m is self.first_break:
                status, broken = "BREAKS", True
            else:
                status = "ok" if m.ok else ("after break" if broken else "fails")
            if all_modules or not m.ok or m.has_state:
                rel = m.relation or "-"
                lines.append(f"{m.index:>4}  {m.name[:40]:<40} {m.kind[:18]:<18} {rel:<8} {m.error:>10.2e}  {status}")
        lines.append("")
        for a, b, err in self.output_errors:
            verdict = "ok" if err <= self.tolerance else "FAILS"
            lines.append(f"output  a={a:<8g} b={b:<8g} relative error {err:.2e}  {verdict}")
        lines.append("")
        if self.passed:
            lines.append(f"PASS: {self.property.formula} holds (worst relative error {self.worst_output_error:.1e} "
                         f"<= tolerance {self.tolerance:.0e})")
        else:
            where = f" first broken at '{self.first_break.name}' ({self.first_break.kind}): {self.reason}" if self.first_break else ""
            lines.append(f"FAIL: {self.property.formula} does not hold (worst relative error "
                         f"{self.worst_output_error:.1e});{where}")
        lines.extend(self.notes)
        return "\n".join(lines)


def explain(module: nn.Module) -> str:
    """The likely reasons a module breaks a photometric guarantee."""
    reasons = []
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        reasons.append("BatchNorm in eval mode: its running statistics add a fixed per-channel offset")
    elif isinstance(module, (nn.modules.instancenorm._InstanceNorm, nn.GroupNorm, nn.LayerNorm)):
        reasons.append("normalisation divides by the feature's own spread: what follows becomes scale-invariant")
    elif isinstance(getattr(module, "bias", None), torch.Tensor):
        reasons.append("has a bias: a constant that does not scale with a")
    padding = getattr(module, "padding", 0)
    padded = any(padding) if isinstance(padding, tuple) else bool(padding) and padding != "valid"
    if getattr(module, "padding_mode", None) == "zeros" and padded:
        reasons.append("zero padding: the border stays 0 instead of following a*x + b (use reflect padding)")
    if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
        reasons.append("unconstrained kernel: a shift b of its input adds b*sum(w) (a zero-sum stem removes it)")
    elif not isinstance(module, POSITIVELY_HOMOGENEOUS + (nn.modules.batchnorm._BatchNorm,)) and not reasons:
        reasons.append(f"{type(module).__name__} is not positively homogeneous (f(a h) != a f(h))")
    return "; ".join(reasons) or "its output obeys none of the allowed relations"


@torch.no_grad()
def randomize_state(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every bias, normalisation statistic and affine norm parameter a random value.

    An architecture's guarantee must hold for all weights, not only for its initial ones:
    a fresh model has zero-free but harmless biases in places, and BatchNorm starts as
    (x - 0) / 1 * 1 + 0, which is scale-equivariant until training moves its statistics.
    """
    generator = torch.Generator().manual_seed(seed)

    def draw(t: torch.Tensor, low: float, high: float) -> torch.Tensor:
        return (low + (high - low) * torch.rand(t.shape, generator=generator, dtype=torch.float64)).to(t)

    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
            module.running_mean.copy_(draw(module.running_mean, -1.0, 1.0))
            module.running_var.copy_(draw(module.running_var, 0.5, 2.0))
        if isinstance(module, (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)) and \
                getattr(module, "weight", None) is not None:
            module.weight.copy_(draw(module.weight, 0.5, 1.5))
        bias = getattr(module, "bias", None)
        if isinstance(bias, torch.Tensor):
            bias.copy_(draw(bias, -0.5, 0.5))
    return model


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in model.named_modules() if name and not any(True for _ in m.children())]


def _record(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, list[torch.Tensor]], list[str]]:
    outputs: dict[str, list[torch.Tensor]] = defaultdict(list)
    order: list[str] = []

    def hook(name):
        def fn(_module, _inputs, out):
            if isinstance(out, torch.Tensor):
                if name not in outputs:
                    order.append(name)
                outputs[name].append(out.detach())
        return fn

    handles = [m.register_forward_hook(hook(name)) for name, m in _leaves(model)]
    try:
        with torch.no_grad():
            y = model(x)
    finally:
        for h in handles:
            h.remove()
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"audit needs a model that returns a tensor; got {type(y).__name__}")
    return y, outputs, order


def audit(
    model: nn.Module,
    x: torch.Tensor,
    property: Property | str | None = None,
    cases=None,
    dtype: torch.dtype = torch.float64,
    tolerance: float | None = None,
) -> AuditReport:
    """Check `property` on `model` for input `x` and the intensity maps `cases` ((a, b) pairs).

    The model is copied (never modified), cast to `dtype` and put in eval mode.
    `property` defaults to the guarantee of the mode the model was built or converted with.
    """
    if property is None:
        mode = getattr(model, "seqsi_mode", None)
        if mode is None or mode.property is None:
            raise ValueError("audit: pass property=...; the model carries no mode with a guarantee "
                             f"(valid properties: {', '.join(PROPERTIES)})")
        property = mode.property
    prop = get_property(property)
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise TypeError("audit: x must be a floating-point tensor (N, C, *spatial)")
    if not torch.isfinite(x).all():
        raise ValueError("audit: the input x contains NaN or inf; the audit needs finite values")
    cases = [(float(a), float(b)) for a, b in (cases or DEFAULT_CASES) if prop.covers(float(a), float(b))]
    if not cases:
        raise ValueError(f"audit: none of the given (a, b) cases is covered by {prop}")
    if tolerance is None:
        tolerance = 1e-8 if dtype == torch.float64 else 1e-3
    model = copy.deepcopy(model).to(dtype).eval()
    x = x.to(dtype)

    y, clean, order = _record(model, x)
    allowed = _ALLOWED[prop]
    worst = {name: {rel: 0.0 for rel in allowed} for name in order}
    output_errors = []
    for a, b in cases:
        y_alt, altered, _ = _record(model, a * x + b)
        output_errors.append((a, b, relative_error(y_alt, prop.expected(y, a, b))))
        if a < 0:
            continue  # intermediate features see the sign flip; only the output is promised
        for name in order:
            for rel in allowed:
                err = max(relative_error(h2, _RELATIONS[rel].expected(h1, a, b))
                          for h1, h2 in zip(clean[name], altered[name]))
                worst[name][rel] = max(worst[name][rel], err)

    modules = dict(_leaves(model))
    checks = []
    for i, name in enumerate(order):
        rel, err = min(worst[name].items(), key=lambda kv: kv[1])
        ok = err <= tolerance
        module = modules[name]
        has_state = any(True for _ in module.parameters()) or any(True for _ in module.buffers())
        checks.append(ModuleCheck(i, name, type(module).__name__, rel if ok else None, err, ok, has_state))
    report = AuditReport(prop, cases, tolerance, checks, output_errors)
    first = next((c for c in checks if not c.ok), None)
    if first is not None:
        report.first_break, report.reason = first, explain(modules[first.name])
    elif not report.passed:
        report.notes.append("every module obeys an allowed relation but the output does not: "
                            "look for functional operations in forward() (e.g. an added constant)")
    if not math.isfinite(report.worst_output_error):
        report.notes.append("the output contains NaN or inf for some case")
    return report
