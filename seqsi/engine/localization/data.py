"""What a localization run reads: split folders as items, the validation hold-out, training and
validation crops, the images of the threshold fit, and the centres everything is scored against.

Images are min-max normalised to [0, 1] before any alteration, as in the paper.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ...data.bioimage import BioimageDataset
from ...data.crops import ObjectCrops, minmax_unit
from ...localization import label_centres
from ...photometric import training_augmentation
from ..seeding import derive_seed

CENTROIDS = ("exact", "paper")


def reference_centres(item: Mapping, data_cfg: Mapping) -> np.ndarray:
    """The centres an item is scored against: exact centroids, or with data.centroids=paper
    the paper's biased 3D centres (seqsi.localization.biased_label_centres)."""
    rule = data_cfg.get("centroids") or "exact"
    if rule not in CENTROIDS:
        raise ValueError(f"data.centroids must be one of {CENTROIDS}; got {rule!r}")
    if rule == "exact" or item.get("mask") is None:
        return item["centres"]
    return label_centres(item["mask"], biased=True)


def load_items(folder: str | os.PathLike, dims: int, *, names: Iterable[str] | None = None,
               spacing: Sequence[float] | None = None, masks_dir: str | os.PathLike | None = None,
               score: bool = True) -> list[dict]:
    """Every sample of a split folder (or the named ones) as BioimageDataset items; score=False
    skips the score maps, which only training needs."""
    return _items(BioimageDataset(folder, ndim=dims, spacing=spacing, masks_dir=masks_dir), names, score)


def _items(dataset: BioimageDataset, names: Iterable[str] | None, score: bool) -> list[dict]:
    index = {n: i for i, n in enumerate(dataset.names)}
    names = dataset.names if names is None else list(names)
    unknown = [n for n in names if n not in index]
    if unknown:
        raise ValueError(f"{dataset.folder}: no image(s) named {', '.join(unknown)}")
    return [dataset.load(index[n], score=score) for n in names]


def _held_out(names: Sequence[str], count: int, seed: int, folder) -> list[str]:
    if count < 1 or count >= len(names):
        raise ValueError(f"{folder}: cannot hold out {count} of {len(names)} images for validation (at least "
                         f"one must stay for training); set data.val_count or add a val/ folder")
    chosen = np.random.default_rng(seed).choice(len(names), size=count, replace=False)
    return [names[i] for i in sorted(chosen)]


def validation_names(train_dir: str | os.PathLike, count: int, seed: int) -> list[str]:
    """`count` image names of the training folder, chosen with `seed` (the paper's 25 of train)."""
    return _held_out(BioimageDataset(train_dir).names, count, seed, train_dir)


def training_items(data_cfg: Mapping, *, validation_only: bool = False) -> tuple[list[dict], list[dict]]:
    """(train, validation) items: `<root>/val` when it exists, else `val_count` images of train.

    validation_only: no training items and no score maps (fitting the threshold needs only
    the validation images and their centres)."""
    root, dims, spacing = Path(data_cfg["root"]), int(data_cfg["dims"]), data_cfg.get("spacing")
    if not (root / "train").is_dir():
        raise FileNotFoundError(f"{root}: no train/ folder; expected {root}/train/images/*.tif and "
                                f"{root}/train/masks/*.tif (the DSB2018 layout)")
    score = not validation_only
    train = BioimageDataset(root / "train", ndim=dims, spacing=spacing)
    if (root / "val").is_dir():
        val = load_items(root / "val", dims, spacing=spacing, score=score)
        return ([] if validation_only else _items(train, None, score)), val
    held = _held_out(train.names, int(data_cfg["val_count"]), int(data_cfg["val_seed"]), root / "train")
    kept = [] if validation_only else [n for n in train.names if n not in held]
    return _items(train, kept, score), _items(train, held, score)


def crop_set(items: Sequence[dict], crops_cfg: Mapping, seed: int, per_image_key: str = "crops_per_image"):
    return ObjectCrops([i["image"] for i in items], [i["score"] for i in items], crops_cfg["patch"],
                       names=[i["name"] for i in items], crops_per_image=crops_cfg[per_image_key],
                       min_score=crops_cfg["min_score"], max_redraws=crops_cfg["max_redraws"], seed=seed,
                       pad=crops_cfg["pad"])


class ValidationCrops(torch.utils.data.Dataset):
    """The validation crops of a run, as the paper's validation loader draws them.

    redraw=True: new crops every epoch (the trainer calls set_epoch), else the epoch-0 crops
    throughout. `augmentation` (the run's group, or None): each crop altered by one entry of
    the group or the identity, drawn from (seed, epoch, index), so a resumed run sees the same.
    """

    def __init__(self, crops: ObjectCrops, *, redraw: bool, augmentation=None, seed: int = 0) -> None:
        self.crops, self.redraw, self.augmentation, self.seed = crops, bool(redraw), augmentation, int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.crops)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self.crops.set_epoch(self.epoch if self.redraw else 0)

    def __getitem__(self, index: int):
        x, y = self.crops[index]
        if self.augmentation is not None:
            generator = torch.Generator().manual_seed(derive_seed(self.seed, self.epoch, index))
            x = self.augmentation(x[None], generator)[0][0]
        return x, y


def validation_crops(items: Sequence[dict], config: Mapping) -> ValidationCrops:
    """Validation crops per the config: crops.val_redraw, augment.validation (the run's group)."""
    crops = crop_set(items, config["crops"], config["seed"] + 10_000, "val_crops_per_image")
    augmentation = training_augmentation(config["augment"]) if config["augment"].get("validation") else None
    return ValidationCrops(crops, redraw=config["crops"].get("val_redraw", False), augmentation=augmentation,
                           seed=config["seed"] + 20_000)


def altered_validation_images(items: Sequence[dict], config: Mapping) -> list[np.ndarray]:
    """Min-max normalised validation images for the threshold fit; with threshold.augment
    each one altered once by an entry of the run's group or the identity (the paper's 3D fit),
    drawn from (seed, image index): the same for every refit of the run."""
    images = [minmax_unit(i["image"]) for i in items]
    augmentation = training_augmentation(config["augment"]) if config["threshold"].get("augment") else None
    if augmentation is None:
        return images
    out = []
    for k, image in enumerate(images):
        generator = torch.Generator().manual_seed(derive_seed(config["seed"] + 30_000, k))
        x = torch.from_numpy(np.ascontiguousarray(image))[None, None]
        out.append(augmentation(x, generator)[0][0, 0].numpy())
    return out


def photometric_augment(augment_cfg: Mapping):
    """The trainer's augment hook: one entry of the group (or identity) per crop, on x only."""
    augmentation = training_augmentation(augment_cfg)
    if augmentation is None:
        return None

    def augment(x, y, generator):
        return augmentation(x, generator)[0], y
    return augment


__all__ = ["CENTROIDS", "ValidationCrops", "altered_validation_images", "crop_set", "load_items",
           "photometric_augment", "reference_centres", "training_items", "validation_crops", "validation_names"]
