"""Object localization experiments (2D and 3D alike): train, fit the threshold, evaluate, invariance.

One config schema serves both experiment folders (`object_localization/2D|3D/configs/*.yaml`)
and programmatic callers such as the demo (`tiny_config`):

    data:      root, dims, val_count, val_seed, spacing, centroids (exact | paper)
    model:     name, mode, reparam (avg | telescopic), loss (null: the mode's paper loss), widths,
               blocks, post_activation
    crops:     patch, crops_per_image, val_crops_per_image, min_score, max_redraws, pad, val_redraw
    augment:   suite, group, validation                         (photometric, per crop, after min-max)
    train:     seqsi.engine.TrainSettings fields
    threshold: max_dist, search (brent | grid), maxiter, points, rounds, zscore_range, augment, dtype (null: eval's)
    eval:      suite, test_sets, artifact_sets, artifact_masks, seed, max_dist, dtype,
               max_pixels, batch_size, tile, overlap, border (ignore | zero)
    invariance: max_dist, dtype

Every score of a set of images (test sets, the threshold fit, the invariance experiment) is
the paper's set-level one: TP, n_pred and n_ref summed over the images, one accuracy curve
(seqsi.localization.set_accuracy_curve); per_image.csv keeps each image's own numbers.

A run folder holds config.yaml, best.pt / last.pt / metrics.csv (seqsi.engine.fit),
threshold.json (the fitted detection threshold: eval reads it from there), results.csv,
per_image.csv and overlays/. Images are min-max normalised to [0, 1] before any alteration,
as in the paper; every model sees identical corrupted images (`test_set_generator`). An
image without signal (a constant one, seqsi.localization.signal) yields no detections in
every mode and under every alteration, decided on the network's input (`detect_in`).
"""
from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..data.bioimage import MASKS, BioimageDataset, artifact_folder_name, artifact_sets
from ..data.crops import ObjectCrops, minmax_unit
from ..io import read_csv, write_csv, write_json
from ..localization import (curve_from_counts, detect_centres, fit_threshold, get_loss, label_centres, match_counts,
                            predict_tiled, unet_receptive_margin)
from ..localization.signal import has_signal, no_detections
from ..models import build_model
from ..models.unet import UNet
from ..nn import get_mode
from ..photometric import LOCALIZATION_INVARIANCE_CASES, load_suite, training_augmentation
from . import distributed
from .checkpoint import load_model
from .runcheck import load_localization_model, transfer_folder
from .config import save_config
from .evaluate import test_set_generator
from .seeding import derive_seed, seed_all
from .tasks import MapRegression
from .trainer import TrainSettings, fit

THRESHOLD_FILE = "threshold.json"
PER_IMAGE_FILE = "per_image.csv"
INVARIANCE_FILE = "invariance.csv"
DTYPES = {"float32": torch.float32, "float64": torch.float64}


# ----------------------------------------------------------------------------- config

MODEL_KEYS = ("name", "mode", "reparam", "loss")  # the model config keys that are not UNet arguments
CENTROIDS = ("exact", "paper")


def method_names(config: Mapping) -> tuple[Any, Any]:
    """(Mode, LocalizationLoss) of a config: the loss defaults to the one the paper pairs with the mode.

    model.reparam (avg | telescopic) applies to the modes with constrained kernels (the
    paper's localization networks are telescopic); a mode name with its own suffix wins.
    """
    mode = get_mode(config["model"]["mode"])
    reparam = config["model"].get("reparam")
    if reparam and mode.constrained and mode.reparam == "avg" and not str(config["model"]["mode"]).endswith("_avg"):
        mode = get_mode(mode, reparam)
    loss = get_loss(config["model"].get("loss") or mode)
    return mode, loss


def reference_centres(item: Mapping, data_cfg: Mapping) -> np.ndarray:
    """The centres an item is scored against: exact centroids, or with data.centroids=paper
    the paper's biased 3D centres (seqsi.localization.biased_label_centres)."""
    rule = data_cfg.get("centroids") or "exact"
    if rule not in CENTROIDS:
        raise ValueError(f"data.centroids must be one of {CENTROIDS}; got {rule!r}")
    if rule == "exact" or item.get("mask") is None:
        return item["centres"]
    return label_centres(item["mask"], biased=True)


def run_dir_for(config: Mapping, explicit: str | os.PathLike | None = None) -> Path:
    """`<out>/<mode>-<loss>/<augmentation group>/seed<N>` (or the explicit folder)."""
    if explicit is not None:
        return Path(explicit)
    mode, loss = method_names(config)
    return Path(config["out"]) / f"{mode.name}-{loss.name}" / config["augment"]["group"] / f"seed{config['seed']}"


