"""Random parameters of corruptions, as plain data parsed from YAML.

The paper's draws are all of one family: a uniform U(low, high), possibly inverted
(1/U(0.2, 1)), possibly with a random sign (+-U(0.4, 0.8)), possibly a fair choice
between several such pieces (a = U(0, 1) or U(1, 4) with probability 1/2 each).
`Param` is that family. Every draw is a function of three uniforms (choice, value,
sign), so each parameter consumes the same amount of the random stream whatever
its form, and the stream is laid out the same way on every machine.

YAML forms accepted by `parse_param`:

    1.5                              constant
    [0, 4]                           U(0, 4)          (low < high, else an error)
    {uniform: [0.2, 1], reciprocal: true}             1/U(0.2, 1)
    {uniform: [0.4, 0.8], random_sign: true}          +-U(0.4, 0.8)
    {one_of: [[0, 1], [1, 4]]}       each entry any of the forms above, equal odds
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real

import torch

UNIFORMS_PER_DRAW = 3  # choice, value, sign


def _fmt(v: float) -> str:
    return f"{v:g}"


@dataclass(frozen=True)
class Piece:
    """U(low, high], optionally inverted and/or given a random sign; low == high is a constant."""

    low: float
    high: float
    reciprocal: bool = False
    random_sign: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError(f"bad range [{self.low}, {self.high}]: expected finite low <= high")
        if self.reciprocal and self.low <= 0:
            raise ValueError(f"1/U({_fmt(self.low)}, {_fmt(self.high)}) needs low > 0")

    @property
    def bounds(self) -> tuple[float, float]:
        lo, hi = (1 / self.high, 1 / self.low) if self.reciprocal else (self.low, self.high)
        return (-hi, hi) if self.random_sign else (lo, hi)

    def __str__(self) -> str:
        text = _fmt(self.low) if self.low == self.high else f"U({_fmt(self.low)}, {_fmt(self.high)})"
        if self.reciprocal:
            text = f"1/{text}"
        return f"+-{text}" if self.random_sign else text


@dataclass(frozen=True)
class Param:
    """A per-image random number: one of `pieces`, chosen with equal probability."""

    pieces: tuple[Piece, ...]

    def __post_init__(self) -> None:
        if not self.pieces:
            raise ValueError("a parameter needs at least one piece")

    @classmethod
    def constant(cls, value: float) -> Param:
        return cls((Piece(float(value), float(value)),))

    @classmethod
    def uniform(cls, low: float, high: float) -> Param:
        return cls((Piece(float(low), float(high)),))

    @property
    def bounds(self) -> tuple[float, float]:
        """The smallest interval holding every value this parameter can take."""
        b = [p.bounds for p in self.pieces]
        return min(lo for lo, _ in b), max(hi for _, hi in b)

    @property
    def positive(self) -> bool:
        """Every draw is > 0 (draws lie in (low, high], so a range starting at 0 never yields 0)."""
        return all(p.low >= 0 and p.high > 0 and not p.random_sign for p in self.pieces)

    def sample(self, u: torch.Tensor) -> torch.Tensor:
        """Map uniforms u of shape (M, 3), float64 in [0, 1), to M draws (float64)."""
        n = len(self.pieces)
        idx = (u[:, 0] * n).long().clamp_(max=n - 1)
        table = torch.tensor([[p.low, p.high, p.reciprocal, p.random_sign] for p in self.pieces], dtype=torch.float64)
        low, high, recip, signed = table[idx].unbind(1)
        v = low + (high - low) * (1 - u[:, 1])  # in (low, high]: never exactly low
        v = torch.where(recip.bool(), 1 / v, v)
        return torch.where(signed.bool() & (u[:, 2] < 0.5), -v, v)

    def __str__(self) -> str:
        if len(self.pieces) == 1:
            return str(self.pieces[0])
        return "one of {" + ", ".join(str(p) for p in self.pieces) + "}"


@dataclass(frozen=True)
class IntRange:
    """A uniform integer in [low, high] (both included), for counts."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"bad integer range [{self.low}, {self.high}]: expected low <= high")

    @property
    def bounds(self) -> tuple[int, int]:
        return self.low, self.high

    def sample(self, u: torch.Tensor) -> torch.Tensor:
        span = self.high - self.low + 1
        return (self.low + (u[:, 1] * span).floor()).clamp_(max=self.high)

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"integer in [{self.low}, {self.high}]"


def finite_number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number; got {value!r}")
    return float(value)


def parse_range(value, where: str) -> tuple[float, float]:
    """[low, high] with low < high: an empty or reversed range is an error, not a constant."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError(f"{where}: expected a range [low, high]; got {value!r}")
    if len(value) == 0:
        raise ValueError(f"{where}: empty range []; expected [low, high] with low < high")
    if len(value) != 2:
        raise ValueError(f"{where}: expected a range [low, high] of two numbers; got {list(value)!r}")
    low, high = (finite_number(v, where) for v in value)
    if low > high:
        raise ValueError(f"{where}: reversed range [{_fmt(low)}, {_fmt(high)}]; expected [low, high] with low < high")
    if low == high:
        raise ValueError(f"{where}: empty range [{_fmt(low)}, {_fmt(high)}]; give a single number for a constant")
    return low, high


def _piece(value, where: str, nested: bool) -> tuple[Piece, ...]:
    if isinstance(value, Mapping):
        keys = set(value)
        if "one_of" in keys and not nested:
            if keys != {"one_of"}:
                raise ValueError(f"{where}: 'one_of' takes no other keys; got {sorted(keys)}")
            entries = value["one_of"]
            if not isinstance(entries, Sequence) or isinstance(entries, str) or not entries:
                raise ValueError(f"{where}: 'one_of' expects a non-empty list; got {entries!r}")
            return tuple(p for i, e in enumerate(entries) for p in _piece(e, f"{where}.one_of[{i}]", True))
        allowed = {"uniform", "reciprocal", "random_sign"}
        if keys - allowed or "uniform" not in keys:
            raise ValueError(
                f"{where}: expected keys 'uniform' (required), 'reciprocal', 'random_sign'"
                f"{'' if nested else ' or one_of'}; got {sorted(keys)}"
            )
        flags = {}
        for flag in ("reciprocal", "random_sign"):
            if not isinstance(value.get(flag, False), bool):
                raise ValueError(f"{where}.{flag}: expected true or false; got {value[flag]!r}")
            flags[flag] = value.get(flag, False)
        u = value["uniform"]
        low, high = (finite_number(u, where),) * 2 if isinstance(u, Real) else parse_range(u, f"{where}.uniform")
        try:
            return (Piece(low, high, **flags),)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
    if isinstance(value, Real) and not isinstance(value, bool):
        v = finite_number(value, where)
        return (Piece(v, v),)
    low, high = parse_range(value, where)
    return (Piece(low, high),)


def parse_param(value, where: str) -> Param:
    """A Param from its YAML form; `where` names the corruption and parameter in errors."""
    if isinstance(value, Param):
        return value
    if isinstance(value, Piece):
        return Param((value,))
    return Param(_piece(value, where, nested=False))


def parse_int_range(value, where: str) -> IntRange:
    if isinstance(value, IntRange):
        return value
    if isinstance(value, Real) and not isinstance(value, bool):
        if value != int(value):
            raise ValueError(f"{where}: expected an integer; got {value!r}")
        return IntRange(int(value), int(value))
    low, high = parse_range(value, where)
    if low != int(low) or high != int(high):
        raise ValueError(f"{where}: expected an integer range [low, high]; got {list(value)!r}")
    return IntRange(int(low), int(high))
