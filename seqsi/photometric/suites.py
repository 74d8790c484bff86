"""Suites: named corruptions, test-set lists and augmentation groups, read from YAML.

The paper's test sets and augmentation groups are data (`suites/cifar10.yaml`,
`suites/fluorescence.yaml`) that users copy and edit; `load_suite` accepts a packaged name
(or a former one, `RENAMED`) or a file path and validates the file, naming the file and key
of anything wrong.
The registry of named corruptions is the union of the packaged suites:
`get_corruption("cifar10/shift_saturated")`.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch
import yaml

from .corruptions import Artifacts, Corruption, Params, as_generator, check_batch, make_corruption, with_overrides

_TOP_KEYS = ("name", "description", "corruptions", "test_sets", "augmentations")
# former name -> packaged suite: the configs of runs saved under the old name still load
RENAMED = MappingProxyType({"fluo3d": "fluorescence"})  # it serves the 2D DSB2018 experiment too


@dataclass(frozen=True, eq=False)
class Augmentation:
    """Per sample, one entry of a group or the identity, chosen uniformly (batched)."""

    name: str
    entries: tuple[Corruption, ...]

    @property
    def options(self) -> tuple[str, ...]:
        """What choice index i means: 0 is the identity, i > 0 is entries[i - 1]."""
        return ("identity", *(e.name for e in self.entries))

    @property
    def dims(self) -> tuple[int, ...]:
        common = {1, 2, 3}
        for e in self.entries:
            common &= set(e.dims)
        return tuple(sorted(common))

    def __call__(self, x: torch.Tensor, generator: torch.Generator | int | None = None) -> tuple[torch.Tensor, Params]:
        """Returns (augmented batch, {"choice": (N,) index into `options`})."""
        check_batch(x, f"augmentation {self.name!r}", self.dims)
        generator = as_generator(generator)
        choice = torch.randint(len(self.entries) + 1, (x.shape[0],), generator=generator)
        y = x.clone()
        for i, entry in enumerate(self.entries, start=1):
            rows = (choice == i).nonzero().flatten()
            if rows.numel():
                rows = rows.to(x.device)
                y[rows] = entry(x[rows], generator)[0]
        return y, {"choice": choice}


@dataclass(frozen=True, eq=False)
class Suite:
    name: str
    source: str
    description: str
    corruptions: Mapping[str, Corruption]
    test_sets: tuple[str, ...]
    augmentations: Mapping[str, tuple[str, ...]]

    def __getitem__(self, key: str) -> Corruption:
        if key not in self.corruptions:
            raise ValueError(f"suite {self.name!r} has no corruption {key!r}; valid: {', '.join(self.corruptions)}")
        return self.corruptions[key]

    @property
    def titles(self) -> dict[str, str]:
        """{corruption key: display title}, for tables and figures."""
        return {name: c.title for name, c in self.corruptions.items()}

    def test_set_names(self, *, artifacts: bool = False) -> list[str]:
        """The test sets, in table order, that are (artifacts=True) or are not bright-artifact
        corruptions: artifact sets are usually read from folders instead."""
        return [n for n in self.test_sets if isinstance(self.corruptions[n], Artifacts) == artifacts]

    def test_corruptions(self) -> list[Corruption]:
        """The test sets in table order."""
        return [self.corruptions[k] for k in self.test_sets]

    def augmentation(self, group: str) -> Augmentation:
        if group not in self.augmentations:
            raise ValueError(
                f"suite {self.name!r} has no augmentation group {group!r}; valid: {', '.join(self.augmentations)}"
            )
        return Augmentation(group, tuple(self.corruptions[k] for k in self.augmentations[group]))


def training_augmentation(augment_cfg: Mapping[str, Any]) -> Augmentation | None:
    """The group an experiment config asks for ({suite, group}); None for group "none" (or
    none given), so an unaugmented run draws nothing from the training generator."""
    group = augment_cfg.get("group") or "none"
    return None if group == "none" else load_suite(augment_cfg["suite"]).augmentation(group)


def available_suites() -> list[str]:
    """Names of the suites shipped with the package."""
    folder = resources.files(__package__) / "suites"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _keys_list(value: Any, where: str, defined: Mapping[str, Corruption]) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list of corruption keys; got {value!r}")
    for key in value:
        if not isinstance(key, str) or key not in defined:
            raise ValueError(
                f"{where}: {key!r} is not a corruption of this file; defined: {', '.join(map(str, defined))}"
            )
    if len(set(value)) != len(value):
        raise ValueError(f"{where}: lists a corruption twice: {value}")
    return tuple(value)


def parse_suite(data: Any, source: str) -> Suite:
    """A Suite from the parsed YAML of `source` (used in every error message)."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a mapping with keys {', '.join(_TOP_KEYS)}; got {type(data).__name__}")
    unknown = sorted(set(map(str, data)) - set(_TOP_KEYS))
    if unknown:
        raise ValueError(f"{source}: unknown top-level key(s) {unknown}; expected {', '.join(_TOP_KEYS)}")
    entries = data.get("corruptions")
    if not isinstance(entries, dict) or not entries:
        raise ValueError(f"{source}: 'corruptions' must map corruption keys to their definitions; got {entries!r}")
    corruptions: dict[str, Corruption] = {}
    for key, spec in entries.items():
        where = f"{source}: corruptions.{key}"
        if not isinstance(key, str) or not key or "/" in key:
            raise ValueError(f"{where}: a corruption key must be a non-empty string without '/'")
        if not isinstance(spec, dict) or "op" not in spec:
            raise ValueError(f"{where}: expected a mapping with an 'op' key (identity, affine, ...); got {spec!r}")
        spec = dict(spec)
        op = spec.pop("op")
        try:
            corruptions[key] = make_corruption(op, name=key, **spec)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{where}: {err}") from None
    test_sets = _keys_list(data.get("test_sets", list(corruptions)), f"{source}: test_sets", corruptions)
    groups = data.get("augmentations", {}) or {}
    if not isinstance(groups, dict):
        raise ValueError(f"{source}: 'augmentations' must map group names to lists of corruption keys; got {groups!r}")
    augmentations = {
        str(g): _keys_list(keys, f"{source}: augmentations.{g}", corruptions) for g, keys in groups.items()
    }
    name = data.get("name", Path(source).stem)
    description = data.get("description", "")
    if not isinstance(name, str) or not isinstance(description, str):
        raise ValueError(f"{source}: 'name' and 'description' must be strings")
    return Suite(
        name, source, description, MappingProxyType(corruptions), test_sets, MappingProxyType(augmentations)
    )