def run_fields(config: Mapping) -> dict:
    """The identifying columns of every results row of a run."""
    mode, loss = method_names(config)
    return {"experiment": config["experiment"], "method": mode.name, "loss": loss.name,
            "aug": config["augment"]["group"], "seed": config["seed"]}


def tiny_config(data_root: str | os.PathLike, dims: int = 2, mode: str = "seqsi", loss: str | None = None,
                out: str | os.PathLike = "runs/localization", seed: int = 1) -> dict:
    """A complete config with CPU-seconds settings, for demos and tests.

    The experiment folders' YAML files hold the paper's settings (and their own quick
    presets); this one trains a 3-level UNet (8/16/32 channels, 1 block) for a few epochs
    with lr 1e-3, ten times the paper's, so that something is learned in seconds (avg kernels,
    model.reparam null, so that run names are the plain mode names; otherwise the paper's protocol): training
    takes about 15 s per 2D model and 25 s per 3D model on one CPU core.
    """
    flat = dims == 2
    return {
        "experiment": f"loc{dims}d", "out": str(out), "seed": seed,
        "data": {"root": str(data_root), "dims": dims, "val_count": 25, "val_seed": 0, "spacing": None,
                 "centroids": "exact"},
        "model": {"name": "drunet", "mode": mode, "reparam": None, "loss": loss, "widths": [8, 16, 32],
                  "blocks": 1, "post_activation": not flat},
        "crops": {"patch": 64 if flat else [16, 32, 32], "crops_per_image": 16 if flat else 4,
                  "val_crops_per_image": 8 if flat else 4, "min_score": 0.5, "max_redraws": 100, "pad": "reflect",
                  "val_redraw": True},
        "augment": {"suite": "fluo3d", "group": "none", "validation": True},
        "train": {"epochs": 40 if flat else 30, "batch_size": 16 if flat else 4, "optimizer": "adamw", "lr": 1e-3,
                  "weight_decay": 0.01, "schedule": "constant", "clip_grad_value": None if flat else 1.0,
                  "monitor": "loss", "monitor_mode": "min", "progress": False},
        "threshold": {"max_dist": 12 if flat else 6, "search": "brent" if flat else "grid", "maxiter": 10,
                      "points": 11, "rounds": 3, "zscore_range": [0.5, 5.0] if flat else [0.5, 20.0],
                      "augment": not flat},
        "eval": {"suite": "fluo3d", "test_sets": None, "artifact_sets": "folders", "artifact_masks": "own",
                 "seed": 0, "max_dist": 12 if flat else 6, "dtype": "float32", "max_pixels": 4_194_304,
                 "batch_size": 4, "tile": 128 if flat else 64, "overlap": None, "border": "zero"},
        "invariance": {"max_dist": 10 if flat else 6, "dtype": "float64"},
    }


# ----------------------------------------------------------------------------- data

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


# ----------------------------------------------------------------------------- inference

def unet_geometry(model: nn.Module) -> tuple[int, int]:
    """(levels, blocks) of the UNet inside a model (behind any invariance wrapper)."""
    unet = next((m for m in model.modules() if isinstance(m, UNet)), None)
    if unet is None:
        raise ValueError(f"{type(model).__name__} holds no UNet: tiled inference needs its down-sampling geometry")
    return unet.levels, len(unet.body)


def _round_up(value: int, step: int) -> int:
    return int(math.ceil(value / step) * step)


@torch.no_grad()
def predict_maps(model: nn.Module, images: Sequence[np.ndarray | torch.Tensor], *, dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu", max_pixels: int | None = None, tile: int | None = None,
                 overlap: int | None = None, batch_size: int = 1) -> list[np.ndarray]:
    """Raw output maps (spatial shape of each image) of a model already in `dtype` and on `device`.

    Images of equal shape are run `batch_size` at a time. Images with more than
    `max_pixels` pixels go through `predict_tiled`, with tiles on the UNet's down-sampling
    grid and, by default, the exact receptive-field overlap, so the result equals the
    whole-image prediction (up to rounding; see predict_tiled).
    """
    arrays = [i.detach().cpu().numpy() if isinstance(i, torch.Tensor) else np.asarray(i) for i in images]
    outputs: list[np.ndarray | None] = [None] * len(arrays)
    whole: dict[tuple[int, ...], list[int]] = {}
    for k, array in enumerate(arrays):
        if max_pixels is None or array.size <= max_pixels:
            whole.setdefault(array.shape, []).append(k)
            continue
        levels, blocks = unet_geometry(model)
        align = 2**levels
        margin = _round_up(unet_receptive_margin(levels, blocks) if overlap is None else overlap, align)
        outputs[k] = predict_tiled(model, array, _round_up(tile or 128, align), margin, align=align, device=device,
                                   dtype=dtype)
    for indices in whole.values():
        for first in range(0, len(indices), max(1, batch_size)):
            chunk = indices[first:first + max(1, batch_size)]
            x = torch.stack([torch.as_tensor(arrays[k], dtype=dtype) for k in chunk])[:, None].to(device)
            for k, y in zip(chunk, model(x)[:, 0].cpu().numpy()):
                outputs[k] = y
    return outputs


