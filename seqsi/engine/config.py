"""Experiment configuration: a YAML file of paper-scale defaults, named presets, overrides.

    defaults (top level of the file)  <-  presets.<name>  <-  --set key.sub=value / flags

Overrides may only name keys that exist, so a typo fails loudly instead of being ignored.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch.nn as nn
import yaml

from ..io import write_text
from ..models import build_model
from ..nn import Mode, get_mode


_EXPONENT_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def numbers(value: Any) -> Any:
    """YAML 1.1 reads 1e-4 (no dot) as a string; turn such strings into floats, recursively."""
    if isinstance(value, str) and _EXPONENT_NUMBER.match(value.strip()):
        return float(value)
    if isinstance(value, dict):
        return {k: numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [numbers(v) for v in value]
    return value


def deep_merge(base: dict, update: dict, where: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in update.items():
        path = f"{where}.{key}" if where else key
        if key not in out:
            raise ValueError(f"unknown config key {path!r}; known keys here: {sorted(out)}")
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value, path)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_value(key: str, value: str) -> Any:
    """One `--set key=value` value as YAML; an empty or unparsable value is a one-line error
    naming the key (write `key=null` for no value)."""
    if not value.strip():
        raise ValueError(f"--set {key}: empty value; expected {key}=VALUE (a number, true/false, a list such as "
                         f"[8, 16], a string, or null)")
    try:
        return numbers(yaml.safe_load(value))
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ValueError(f"--set {key}={value}: not a valid YAML value ({problem}); expected a number, true/false, "
                         "a list such as [8, 16] or a string") from None


def parse_override(text: str) -> dict:
    """'train.epochs=3' -> {'train': {'epochs': 3}} (values parsed as YAML)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"override must look like section.key=value; got {text!r}")
    nested: Any = parse_value(key.strip(), value)
    for part in reversed(key.strip().split(".")):
        nested = {part: nested}
    return nested


def load_config(path: str | Path, preset: str | None = None, overrides: list[dict] | None = None) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"config file {path} is not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"config file {path} must hold a mapping at the top level")
    raw = numbers(raw)
    presets = raw.pop("presets", {}) or {}
    config = raw
    if preset and preset != "paper":
        if preset not in presets:
            raise ValueError(f"config {path} has no preset {preset!r}; presets: {['paper', *presets]}")
        config = deep_merge(config, presets[preset])
    for update in overrides or []:
        config = deep_merge(config, update)
    config["preset"] = preset or "paper"
    return config


def save_config(path: str | Path, config: dict) -> None:
    write_text(path, yaml.safe_dump(config, sort_keys=False))


# model-section keys that configure the run, not the network builder
RUN_KEYS = ("name", "mode", "reparam", "loss")


@dataclass(frozen=True)
class ModelSection:
    """The `model` section read once: the network's name, its Mode and the builder's keywords.

    `model.reparam` (avg | telescopic) turns a constrained mode's default avg kernels into
    telescopic ones (the paper's localization networks are telescopic); a mode named with its
    own `_avg` suffix keeps it. `loss` is the localization loss name (None: the mode's).
    """

    name: str | None  # None: a section that only names the mode (e.g. a checkpoint's summary)
    mode: Mode
    loss: str | None = None
    options: dict = field(default_factory=dict)
    reparam: str | None = None  # the section's default kernels (model.reparam)

    @classmethod
    def of(cls, config: Mapping) -> "ModelSection":
        section = config["model"]
        reparam = section.get("reparam")
        options = {k: v for k, v in section.items() if k not in RUN_KEYS}
        return cls(section.get("name"), get_mode(section["mode"], default_reparam=reparam), section.get("loss"),
                   options, reparam)

    @property
    def mode_key(self) -> str:
        """The mode's registry name as a config should store it: read back with this section's
        reparam it gives this mode again (so `seqsi_avg` stays explicit beside reparam: telescopic)."""
        if get_mode(self.mode.name, default_reparam=self.reparam) == self.mode:
            return self.mode.name
        return f"{self.mode.name}_{self.mode.reparam}"

    def build(self, dims: int, **extra: Any) -> nn.Module:
        """The configured network for `dims` spatial dimensions (`extra` adds builder keywords)."""
        return build_model(self.name, self.mode, dims, **{**self.options, **extra})
