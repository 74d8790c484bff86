"""Photometric corruptions: one small dataclass per operation, batched, seeded, nd.

A corruption maps a batch x of shape (N, C, *spatial) (1, 2 or 3 spatial dims) to a
corrupted batch of the same shape, dtype and device, with its parameters drawn per
image: ``y, params = corruption(x, generator)``. `params` holds the draws as CPU
float64 tensors with one row per image, so a report can say what each image got.

Reproducibility, by design:
- every random number (per-image parameters AND noise fields, ramps, artifact shapes)
  is drawn from a CPU `torch.Generator` and computed on the CPU, in float64 (pixel
  noise fields in float32, for speed, whatever x's dtype), then cast to x's dtype and
  moved to x's device. The same seed therefore gives the same draws
  on CPU and GPU; what runs on x's device is only +, *, clamp, min/max and division
  (IEEE-exact, hence bit-identical) and, for gamma only, `pow`;
- draws are made image by image (all of image 0's draws, then image 1's, ...), so a
  test set corrupted in batches of any size, with one generator passed along, holds
  exactly the same images. Every model of a comparison sees the same test set.

The operations are parameterised from suite files (`seqsi/photometric/suites/*.yaml`):
the paper's CIFAR-10 "Shift Saturated" and the 3D "shift_saturated" are one operation
(`affine` with a clip) with two parameter sets, not two code paths.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

import numpy as np
import torch

from .params import UNIFORMS_PER_DRAW, IntRange, Param, Piece, finite_number, parse_range, parse_int_range, parse_param

Params = dict[str, torch.Tensor]


def as_generator(generator: torch.Generator | int | None) -> torch.Generator:
    """A CPU generator from a generator, a seed, or None (torch's global CPU generator)."""
    if generator is None:
        return torch.default_generator
    if isinstance(generator, int) and not isinstance(generator, bool):
        return torch.Generator().manual_seed(generator)
    if isinstance(generator, torch.Generator):
        if generator.device.type != "cpu":
            raise ValueError(
                f"corruptions draw from a CPU torch.Generator (so CPU and GPU runs see the same images); "
                f"got a generator on {generator.device}"
            )
        return generator
    raise TypeError(f"generator must be a torch.Generator, an int seed or None; got {type(generator).__name__}")


def minmax_normalize(x: torch.Tensor) -> torch.Tensor:
    """Per-image (x - min) / (max - min) over channels and space; a constant image maps to 0."""
    dims = tuple(range(1, x.ndim))
    low, high = x.amin(dim=dims, keepdim=True), x.amax(dim=dims, keepdim=True)
    span = high - low
    return (x - low) / torch.where(span > 0, span, torch.ones_like(span))


def per_image(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(N,) values as (N, 1, ..., 1) in like's dtype and device, to broadcast over an image."""
    return values.to(dtype=like.dtype, device=like.device).view(-1, *([1] * (like.ndim - 1)))


def check_batch(x: torch.Tensor, who: str, dims: tuple[int, ...]) -> None:
    """Reject what would silently produce garbage: wrong type, layout or dims, NaN/inf."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{who}: expected a torch.Tensor; got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{who}: expected floating-point images; got dtype {x.dtype}")
    d = x.ndim - 2
    if d not in (1, 2, 3):
        raise ValueError(
            f"{who}: expected a batch (N, C, *spatial) with 1 to 3 spatial dims; got shape {tuple(x.shape)}"
        )
    if d not in dims:
        raise ValueError(f"{who} supports {_dims_text(dims)} data only; got {d}D input of shape {tuple(x.shape)}")
    if x.numel() and not bool(torch.isfinite(torch.stack(torch.aminmax(x))).all()):  # min/max propagate NaN
        bad = x.numel() - int(torch.isfinite(x).sum())
        raise ValueError(f"{who}: input contains NaN or inf ({bad} values)")


def _dims_text(dims: tuple[int, ...]) -> str:
    return "/".join(f"{d}D" for d in dims)


@dataclass(frozen=True, kw_only=True)
class Corruption:
    """Base of every corruption. Subclasses declare their random parameters and `_apply`.

    `clip` (a [low, high] range) and `minmax` (per-image renormalisation to [0, 1]) are
    applied after the operation, in that order, so saturation and the 3D noise's
    renormalisation are options of any operation rather than separate operations.
    """

    name: str = ""
    title: str = ""
    clip: tuple[float, float] | None = None
    minmax: bool = False
    dims: tuple[int, ...] = (1, 2, 3)

    op: ClassVar[str] = ""
    random_fields: ClassVar[tuple[str, ...]] = ()  # dataclass fields holding a Param
    int_fields: ClassVar[tuple[str, ...]] = ()  # dataclass fields holding an IntRange
    draws: ClassVar[tuple[tuple[str, str], ...] | None] = None  # (output key, field); default one per field

    # -- construction -------------------------------------------------------------------
    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.name, str) or not isinstance(self.title, str):
            raise ValueError(f"corruption name and title must be strings; got {self.name!r}, {self.title!r}")
        set_(self, "title", self.title or self.name or self.op)
        for key in self.random_fields:
            set_(self, key, parse_param(getattr(self, key), self._where(key)))
        for key in self.int_fields:
            set_(self, key, parse_int_range(getattr(self, key), self._where(key)))
        if self.clip is not None:
            set_(self, "clip", parse_range(self.clip, self._where("clip")))
        if not isinstance(self.minmax, bool):
            raise ValueError(f"{self._where('minmax')}: expected true or false; got {self.minmax!r}")
        dims = (self.dims,) if isinstance(self.dims, int) else self.dims
        try:
            dims = tuple(sorted(set(dims)))
        except TypeError:
            dims = ()
        if not dims or any(isinstance(d, bool) or d not in (1, 2, 3) for d in dims):
            raise ValueError(f"{self._where('dims')}: expected spatial dims among 1, 2, 3; got {self.dims!r}")
        set_(self, "dims", dims)
        self._validate()

    def _where(self, key: str) -> str:
        return f"corruption {self.name or self.op!r}: parameter {key!r}"

    def _validate(self) -> None:
        """Operation-specific checks of the parameter ranges (raise ValueError)."""

    def _require(self, key: str, minimum: float, strict: bool) -> None:
        lo, _ = getattr(self, key).bounds
        if lo < minimum or (strict and lo == minimum):
            sign = ">" if strict else ">="
            raise ValueError(f"{self._where(key)}: every value must be {sign} {minimum:g}; got {getattr(self, key)}")

    # -- what it promises ---------------------------------------------------------------
    @property
    def affine(self) -> bool:
        """True when every draw is an intensity-affine map x -> a x + b with a > 0 (a
        per-image min-max renormalisation keeps that: it is such a map itself)."""
        return self._affine() and self.clip is None

    def _affine(self) -> bool:
        return False

    def format_params(self, params: Params, index: int) -> str:
        """The scalar draws of one image, e.g. 'a=0.53 b=-1.2', for figure titles."""
        out = []
        for key, value in params.items():
            if value.ndim == 1:
                v = float(value[index])
                out.append(f"{key}={int(v)}" if v == int(v) and abs(v) < 1e6 else f"{key}={v:.3g}")
        return " ".join(out)

    # -- drawing ------------------------------------------------------------------------
    def _draw_list(self) -> tuple[tuple[str, str], ...]:
        if self.draws is not None:
            return self.draws
        return tuple((k, k) for k in (*self.random_fields, *self.int_fields))

    def _draw_image(self, generator: torch.Generator, channels: int, spatial: tuple[int, ...]) -> Params:
        """Extra per-image draws (fields, directions); keys starting with '_' stay private."""
        return {}

    def draw(self, generator: torch.Generator, n: int, channels: int, spatial: tuple[int, ...]) -> Params:
        """All draws for n images, image by image, as CPU tensors."""
        plan = self._draw_list()
        width = UNIFORMS_PER_DRAW * len(plan)
        uniforms, extras = [], []
        for _ in range(n):
            uniforms.append(torch.rand(width, generator=generator, dtype=torch.float64))
            extras.append(self._draw_image(generator, channels, spatial))
        u = torch.stack(uniforms) if n else torch.zeros(0, width, dtype=torch.float64)
        params = {
            out: getattr(self, src).sample(u[:, UNIFORMS_PER_DRAW * j: UNIFORMS_PER_DRAW * (j + 1)])
            for j, (out, src) in enumerate(plan)
        }
        for key in extras[0] if extras else ():
            params[key] = torch.stack([e[key] for e in extras])
        return params

    # -- applying -----------------------------------------------------------------------
    def check_input(self, x: torch.Tensor) -> None:
        check_batch(x, f"corruption {self.name!r}", self.dims)

    def _apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, x: torch.Tensor, generator: torch.Generator | int | None = None) -> tuple[torch.Tensor, Params]:
        """Corrupt a batch; returns (corrupted batch, per-image draws).

        `generator`: a CPU torch.Generator (passed along between batches of one test
        set), an int seed, or None for torch's global CPU generator.
        """
        self.check_input(x)
        if x.shape[0] == 0:
            return x.clone(), {}
        params = self.draw(as_generator(generator), x.shape[0], x.shape[1], tuple(x.shape[2:]))
        y = self._apply(x, params)
        if self.clip is not None:
            y = y.clamp(*self.clip)
        if self.minmax:
            y = minmax_normalize(y)
        return y, {k: v for k, v in params.items() if not k.startswith("_")}


@dataclass(frozen=True, kw_only=True)
class Identity(Corruption):
    """The clean test set / the "none" alteration."""

    op: ClassVar[str] = "identity"

    def _affine(self) -> bool:
        return True

    def _apply(self, x, params):
        return x.clone()


@dataclass(frozen=True, kw_only=True)
class Affine(Corruption):
    """a x + b + offset per image; with `clip`, the saturated variants.

    `offset` is a constant kept apart from b so that the paper's CIFAR "Affine Saturated",
    clip(a x + b + 0.5, 0, 1) with b in [-0.3, 0.3], reads as written in the suite file.
    """

    a: Param = Param.constant(1.0)
    b: Param = Param.constant(0.0)
    offset: float = 0.0

    op: ClassVar[str] = "affine"
    random_fields: ClassVar[tuple[str, ...]] = ("a", "b")

    def _validate(self) -> None:
        finite_number(self.offset, self._where("offset"))

    def _affine(self) -> bool:
        return self.a.positive

    def _apply(self, x, params):
        return x * per_image(params["a"], x) + per_image(params["b"] + self.offset, x)


def _unit_vector(generator: torch.Generator, dims: int) -> torch.Tensor:
    """Uniform on the unit sphere of the spatial dims (for 2D: an angle uniform in [0, 2 pi))."""
    while True:
        v = torch.randn(dims, generator=generator, dtype=torch.float64)
        norm = v.norm()
        if norm > 1e-12:
            return v / norm


def _ramp(spatial: tuple[int, ...], directions: torch.Tensor) -> torch.Tensor:
    """t(p) in [0, 1] per image: the position of p along the image's direction, 0 and 1
    at the two extreme corners. directions (N, d) -> (N, *spatial), float64."""
    n = directions.shape[0]
    t = torch.zeros((n, *spatial), dtype=torch.float64)
    half_extent = torch.zeros(n, dtype=torch.float64)
    for axis, size in enumerate(spatial):
        shape = [1] * len(spatial)
        shape[axis] = size
        u = directions[:, axis]
        coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
        t = t + coords.view(1, *shape) * u.view(-1, *[1] * len(spatial))
        half_extent += u.abs() * (size - 1) / 2
    scale = torch.where(half_extent > 0, 2 * half_extent, torch.ones_like(half_extent))
    return (t + half_extent.view(-1, *[1] * len(spatial))) / scale.view(-1, *[1] * len(spatial))


@dataclass(frozen=True, kw_only=True)
class Linear(Corruption):
    """Spatially varying a(p) x + b(p): a and b go linearly from a0 to a1 and b0 to b1
    along a random direction, reaching the end values at opposite corners of the image.

    The fields are the same for every channel. Two draws per field (its two ends) come
    from the same distribution; the direction is uniform on the unit sphere.
    """

    a: Param = Param.constant(1.0)
    b: Param = Param.constant(0.0)

    op: ClassVar[str] = "linear"
    random_fields: ClassVar[tuple[str, ...]] = ("a", "b")
    draws: ClassVar[tuple[tuple[str, str], ...]] = (("a0", "a"), ("a1", "a"), ("b0", "b"), ("b1", "b"))

    def _draw_image(self, generator, channels, spatial):
        return {"direction": _unit_vector(generator, len(spatial))}

    def field_maps(self, params: Params, spatial: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """The a and b fields, (N, 1, *spatial) float64 on the CPU."""
        t = _ramp(spatial, params["direction"]).unsqueeze(1)
        shape = (-1, 1) + (1,) * len(spatial)
        a0, a1, b0, b1 = (params[k].view(shape) for k in ("a0", "a1", "b0", "b1"))
        return a0 + (a1 - a0) * t, b0 + (b1 - b0) * t

    def _apply(self, x, params):
        a, b = self.field_maps(params, tuple(x.shape[2:]))
        return x * a.to(x) + b.to(x)


@dataclass(frozen=True, kw_only=True)
class Noise(Corruption):
    """x + N(0, sigma^2), i.i.d. per pixel and channel, sigma drawn per image."""

    sigma: Param = Param.constant(0.0)

    op: ClassVar[str] = "noise"
    random_fields: ClassVar[tuple[str, ...]] = ("sigma",)

    def _validate(self) -> None:
        self._require("sigma", 0.0, strict=False)

    def _draw_image(self, generator, channels, spatial):
        # float32 whatever x's dtype: half the cost of float64 normals, and the same
        # noise realisation for a float32 and a float64 evaluation of one test set
        return {"_noise": torch.randn((channels, *spatial), generator=generator, dtype=torch.float32)}

    def _apply(self, x, params):
        work = torch.promote_types(x.dtype, torch.float32)
        sigma = params["sigma"].to(work).view(-1, *([1] * (x.ndim - 1)))
        return x + (sigma * params["_noise"].to(work)).to(x)


@dataclass(frozen=True, kw_only=True)
class Gamma(Corruption):
    """x ** g per image; needs non-negative intensities (images normalised to [0, 1])."""

    g: Param = Param.constant(1.0)

    op: ClassVar[str] = "gamma"
    random_fields: ClassVar[tuple[str, ...]] = ("g",)

    def _validate(self) -> None:
        self._require("g", 0.0, strict=True)

    def _apply(self, x, params):
        low = float(x.min()) if x.numel() else 0.0
        if low < 0:
            raise ValueError(
                f"corruption {self.name!r}: x ^ g needs non-negative intensities (normalise images "
                f"to [0, 1] first); got minimum {low:g}"
            )
        return x.pow(per_image(params["g"], x))


_CUTOFF = 4.0  # artifact cross-sections are Gaussians cut at 4 sigma


def _capsule(
    spatial: tuple[int, ...], center, direction, length: float, width: float
) -> tuple[tuple[slice, ...], np.ndarray]:
    """exp(-d^2 / 2 width^2), d the distance to a segment, cut at 4 width; on its bounding box.

    NumPy, not torch: these are many small arrays, where torch's intra-op threading
    costs far more than the arithmetic on a busy machine.
    """
    reach = length / 2 + _CUTOFF * width
    box = tuple(
        slice(max(0, math.floor(c - reach)), min(n, math.floor(c + reach) + 1)) for c, n in zip(center, spatial)
    )
    rel = []
    for axis, (sl, c) in enumerate(zip(box, center)):
        shape = [1] * len(spatial)
        shape[axis] = -1
        rel.append((np.arange(sl.start, sl.stop, dtype=np.float64) - c).reshape(shape))
    t = np.clip(sum(r * u for r, u in zip(rel, direction)), -length / 2, length / 2)
    d2 = sum((r - t * u) ** 2 for r, u in zip(rel, direction))
    value = np.where(d2 <= (_CUTOFF * width) ** 2, np.exp(-d2 / (2 * width**2)), 0.0)
    return box, value


@dataclass(frozen=True, kw_only=True)
class Artifacts(Corruption):
    """Bright non-object structures of k times the object intensity, added to a volume.

    Each image gets `count` structures: segments of `length` voxels with a Gaussian
    cross-section of std `width` voxels (cut at 4 std), centred uniformly in the volume,
    oriented uniformly; length 0 gives round blobs. Overlaps take the maximum, so every
    structure peaks at k * reference on its axis. The reference is `object_intensity`
    when given (a generator that knows its objects' brightness should pass it), else the
    image's `quantile` (fluorescent objects are the bright part of a volume).

    3D only by default: the sizes are voxel sizes of the 3D experiment's volumes; set
    dims to use it on other data.
    """

    k: Param = Param(tuple(Piece(v, v) for v in (1.5, 3.0, 5.0, 10.0)))  # the paper's arti_<k> sets
    count: IntRange = IntRange(2, 5)
    length: Param = Param.uniform(4.0, 16.0)
    width: Param = Param.uniform(1.0, 2.0)
    object_intensity: float | None = None
    quantile: float = 0.99
    dims: tuple[int, ...] = (3,)

    op: ClassVar[str] = "artifacts"
    random_fields: ClassVar[tuple[str, ...]] = ("k", "length", "width")
    int_fields: ClassVar[tuple[str, ...]] = ("count",)
    draws: ClassVar[tuple[tuple[str, str], ...]] = (("k", "k"), ("count", "count"))

    def _validate(self) -> None:
        self._require("k", 0.0, strict=True)
        self._require("length", 0.0, strict=False)
        self._require("width", 0.0, strict=True)
        self._require("count", 1, strict=False)
        oi = self.object_intensity
        number = isinstance(oi, (int, float)) and not isinstance(oi, bool)
        if oi is not None and not (number and math.isfinite(oi) and oi > 0):
            raise ValueError(f"{self._where('object_intensity')}: expected a number > 0 or null; got {oi!r}")
        q = self.quantile
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q <= 1:
            raise ValueError(f"{self._where('quantile')}: expected a number in (0, 1]; got {q!r}")

    def _draw_image(self, generator, channels, spatial):
        d, m = len(spatial), self.count.high
        u = torch.rand(m, d + 2 * UNIFORMS_PER_DRAW, generator=generator, dtype=torch.float64)
        directions = torch.stack([_unit_vector(generator, d) for _ in range(m)])
        return {
            "centers": u[:, :d] * torch.tensor([n - 1 for n in spatial], dtype=torch.float64),
            "directions": directions,
            "lengths": self.length.sample(u[:, d: d + UNIFORMS_PER_DRAW]),
            "widths": self.width.sample(u[:, d + UNIFORMS_PER_DRAW:]),
        }

    def reference(self, x: torch.Tensor) -> torch.Tensor:
        """Per-image object intensity, (N,) float64 on the CPU."""
        if self.object_intensity is not None:
            return torch.full((x.shape[0],), float(self.object_intensity), dtype=torch.float64)
        flat = x.flatten(1)
        rank = min(max(math.ceil(self.quantile * flat.shape[1]), 1), flat.shape[1])
        return flat.kthvalue(rank, dim=1).values.to(device="cpu", dtype=torch.float64)

    def structures(self, params: Params, spatial: tuple[int, ...]) -> torch.Tensor:
        """The unit-peak structure map of each image, (N, *spatial) float64 on the CPU."""
        out = np.zeros((len(params["k"]), *spatial), dtype=np.float64)
        for i, count in enumerate(params["count"].long().tolist()):
            for j in range(count):
                box, value = _capsule(
                    spatial, params["centers"][i, j].tolist(), params["directions"][i, j].tolist(),
                    float(params["lengths"][i, j]), float(params["widths"][i, j]),
                )
                np.maximum(out[i][box], value, out=out[i][box])
        return torch.from_numpy(out)

    def _apply(self, x, params):
        params["reference"] = self.reference(x)
        unused = torch.arange(self.count.high).view(1, -1) >= params["count"].view(-1, 1)
        for key in ("centers", "directions", "lengths", "widths"):
            mask = unused.view(*unused.shape, *([1] * (params[key].ndim - 2)))
            params[key] = params[key].masked_fill(mask, math.nan)
        bright = self.structures(params, tuple(x.shape[2:])) * (params["k"] * params["reference"]).view(
            -1, *([1] * (x.ndim - 2))
        )
        return x + bright.unsqueeze(1).to(x)


OPERATIONS: dict[str, type[Corruption]] = {
    cls.op: cls for cls in (Identity, Affine, Linear, Noise, Gamma, Artifacts)
}


def _settable(cls: type[Corruption]) -> list[str]:
    return [f.name for f in fields(cls) if f.name != "name"]


def make_corruption(op: str, name: str = "", **spec: Any) -> Corruption:
    """A corruption from its operation name and YAML-style parameters (validated)."""
    if op not in OPERATIONS:
        who = f" for corruption {name!r}" if name else ""
        raise ValueError(f"unknown operation {op!r}{who}; valid operations: {', '.join(OPERATIONS)}")
    cls = OPERATIONS[op]
    unknown = sorted(set(spec) - set(_settable(cls)))
    if unknown:
        raise ValueError(
            f"corruption {name or op!r} (operation {op!r}) has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters: {', '.join(_settable(cls))}"
        )
    return cls(name=name, **spec)


def with_overrides(corruption: Corruption, **overrides: Any) -> Corruption:
    """A copy with some parameters replaced (validated like a suite entry)."""
    unknown = sorted(set(overrides) - set(_settable(type(corruption))))
    if unknown:
        raise ValueError(
            f"corruption {corruption.name!r} (operation {corruption.op!r}) has no parameter "
            f"{', '.join(map(repr, unknown))}; its parameters: {', '.join(_settable(type(corruption)))}"
        )
    return replace(corruption, **overrides) if overrides else corruption