def predict_map(model: nn.Module, image: np.ndarray | torch.Tensor, **kwargs) -> np.ndarray:
    """One image's raw output map (see predict_maps)."""
    return predict_maps(model, [image], **kwargs)[0]


def detect_in(output: np.ndarray, image, loss, threshold: float, border: str = "zero") -> np.ndarray:
    """Centres found in `output`, the map of `image`; none for an image without signal
    (seqsi.localization.signal: decided on the input, so x and a*x + b get the same answer)."""
    if not has_signal(image):
        return no_detections(np.ndim(output))
    return detect_centres(output, loss, threshold, border=border)


def _eval_model(model: nn.Module, dtype: torch.dtype, device) -> nn.Module:
    """A copy in `dtype` on `device`, in eval mode (the caller's model is left as it is)."""
    return copy.deepcopy(model).to(device=device, dtype=dtype).eval()


def fit_run_threshold(model: nn.Module, loss, items: Sequence[dict], config: Mapping, device="cpu") -> dict:
    """Fit the detection threshold on whole validation images (min-max normalised, altered
    with the run's group when threshold.augment); the set-level score is maximised."""
    loss = get_loss(loss)
    threshold_cfg, eval_cfg = config["threshold"], config["eval"]
    dtype = DTYPES[threshold_cfg.get("dtype") or eval_cfg["dtype"]]  # 3D: the paper fits in float32, tests in float64
    net = _eval_model(model, dtype, device)
    outputs = [predict_map(net, x, dtype=dtype, device=device, max_pixels=eval_cfg["max_pixels"],
                           tile=eval_cfg["tile"], overlap=eval_cfg["overlap"])
               for x in altered_validation_images(items, config)]
    threshold, score = fit_threshold(
        outputs, [reference_centres(i, config["data"]) for i in items], loss, threshold_cfg["max_dist"],
        search=threshold_cfg.get("search", "brent"), maxiter=threshold_cfg.get("maxiter", 10),
        points=threshold_cfg.get("points", 11), rounds=threshold_cfg.get("rounds", 3),
        zscore_range=threshold_cfg.get("zscore_range") or (0.5, 5.0), border=eval_cfg.get("border", "ignore"),
        return_score=True)
    return {"threshold": threshold, "val_score": score, "loss": loss.name, "max_dist": threshold_cfg["max_dist"],
            "search": threshold_cfg.get("search", "brent"), "augmented": bool(threshold_cfg.get("augment")),
            "val_images": [i["name"] for i in items]}


def read_threshold(run_dir: str | os.PathLike) -> float:
    path = Path(run_dir) / THRESHOLD_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the run has no fitted threshold (did training finish? "
                                "train.py --fit_threshold_only refits it)")
    return float(json.loads(path.read_text())["threshold"])


# ----------------------------------------------------------------------------- training

