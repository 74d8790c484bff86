"""Classification on the shared engine, for any dims: data from a config, augmentation, training
and the robustness evaluation. Used by the CIFAR-10 and CZI experiments and by `seqsi demo`."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch.nn as nn

from ..data.classification import ImageSplits, TrainingData, load_image_dataset, random_crop_flip
from ..nn.modes import Mode
from ..photometric import load_suite, training_augmentation
from . import distributed
from .config import ModelSection, save_config
from .evaluate import evaluate_classifier
from .experiment import resolve_config
from .seeding import seed_all
from .tasks import Classification
from .trainer import Augment, TrainSettings, fit


def load_splits(data_cfg: dict) -> ImageSplits:
    """The image data set a config names, optionally cut to its first train_limit / test_limit images."""
    splits = load_image_dataset(data_cfg["dataset"], data_cfg.get("root") or "data", data_cfg.get("download", True))
    if data_cfg.get("train_limit"):
        splits.train_x, splits.train_y = splits.train_x[: data_cfg["train_limit"]], splits.train_y[: data_cfg["train_limit"]]
    if data_cfg.get("test_limit"):
        splits.test_x, splits.test_y = splits.test_x[: data_cfg["test_limit"]], splits.test_y[: data_cfg["test_limit"]]
    return splits


def make_augment(config: dict) -> Augment | None:
    """The batched augmentation a config asks for: RandomCrop (data.crop_padding) + flip (data.hflip),
    then optionally one photometric group (augment); None when it asks for none (the CZI patches
    are turned and flipped by their dataset)."""
    padding, flip = config["data"].get("crop_padding", 0), config["data"].get("hflip", False)
    photometric = training_augmentation(config.get("augment", {}))
    if not padding and not flip and photometric is None:
        return None

    def augment(x, y, generator):
        x = random_crop_flip(x, generator, padding, flip)
        if photometric is not None:
            x = photometric(x, generator)[0]
        return x, y
    return augment


def suite_test_sets(suite_name: str) -> list[tuple[str, object]]:
    return [(c.name, c) for c in load_suite(suite_name).test_corruptions()]


def train_settings(config: dict) -> TrainSettings:
    """The config's train section (and seed), checked: train.py calls it first, so that a bad setting
    fails before any data is read."""
    return TrainSettings.from_dict({**config["train"], "seed": config["seed"]})


def resolve_training_config(args: argparse.Namespace, flag_overrides: dict[str, Any]) -> tuple[dict, Mode]:
    """A train.py's config (`resolve_config`) and its mode, whose registry name replaces the alias
    the user typed (so the run folder and the checkpoints agree); the training settings are checked
    here, so that a bad one fails before any data is read."""
    config = resolve_config(args, flag_overrides)
    model = ModelSection.of(config)
    config["model"]["mode"] = model.mode_key
    train_settings(config)
    return config, model.mode


def train_classifier(config: dict, data: TrainingData, run_dir: str | Path, meta: dict, *,
                     ctx: distributed.Context | None = None, resume: bool = False) -> tuple[nn.Module, dict]:
    """Build the configured model for the data's dims, write config.yaml and train; returns (model, fit result).

    `meta` (at least "experiment") is stored in the checkpoints with the data set's name, the model
    spec and the config. The validation metrics are loss and accuracy, and the macro accuracy
    (from per-class counts) where it selects best.pt (train.monitor).
    """
    ctx = ctx or distributed.init()
    settings = train_settings(config)
    seed_all(config["seed"])
    channels = {} if data.in_channels is None else {"in_channels": data.in_channels}
    model = ModelSection.of(config).build(data.dims, **channels)
    task = Classification(num_classes=len(data.classes) if settings.monitor == "macro_accuracy" else None)
    meta = {**meta, "dataset": data.name, "model_spec": model.seqsi_spec, "config": config}
    if ctx.is_main:
        save_config(Path(run_dir) / "config.yaml", config)
    result = fit(model, task, data.train, data.val, settings, run_dir, meta, ctx=ctx, resume=resume,
                 augment=make_augment(config))
    return model, result


def robustness_rows(model: nn.Module, splits: ImageSplits, eval_cfg: dict, fields: dict, device) -> list[dict]:
    """results.csv rows: the model's accuracy on the clean and every corrupted test set."""
    scores = evaluate_classifier(model, splits.test_x, splits.test_y, suite_test_sets(eval_cfg["suite"]),
                                 seed=eval_cfg["seed"], batch_size=eval_cfg["batch_size"], device=device)
    return [{**fields, "testset": name, "metric": "accuracy", "value": m["accuracy"]} for name, m in scores.items()]
