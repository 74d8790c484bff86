"""Deterministic (a, b) cases for plots and certification.

A `Case` is one fixed intensity map x -> a x + b. The paper lists the CIFAR-10 cases as
(b, a) pairs and the localization cases as (lambda, mu) = (a, b); both are stored here
with named fields so the order can never be mixed up again.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .corruptions import Affine, Param


class Case(NamedTuple):
    a: float
    b: float

    @property
    def label(self) -> str:
        return f"a={self.a:g}, b={self.b:g}"

    def corruption(self) -> Affine:
        """The case as a corruption (constant parameters), to run through the same code as a test set."""
        return Affine(
            name=f"a{self.a:g}_b{self.b:g}", title=self.label, a=Param.constant(self.a), b=Param.constant(self.b)
        )


def _check_grid(n: int, low: float, high: float, what: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"{what}: n must be an integer >= 2; got {n!r}")
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ValueError(f"{what}: expected finite low < high; got low={low!r}, high={high!r}")


def scale_sweep(n: int = 21, low: float = 1e-2, high: float = 1e3, b: float = 0.0) -> list[Case]:
    """a on a log grid from low to high (1e-2 .. 1e3 by default), b fixed."""
    _check_grid(n, low, high, "scale_sweep")
    if low <= 0:
        raise ValueError(f"scale_sweep: a log grid needs low > 0; got {low!r}")
    return [Case(float(a), float(b)) for a in np.logspace(math.log10(low), math.log10(high), n)]


def shift_sweep(n: int = 21, low: float = -10.0, high: float = 10.0, a: float = 1.0) -> list[Case]:
    """b on a linear grid from low to high, a fixed."""
    _check_grid(n, low, high, "shift_sweep")
    return [Case(float(a), float(b)) for b in np.linspace(low, high, n)]


# The paper's CIFAR-10 invariance evaluation: shifts {-2, 0.5, 2, 10} with a = 1; scales {0.5, 3, 255} with b = 0;
# (b, a) in {(5, 0.1), (5, 3), (-2, 10)}.
CIFAR_INVARIANCE_CASES: tuple[Case, ...] = (
    *(Case(1.0, b) for b in (-2.0, 0.5, 2.0, 10.0)),
    *(Case(a, 0.0) for a in (0.5, 3.0, 255.0)),
    *(Case(a, b) for b, a in ((5.0, 0.1), (5.0, 3.0), (-2.0, 10.0))),
)

# The paper's 2D localization invariance experiment: (lambda, mu) pairs, applied as lambda * x + mu.
LOCALIZATION_INVARIANCE_CASES: tuple[Case, ...] = tuple(
    Case(lam, mu)
    for lam, mu in ((1, -2), (1, 0.5), (1, 2), (1, 10), (0.5, 0), (3, 0), (255, 0), (10, -2), (0.1, 5), (3, 5))
)