def train_localizer(config: dict, run_dir: str | os.PathLike | None = None, *, ctx: distributed.Context | None = None,
                    resume: bool = False) -> dict:
    """Train one score-map network, keep the best-val-loss checkpoint, fit its threshold.

    Returns {"run_dir", "best", "best_epoch", "threshold", "val_score"}. Writes the run
    folder described in the module docstring (only rank 0 writes under torchrun).
    """
    ctx = ctx or distributed.init()
    mode, loss = method_names(config)
    config = copy.deepcopy(config)
    config["model"]["mode"], config["model"]["loss"] = mode.name, loss.name
    run_dir = run_dir_for(config, run_dir)
    train_items, val_items = training_items(config["data"])
    seed_all(config["seed"])
    model_cfg = {k: v for k, v in config["model"].items() if k not in MODEL_KEYS}
    model = build_model(config["model"]["name"], mode, int(config["data"]["dims"]), **model_cfg)
    train_set = crop_set(train_items, config["crops"], config["seed"])
    val_set = validation_crops(val_items, config)
    settings = TrainSettings.from_dict({**config["train"], "seed": config["seed"]})
    meta = {"experiment": config["experiment"], "dataset": str(config["data"]["root"]),
            "model_spec": model.seqsi_spec, "config": config}
    if ctx.is_main:
        print(f"run {run_dir}: {mode.label} + {loss.name.upper()}, aug {config['augment']['group']}, seed "
              f"{config['seed']}; {len(train_items)} train / {len(val_items)} val images, {len(train_set)} crops of "
              f"{train_set.patch} per epoch, device {ctx.device}", flush=True)
        save_config(run_dir / "config.yaml", config)
    result = fit(model, MapRegression(loss), train_set, val_set, settings, run_dir, meta, ctx=ctx, resume=resume,
                 augment=photometric_augment(config["augment"]))
    out = {"run_dir": run_dir, "best": result["best"], "best_epoch": result["best_epoch"]}
    if ctx.is_main:
        out.update(fit_and_store_threshold(run_dir, config, val_items, ctx.device))
    distributed.barrier(ctx)
    return out


def fit_and_store_threshold(run_dir: Path, config: Mapping, val_items: Sequence[dict] | None = None,
                            device="cpu") -> dict:
    """Fit the threshold of a run's best.pt on its validation images; write threshold.json."""
    if val_items is None:
        val_items = training_items(config["data"], validation_only=True)[1]
    best = load_model(Path(run_dir) / "best.pt", config["experiment"], map_location=device)
    _, loss = method_names(config)
    record = fit_run_threshold(best, loss, val_items, config, device)
    write_json(Path(run_dir) / THRESHOLD_FILE, record)
    print(f"threshold {record['threshold']:.4g} ({loss.name}), validation score {record['val_score']:.4f}", flush=True)
    return record


# ----------------------------------------------------------------------------- evaluation

def curve_metrics(curve: np.ndarray) -> dict:
    """score (mean of the accuracy curve), acc0 (its first bin) and F1 at max_dist."""
    last = float(curve[-1])
    return {"score": float(np.mean(curve)), "acc0": float(curve[0]), "f1": 2 * last / (1 + last)}


def score_detections(pred: np.ndarray, ref: np.ndarray, max_dist: int) -> dict:
    """One image's metrics (curve_metrics) and counts: n_pred, n_ref, n_match (matches
    within max_dist). The counts of a set add up to its set-level curve."""
    tp, n_pred, n_ref = match_counts(pred, ref, max_dist)
    return {**curve_metrics(curve_from_counts(tp, n_pred, n_ref)), "n_pred": n_pred, "n_ref": n_ref,
            "n_match": int(tp[-1]), "tp": tp}


def set_metrics(details: Sequence[dict]) -> dict:
    """curve_metrics of the set-level curve of per-image score_detections results."""
    tp = np.sum([d["tp"] for d in details], axis=0)
    return curve_metrics(curve_from_counts(tp, sum(d["n_pred"] for d in details), sum(d["n_ref"] for d in details)))


def test_sets_of(eval_cfg: Mapping, dims: int) -> list[tuple[str, Any]]:
    """(name, corruption) of the suite's alterations: config test_sets, or the suite's list
    minus the in-memory artifact entries (artifact sets come from folders, see below) and
    anything that does not support `dims`."""
    suite = load_suite(eval_cfg["suite"])
    names = eval_cfg.get("test_sets") or suite.test_set_names()
    chosen = []
    for name in names:
        corruption = suite[name]
        if dims not in corruption.dims:
            raise ValueError(f"eval.test_sets: {name!r} supports {corruption.dims}D data, not {dims}D")
        chosen.append((name, corruption))
    return chosen


def artifact_test_sets(test_dir: Path, eval_cfg: Mapping, dims: int) -> list[tuple[str, Any, Path | None]]:
    """Bright-artifact test sets as (name, corruption or None, folder or None).

    artifact_sets: "folders" -> every `arti_<k>` folder under the test folder (none: none);
    "suite" -> the suite's simulated `arti_<k>` corruptions on the clean images; "none".
    """
    how = eval_cfg.get("artifact_sets", "folders")
    if how == "none":
        return []
    if how == "folders":
        return [(artifact_folder_name(k), None, folder) for k, folder in artifact_sets(test_dir).items()]
    if how == "suite":
        suite = load_suite(eval_cfg["suite"])
        return [(n, suite[n], None) for n in suite.test_set_names(artifacts=True) if dims in suite[n].dims]
    raise ValueError(f"eval.artifact_sets must be folders, suite or none; got {how!r}")