def _read(path: Path, source: str) -> Suite:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"{source}: not valid YAML: {err}") from None
    return parse_suite(data, source)


@functools.lru_cache(maxsize=None)
def _packaged(name: str) -> Suite:
    resource = resources.files(__package__) / "suites" / f"{name}.yaml"
    with resources.as_file(resource) as path:
        return _read(Path(path), str(path))


def load_suite(name_or_path: str | Path | Suite) -> Suite:
    """A packaged suite by name ("cifar10", "fluorescence") or a user's YAML file by path."""
    if isinstance(name_or_path, Suite):
        return name_or_path
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text:
        path = Path(text)
        if not path.is_file():
            raise FileNotFoundError(f"suite file {text} does not exist")
        return _read(path, text)
    text = RENAMED.get(text, text)
    if text not in available_suites():
        raise ValueError(
            f"unknown suite {text!r}; packaged suites: {', '.join(available_suites())} (or give a .yaml path)"
        )
    return _packaged(text)


def list_corruptions() -> list[str]:
    """Every named corruption of the packaged suites, as 'suite/key'."""
    return [f"{s}/{k}" for s in available_suites() for k in load_suite(s).corruptions]


def get_corruption(name: str, **overrides: Any) -> Corruption:
    """A named corruption, 'suite/key' (e.g. 'cifar10/shift'), or a key defined in one
    suite only; `overrides` replace parameters, e.g. get_corruption('fluorescence/shift', b=[-1, 1])."""
    valid = list_corruptions()
    if "/" in name:
        suite, key = name.split("/", 1)
        name = f"{RENAMED.get(suite, suite)}/{key}"
        matches = [name] if name in valid else []
    else:
        key = name
        matches = [q for q in valid if q.split("/", 1)[1] == name]
    if not matches:
        raise ValueError(f"unknown corruption {name!r}; valid corruptions: {', '.join(valid)}")
    if len(matches) > 1:
        raise ValueError(
            f"corruption {name!r} is defined in several suites with their own parameters; "
            f"name one of: {', '.join(matches)}"
        )
    suite, key = matches[0].split("/", 1)
    return with_overrides(load_suite(suite)[key], **overrides)
