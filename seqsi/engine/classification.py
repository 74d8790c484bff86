"""Image classification on the shared engine: data from a config, augmentation, training and
the robustness evaluation. Used by the CIFAR-10 experiment and by `seqsi demo`."""
from __future__ import annotations

from pathlib import Path

import torch.nn as nn

from ..data.classification import ImageSplits, ImageTensorDataset, load_image_dataset, random_crop_flip, split_validation
from ..models import build_model
from ..nn.modes import get_mode
from ..photometric import load_suite, training_augmentation
from . import distributed
from .evaluate import evaluate_classifier
from .seeding import seed_all
from .tasks import Classification
from .trainer import TrainSettings, fit


def load_splits(data_cfg: dict) -> ImageSplits:
    """The data set a config names, optionally cut to its first train_limit / test_limit images."""
    splits = load_image_dataset(data_cfg["dataset"], data_cfg.get("root") or "data", data_cfg.get("download", True))
    if data_cfg.get("train_limit"):
        splits.train_x, splits.train_y = splits.train_x[: data_cfg["train_limit"]], splits.train_y[: data_cfg["train_limit"]]
    if data_cfg.get("test_limit"):
        splits.test_x, splits.test_y = splits.test_x[: data_cfg["test_limit"]], splits.test_y[: data_cfg["test_limit"]]
    return splits


def make_augment(data_cfg: dict, augment_cfg: dict):
    """RandomCrop + flip, then (optionally) one photometric augmentation group, batched."""
    padding, flip = data_cfg["crop_padding"], data_cfg["hflip"]
    photometric = training_augmentation(augment_cfg)

    def augment(x, y, generator):
        x = random_crop_flip(x, generator, padding, flip)
        if photometric is not None:
            x = photometric(x, generator)[0]
        return x, y
    return augment


def suite_test_sets(suite_name: str) -> list[tuple[str, object]]:
    return [(c.name, c) for c in load_suite(suite_name).test_corruptions()]


def train_classifier(config: dict, splits: ImageSplits, run_dir: str | Path, meta: dict, *,
                     ctx: distributed.Context | None = None, resume: bool = False) -> tuple[nn.Module, dict]:
    """Build the configured model and train it (10 % hold-out per config); returns (model, fit result).

    `meta` (at least "experiment") is stored in the checkpoints with the model spec and config.
    """
    mode = get_mode(config["model"]["mode"])
    (train_x, train_y), (val_x, val_y) = split_validation(splits.train_x, splits.train_y,
                                                          config["data"]["val_fraction"], config["seed"])
    seed_all(config["seed"])
    model_cfg = {k: v for k, v in config["model"].items() if k not in ("name", "mode")}
    model_cfg["in_channels"] = splits.channels
    model = build_model(config["model"]["name"], mode, 2, **model_cfg)
    settings = TrainSettings.from_dict({**config["train"], "seed": config["seed"]})
    meta = {**meta, "dataset": splits.name, "model_spec": model.seqsi_spec, "config": config}
    result = fit(model, Classification(), ImageTensorDataset(train_x, train_y), ImageTensorDataset(val_x, val_y),
                 settings, run_dir, meta, ctx=ctx, resume=resume, augment=make_augment(config["data"], config["augment"]))
    return model, result


def robustness_rows(model: nn.Module, splits: ImageSplits, eval_cfg: dict, fields: dict, device) -> list[dict]:
    """results.csv rows: the model's accuracy on the clean and every corrupted test set."""
    scores = evaluate_classifier(model, splits.test_x, splits.test_y, suite_test_sets(eval_cfg["suite"]),
                                 seed=eval_cfg["seed"], batch_size=eval_cfg["batch_size"], device=device)
    return [{**fields, "testset": name, "metric": "accuracy", "value": m["accuracy"]} for name, m in scores.items()]