def skipped_artifact_sets(test_dir: Path, eval_cfg: Mapping, dims: int) -> list[str]:
    """The suite's artifact test sets (for `dims`) that an artifact_sets=folders evaluation has
    no `test/arti_<k>/` folder for: they are skipped, and said so."""
    if eval_cfg.get("artifact_sets", "folders") != "folders":
        return []
    suite = load_suite(eval_cfg["suite"])
    present = {artifact_folder_name(k) for k in artifact_sets(test_dir)}
    return [n for n in suite.test_set_names(artifacts=True) if dims in suite[n].dims and n not in present]


def _artifact_dataset(folder: Path, eval_cfg: Mapping, clean_masks: Path, dims: int, spacing):
    masks_dir = None
    if not (folder / MASKS).is_dir():
        if eval_cfg.get("artifact_masks", "own") != "clean":
            raise FileNotFoundError(f"{folder}: artifact set without a {MASKS}/ folder; copy the clean masks "
                                    f"there, or set eval.artifact_masks=clean to score against {clean_masks}")
        masks_dir = clean_masks
    return BioimageDataset(folder, ndim=dims, masks_dir=masks_dir, spacing=spacing)


def evaluate_localizer(model: nn.Module, loss, threshold: float, test_dir: str | os.PathLike, eval_cfg: Mapping, *,
                       dims: int, spacing: Sequence[float] | None = None, device="cpu",
                       overlay_dir: str | os.PathLike | None = None, overlay_images: Iterable[str] | None = None,
                       overlay_sets: Iterable[str] = ("none",), progress: bool = False,
                       centroids: str = "exact") -> tuple[dict, list[dict]]:
    """Score a model against ground truth on every alteration and artifact set of a test folder.

    Per test image: min-max normalise to [0, 1], alter it (generator test_set_generator(seed,
    name, image index), so every model sees the same images), predict (whole or tiled),
    post-process by the loss, detect with `threshold`, match against the mask's centroids
    within eval.max_dist. Returns ({test set: set-level metrics}, per-image rows).
    Overlays (2D image / 3D max projections, detections and ground truth) are written for
    `overlay_images` (default: the first image) on `overlay_sets` under `overlay_dir`.
    """
    loss, test_dir = get_loss(loss), Path(test_dir)
    dtype = DTYPES[eval_cfg["dtype"]]
    border = eval_cfg.get("border", "ignore")
    net = _eval_model(model, dtype, device)
    clean = BioimageDataset(test_dir, ndim=dims, spacing=spacing)
    jobs = [(name, c, None) for name, c in test_sets_of(eval_cfg, dims)] + artifact_test_sets(test_dir, eval_cfg, dims)
    skipped = skipped_artifact_sets(test_dir, eval_cfg, dims)
    if skipped:
        print(f"test sets {', '.join(skipped)} skipped: no {test_dir}/<name>/ folder (eval.artifact_sets=suite "
              "simulates them on the clean images); the tables mark them as not evaluated", flush=True)
    folders = {name: _artifact_dataset(folder, eval_cfg, test_dir / MASKS, dims, spacing)
               for name, _, folder in jobs if folder is not None}
    for name, dataset in folders.items():
        if dataset.names != clean.names:
            raise ValueError(f"{dataset.folder}: artifact set images {dataset.names[:3]}... differ from the clean "
                             f"test images {clean.names[:3]}...")
    wanted = set(overlay_images) if overlay_images is not None else {clean.names[0]}
    unknown = sorted(wanted - set(clean.names))
    if unknown:
        raise ValueError(f"overlay: no test image named {', '.join(unknown)} in {test_dir} "
                         f"(images: {', '.join(clean.names[:5])}{' ...' if len(clean) > 5 else ''})")
    overlay_sets = set(overlay_sets)
    details = []
    for index in range(len(clean)):
        item = clean.load(index, score=False)
        if progress:
            print(f"  {item['name']} ({index + 1}/{len(clean)})", flush=True)
        unit = torch.from_numpy(minmax_unit(item["image"]).astype(np.float64))
        inputs, references = [], []
        for name, corruption, folder in jobs:
            if folder is not None:
                other = folders[name].load(index, score=False)
                x = torch.from_numpy(minmax_unit(other["image"]).astype(np.float64))
                ref = reference_centres(other, {"centroids": centroids})
            else:
                x, ref = unit, reference_centres(item, {"centroids": centroids})
                if corruption is not None:
                    x = corruption(x[None, None], test_set_generator(int(eval_cfg["seed"]), name, index))[0][0, 0]
            inputs.append(x)
            references.append(ref)
        outputs = predict_maps(net, inputs, dtype=dtype, device=device, max_pixels=eval_cfg["max_pixels"],
                               tile=eval_cfg["tile"], overlap=eval_cfg["overlap"],
                               batch_size=int(eval_cfg.get("batch_size", 1)))
        for (name, _, _), x, ref, output in zip(jobs, inputs, references, outputs):
            pred = detect_in(output, x, loss, threshold, border=border)
            details.append({"image": item["name"], "testset": name,
                            **score_detections(pred, ref, int(eval_cfg["max_dist"]))})
            if overlay_dir is not None and item["name"] in wanted and name in overlay_sets:
                save_detections(x.numpy(), ref, pred, Path(overlay_dir) / name / f"{item['name']}.png",
                                title=f"{item['name']}, {name}: score {details[-1]['score']:.3f}",
                                spacing=item["spacing"])
    summary = {name: set_metrics([d for d in details if d["testset"] == name]) for name, _, _ in jobs}
    return summary, details


