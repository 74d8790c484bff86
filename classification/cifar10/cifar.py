"""What is particular to the CIFAR-10 experiment: where it lives, its variants and result fields."""
from __future__ import annotations

from pathlib import Path

from seqsi.nn.modes import Mode

HERE = Path(__file__).resolve().parent
EXPERIMENT = "cifar10"


def variant_name(config: dict) -> str:
    """base, or what differs from it: norm-<kind>, dropout-<p>, aug-<group> (joined by +)."""
    parts = []
    if config["model"].get("norm", "none") != "none":
        parts.append(f"norm-{config['model']['norm']}")
    if config["model"].get("dropout", 0):
        parts.append(f"dropout-{config['model']['dropout']:g}")
    if config["augment"].get("group", "none") != "none":
        parts.append(f"aug-{config['augment']['group']}")
    return "+".join(parts) or "base"


def run_fields(config: dict, mode: Mode) -> dict:
    return {"experiment": EXPERIMENT, "dataset": config["data"]["dataset"], "method": mode.name,
            "variant": variant_name(config), "seed": config["seed"]}
