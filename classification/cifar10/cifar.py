"""What is particular to the CIFAR-10 experiment: its data, augmentation, variants and results."""
from __future__ import annotations

import sys
from pathlib import Path

from seqsi.data.classification import ImageSplits, load_image_dataset, random_crop_flip, split_validation
from seqsi.engine.evaluate import evaluate_classifier
from seqsi.nn.modes import Mode
from seqsi.photometric import load_suite

HERE = Path(__file__).resolve().parent
EXPERIMENT = "cifar10"


def load_data(data_cfg: dict) -> ImageSplits:
    splits = load_image_dataset(data_cfg["dataset"], data_cfg.get("root") or "data", data_cfg.get("download", True))
    if data_cfg.get("train_limit"):
        splits.train_x, splits.train_y = splits.train_x[: data_cfg["train_limit"]], splits.train_y[: data_cfg["train_limit"]]
    if data_cfg.get("test_limit"):
        splits.test_x, splits.test_y = splits.test_x[: data_cfg["test_limit"]], splits.test_y[: data_cfg["test_limit"]]
    return splits


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


def make_augment(config: dict):
    """RandomCrop + flip, then (optionally) one photometric augmentation group, batched."""
    padding, flip = config["data"]["crop_padding"], config["data"]["hflip"]
    group = config["augment"].get("group", "none")
    photometric = None if group == "none" else load_suite(config["augment"]["suite"]).augmentation(group)

    def augment(x, y, generator):
        x = random_crop_flip(x, generator, padding, flip)
        if photometric is not None:
            x = photometric(x, generator)[0]
        return x, y
    return augment


def test_sets(suite_name: str):
    suite = load_suite(suite_name)
    return [(c.name, c) for c in suite.test_corruptions()]


def evaluate_rows(model, splits: ImageSplits, eval_cfg: dict, run_fields: dict, device) -> list[dict]:
    """results.csv rows: the model's accuracy on the clean and every corrupted test set."""
    scores = evaluate_classifier(model, splits.test_x, splits.test_y, test_sets(eval_cfg["suite"]),
                                 seed=eval_cfg["seed"], batch_size=eval_cfg["batch_size"], device=device)
    return [{**run_fields, "testset": name, "metric": "accuracy", "value": m["accuracy"]} for name, m in scores.items()]


def run_fields(config: dict, mode: Mode) -> dict:
    return {"dataset": config["data"]["dataset"], "method": mode.name, "variant": variant_name(config),
            "seed": config["seed"]}


def die(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def validation_split(splits: ImageSplits, config: dict):
    return split_validation(splits.train_x, splits.train_y, config["data"]["val_fraction"], config["seed"])