def save_detections(image: np.ndarray, truth: np.ndarray, detected: np.ndarray, path: str | os.PathLike, *,
                    title: str = "", spacing=None) -> None:
    """PNG of an image (2D) or the max projections of a volume (3D) with both centre sets."""
    from ..report.views import save_orthogonal_views, save_overlay_2d

    points = {"ground truth": truth, "detected": detected}
    if np.ndim(image) == 2:
        save_overlay_2d(image, path, points=points, title=title, spacing=spacing)
    else:
        save_orthogonal_views(image, path, points=points, title=title, spacing=spacing, projection="max")


def evaluation_folder(run_dir: str | os.PathLike, config: Mapping, data_root=None, out_root=None) -> Path:
    """Where evaluate_run writes: the run folder for the run's own data; for other data (or
    with `out_root`) a folder of its own (seqsi.engine.runcheck.transfer_folder)."""
    layout = run_dir_for({**config, "out": "."}).parts[-3:]
    return transfer_folder(Path(run_dir), config["data"]["root"], data_root, out_root, layout)


def evaluate_run(run_dir: str | os.PathLike, *, data_root: str | os.PathLike | None = None,
                 eval_overrides: Mapping | None = None, device="cpu", overlay_images: Iterable[str] | None = None,
                 overlay_sets: Iterable[str] = ("none",), progress: bool = False, experiment: str | None = None,
                 out_root: str | os.PathLike | None = None) -> list[dict]:
    """Evaluate a run folder's best.pt with its threshold; write results.csv, per_image.csv and
    overlays/ into `evaluation_folder` (never over the run's own results for other data)."""
    from ..report.tables import write_results

    run_dir = Path(run_dir)
    model = load_localization_model(run_dir / "best.pt", experiment, map_location=device)
    config = model.seqsi_checkpoint["config"]
    target = evaluation_folder(run_dir, config, data_root, out_root)
    eval_cfg = {**config["eval"], **(eval_overrides or {})}
    root = Path(data_root or config["data"]["root"])
    dims = int(config["data"]["dims"])
    _, loss = method_names(config)
    summary, details = evaluate_localizer(model, loss, read_threshold(run_dir), root / "test", eval_cfg, dims=dims,
                                          spacing=config["data"].get("spacing"), device=device,
                                          overlay_dir=target / "overlays", overlay_images=overlay_images,
                                          overlay_sets=overlay_sets, progress=progress,
                                          centroids=config["data"].get("centroids") or "exact")
    fields = run_fields(config)
    rows = [{**fields, "testset": name, "metric": metric, "value": value}
            for name, metrics in summary.items() for metric, value in metrics.items()]
    write_csv(target / PER_IMAGE_FILE, [{**fields, **{k: v for k, v in d.items() if k != "tp"}} for d in details])
    write_results(target / "results.csv", rows)
    return rows


# ----------------------------------------------------------------------------- invariance

