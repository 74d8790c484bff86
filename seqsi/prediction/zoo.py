"""Shipped pretrained models and the one rule that turns a MODEL argument into a loaded model.

A shipped model is a run folder inside the package (`seqsi/models/weights/<name>/`: best.pt
without optimizer state, threshold.json, card.json), written by tools/train_pretrained.py,
so a shipped name, a run folder and a checkpoint file are all read the same way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch.nn as nn

from ..engine.checkpoint import load_model

WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "weights"
THRESHOLD_FILE = "threshold.json"  # the name seqsi.engine.localization writes
CARD_FILE = "card.json"


def shipped() -> dict[str, dict]:
    """{name: model card} of every shipped model."""
    out = {}
    for folder in sorted(WEIGHTS.iterdir()) if WEIGHTS.is_dir() else ():
        if (folder / "best.pt").is_file():
            card = folder / CARD_FILE
            out[folder.name] = json.loads(card.read_text()) if card.is_file() else {"name": folder.name}
    return out


@dataclass
class LoadedModel:
    """A model in eval mode with what prediction needs to know about it."""

    model: nn.Module
    source: str                       # what the user named
    checkpoint: Path
    run_dir: Path | None              # folder with threshold.json, if any
    threshold: float | None = None
    meta: dict = field(default_factory=dict)  # the checkpoint's config, experiment, ...

    @property
    def dims(self) -> int:
        return int(self.model.seqsi_spec["dims"])

    @property
    def is_localizer(self) -> bool:
        return self.model.seqsi_spec["name"] == "drunet"


def _read_threshold(run_dir: Path | None) -> float | None:
    if run_dir is None or not (run_dir / THRESHOLD_FILE).is_file():
        return None
    try:
        return float(json.loads((run_dir / THRESHOLD_FILE).read_text())["threshold"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{run_dir / THRESHOLD_FILE}: not a threshold file ({err})") from None


def resolve(source: str | Path) -> tuple[Path, Path | None]:
    """(checkpoint file, run folder or None) of a run folder, a checkpoint file or a shipped name."""
    path = Path(source)
    if path.is_dir():
        if not (path / "best.pt").is_file():
            raise FileNotFoundError(f"{path}: a run folder must hold best.pt (the trained checkpoint)")
        return path / "best.pt", path
    if path.is_file():
        return path, path.parent if (path.parent / THRESHOLD_FILE).is_file() else None
    names = shipped()
    if str(source) in names:
        return WEIGHTS / str(source) / "best.pt", WEIGHTS / str(source)
    raise FileNotFoundError(f"model {str(source)!r} is neither a run folder, a checkpoint file nor a shipped model "
                            f"(shipped: {', '.join(names) or 'none'}; `seqsi models` lists them)")


def load_any_model(source: str | Path, device: str = "cpu") -> LoadedModel:
    """Load a run folder, a checkpoint (of any of the four experiments) or a shipped model, in eval mode."""
    checkpoint, run_dir = resolve(source)
    model = load_model(checkpoint, map_location=device)
    meta = getattr(model, "seqsi_checkpoint", {})
    return LoadedModel(model, str(source), checkpoint, run_dir, _read_threshold(run_dir), meta)


def pretrained(name: str, device: str = "cpu") -> nn.Module:
    """A shipped model by name, in eval mode; `.seqsi_threshold` holds its fitted detection threshold."""
    names = shipped()
    if name not in names:
        raise ValueError(f"no shipped model {name!r}; shipped models: {', '.join(names) or 'none'}")
    loaded = load_any_model(name, device)
    loaded.model.seqsi_threshold = loaded.threshold
    return loaded.model
