"""What a network promises under an intensity map x -> a*x + b.

A `Property` is the contract of a mode: given the output y = f(x), it says what
f(a*x + b) must be and which (a, b) the promise covers. The invariance audit, the
tests and the reports all read the contract from here, so it is written once.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Property:
    name: str
    formula: str
    scale: str  # how the output scales: "none" (x1), "a", or "|a|"
    adds_shift: bool  # the output also moves by +b
    covers_shift: bool  # the promise holds for b != 0
    covers_negative_scale: bool  # the promise holds for a < 0

    def expected(self, y: torch.Tensor, a: float, b: float) -> torch.Tensor:
        """The output the promise predicts for input a*x + b, given y = f(x)."""
        factor = {"none": 1.0, "a": a, "|a|": abs(a)}[self.scale]
        out = y * factor
        return out + b if self.adds_shift else out

    def covers(self, a: float, b: float) -> bool:
        if a == 0:
            return False
        if a < 0 and not self.covers_negative_scale:
            return False
        return b == 0 or self.covers_shift

    def __str__(self) -> str:
        return f"{self.name}: {self.formula}"


INVARIANT = Property("invariant", "f(a x + b) = f(x), a > 0", "none", False, True, False)
SCALE_EQUIVARIANT = Property("scale-equivariant", "f(a x) = a f(x), a > 0", "a", False, False, False)
AFFINE_EQUIVARIANT = Property("affine-equivariant", "f(a x + b) = a f(x) + b, a > 0", "a", True, True, False)
SEQSI = Property("seqsi", "f(a x + b) = a f(x), a > 0", "a", False, True, False)
SIGN_SEQSI = Property("sign-seqsi", "f(a x + b) = |a| f(x), a != 0", "|a|", False, True, True)

PROPERTIES = {p.name: p for p in (INVARIANT, SCALE_EQUIVARIANT, AFFINE_EQUIVARIANT, SEQSI, SIGN_SEQSI)}


def get_property(name: str | Property) -> Property:
    if isinstance(name, Property):
        return name
    key = name.strip().lower().replace("_", "-")
    if key not in PROPERTIES:
        raise ValueError(f"unknown property {name!r}; expected one of {sorted(PROPERTIES)}")
    return PROPERTIES[key]