@torch.no_grad()
def invariance_experiment(model: nn.Module, loss, threshold: float, items: Sequence[dict], *,
                          cases=LOCALIZATION_INVARIANCE_CASES, max_dist: int = 10, dtype: torch.dtype = torch.float64,
                          device="cpu", max_pixels: int | None = None, tile: int | None = None,
                          overlap: int | None = None, border: str = "ignore") -> dict[str, float]:
    """SPEC 4: per case (a, b), the set-level accuracy_curve[0] (counts summed over the
    images, as the paper's inv_experiment.py) of the centres found on a*x + b against those
    found on x (x min-max normalised to [0, 1], inference in `dtype`).

    1.0 means no detection moved. Keys are the case labels, e.g. "a=255, b=0".
    """
    loss = get_loss(loss)
    net = _eval_model(model, dtype, device)
    kwargs = dict(dtype=dtype, device=device, max_pixels=max_pixels, tile=tile, overlap=overlap)
    totals: dict[str, list[dict]] = {case.label: [] for case in cases}
    for item in items:
        x = torch.from_numpy(minmax_unit(item["image"]).astype(np.float64))
        reference = detect_in(predict_map(net, x, **kwargs), x, loss, threshold, border=border)
        for case in cases:
            moved_x = case.a * x + case.b
            moved = detect_in(predict_map(net, moved_x, **kwargs), moved_x, loss, threshold, border=border)
            totals[case.label].append(score_detections(moved, reference, max_dist))
    return {label: set_metrics(details)["acc0"] for label, details in totals.items()}


def invariance_run(run_dir: str | os.PathLike, *, data_root: str | os.PathLike | None = None,
                   device="cpu", experiment: str | None = None) -> list[dict]:
    """The invariance experiment on a run's test images; writes invariance.csv (metric acc0)."""
    from ..report.tables import write_results

    run_dir = Path(run_dir)
    model = load_localization_model(run_dir / "best.pt", experiment, map_location=device)
    config = model.seqsi_checkpoint["config"]
    root = Path(data_root or config["data"]["root"])
    items = load_items(root / "test", int(config["data"]["dims"]), spacing=config["data"].get("spacing"), score=False)
    _, loss = method_names(config)
    inv, ev = config["invariance"], config["eval"]
    result = invariance_experiment(model, loss, read_threshold(run_dir), items, max_dist=int(inv["max_dist"]),
                                   dtype=DTYPES[inv["dtype"]], device=device, max_pixels=ev["max_pixels"],
                                   tile=ev["tile"], overlap=ev["overlap"], border=ev.get("border", "ignore"))
    fields = run_fields(config)
    rows = [{**fields, "dtype": inv["dtype"], "testset": case, "metric": "acc0", "value": value}
            for case, value in result.items()]
    write_results(run_dir / INVARIANCE_FILE, rows)
    return rows


def read_per_image(run_dir: str | os.PathLike) -> list[dict]:
    return read_csv(Path(run_dir) / PER_IMAGE_FILE)


def find_runs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Run folders: those of the best.pt files given, or of every best.pt below given folders."""
    from .experiment import find_checkpoints

    return list(dict.fromkeys(p.parent for p in find_checkpoints([str(p) for p in paths])))


# ----------------------------------------------------------------------------- entry scripts

def add_training_arguments(parser) -> None:
    """The flags both experiment folders' train.py share (each overrides one config key)."""
    parser.add_argument("--mode", help="standard (ordinary), seq (scale-equiv), affeq (norm-equiv), seqsi, ...")
    parser.add_argument("--loss", help="bce or zmse (default: the loss the paper pairs with the mode)")
    parser.add_argument("--aug", help="photometric augmentation group of the suite (none, Aff, Naff, All)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--batch_size", type=int)
    parser.add_argument("--data_path", help="data folder in the DSB2018 layout (train/, [val/], test/)")
    parser.add_argument("--no_eval", action="store_true", help="skip the test-set evaluation after training")
    parser.add_argument("--fit_threshold_only", action="store_true",
                        help="only refit the detection threshold of an existing run's best.pt")


def training_overrides(args) -> dict:
    return {"model.mode": args.mode, "model.loss": args.loss, "augment.group": args.aug, "train.epochs": args.epochs,
            "train.lr": args.lr, "train.batch_size": args.batch_size, "data.root": args.data_path}


def training_main(default_config: str | os.PathLike, description: str, argv=None) -> int:
    """The whole of a localization train.py: flags, config, then run_training_script."""
    import argparse

    from .experiment import add_common_arguments, resolve_config

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, Path(default_config))
    add_training_arguments(parser)
    args = parser.parse_args(argv)
    return run_training_script(args, resolve_config(args, training_overrides(args)))


def evaluation_main(description: str, argv=None, experiment: str | None = None) -> int:
    """The whole of a localization eval.py: score every run found against ground truth.

    Every checkpoint is checked first (its experiment and dims, before any data is read).
    With --data_path other than the run's data, results go to a folder of their own
    (--out, by default <runs root>_on_<data name>/...), never over the run's results."""
    import argparse

    from .experiment import RESULTS, is_complete

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run folders, or folders searched for runs (best.pt)")
    parser.add_argument("--data_path", help="evaluate on another data folder (same layout); results then go to --out")
    parser.add_argument("--out", help="root of the result folders (<out>/<method-loss>/<aug>/seed<N>); default: "
                                      "the run folder for its own data, <runs root>_on_<data name> for other data")
    parser.add_argument("--artifact_sets", choices=("folders", "suite", "none"),
                        help="folders: test/arti_<k>/; suite: simulated artifacts on the clean volumes; none")
    parser.add_argument("--artifact_masks", choices=("own", "clean"),
                        help="clean: score artifact folders without masks/ against test/masks")
    parser.add_argument("--dtype", choices=("float32", "float64"), help="inference precision (default: config)")
    parser.add_argument("--max_pixels", type=int, help="images with more pixels are predicted in tiles")
    parser.add_argument("--tile", type=int, help="tile core size (pixels per axis)")
    parser.add_argument("--overlap", type=int, help="context around each tile (default: exact receptive margin)")
    parser.add_argument("--seed", type=int, help="seed of the altered test images (default: config)")
    parser.add_argument("--overlay", nargs="*", default=None, help="image names to draw (default: the first)")
    parser.add_argument("--overlay_sets", nargs="*", default=["none"], help="test sets to draw (default: none)")
    parser.add_argument("--skip_done", action="store_true", help=f"skip runs that already have {RESULTS}")
    parser.add_argument("--progress", action="store_true", help="print each image")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    device = distributed.select_device(args.device)
    keys = ("artifact_sets", "artifact_masks", "dtype", "max_pixels", "tile", "overlap", "seed")
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    jobs = []  # every checkpoint checked before any data is read or anything written
    for run in find_runs(args.runs):
        config = load_localization_model(run / "best.pt", experiment).seqsi_checkpoint["config"]
        target = evaluation_folder(run, config, args.data_path, args.out)
        if not (args.skip_done and is_complete(target)):
            jobs.append((run, target))
    for run, target in jobs:
        rows = evaluate_run(run, data_root=args.data_path, eval_overrides=overrides, device=device,
                            overlay_images=args.overlay, overlay_sets=args.overlay_sets, progress=args.progress,
                            experiment=experiment, out_root=args.out)
        scores = ", ".join(f"{r['testset']} {r['value']:.3f}" for r in rows if r["metric"] == "score")
        print(f"{run}: score {scores}" + (f" -> {target}" if target != run else ""))
    return 0


def run_training_script(args, config: dict) -> int:
    """train.py's body: sweep decision, train, fit the threshold, evaluate (rank 0)."""
    from .experiment import run_training

    mode, loss = method_names(config)
    config["model"]["mode"], config["model"]["loss"] = mode.name, loss.name
    run_dir = run_dir_for(config, args.run_dir)
    if args.fit_threshold_only:
        fit_and_store_threshold(run_dir, load_localization_model(run_dir / "best.pt", config["experiment"])
                                .seqsi_checkpoint["config"],
                                device=distributed.select_device(args.device))
        return 0

    def evaluate(ctx, _):
        rows = evaluate_run(run_dir, device=ctx.device)
        for row in rows:
            if row["metric"] == "score":
                print(f"  {row['testset']:<18} score {row['value']:.4f}")
        print(f"results: {run_dir / 'results.csv'}, overlays: {run_dir / 'overlays'}")

    def train(ctx):
        train_localizer(config, run_dir, ctx=ctx, resume=args.resume)

    return run_training(args, run_dir, config, train, evaluate)


__all__ = [
    "CENTROIDS", "DTYPES", "INVARIANCE_FILE", "PER_IMAGE_FILE", "THRESHOLD_FILE", "ValidationCrops",
    "add_training_arguments", "altered_validation_images", "artifact_test_sets", "crop_set", "curve_metrics",
    "detect_in", "evaluate_localizer", "evaluate_run", "evaluation_folder", "evaluation_main", "find_runs",
    "fit_and_store_threshold", "fit_run_threshold", "invariance_experiment", "invariance_run", "load_items",
    "method_names", "photometric_augment", "predict_map", "predict_maps", "read_per_image", "read_threshold",
    "reference_centres", "run_dir_for", "run_fields", "run_training_script", "save_detections", "score_detections",
    "set_metrics", "skipped_artifact_sets", "test_sets_of", "tiny_config", "train_localizer", "training_items",
    "training_main", "training_overrides", "unet_geometry", "validation_crops", "validation_names",
]
