"""What is particular to the cryo-ET (CZII) experiment: its prepared folders, checks, metrics and results.

A run trains on the train/val splits of ONE tomogram type and is tested on the test split of
every type (domain generalisation). Its results.csv has one row per (tested type, metric).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import sklearn.metrics
import torch

from seqsi.data.classification import TrainingData
from seqsi.data.cryoet import CLASSES, TOMO_TYPES, CryoETPatchDataset, check_split
from seqsi.engine.tasks import macro_accuracy
from seqsi.io import write_csv
from seqsi.nn.modes import Mode
from seqsi.report.plots import plot_confusion_matrix

HERE = Path(__file__).resolve().parent
EXPERIMENT = "czi"
METRICS = ("macro_accuracy", "accuracy", "macro_f1")
CONFUSION_DIR = "confusion"


class DataError(ValueError):
    """The prepared data cannot serve this run; raised before anything is written."""


def split_folder(root: str | Path, tomo_type: str, split: str) -> Path:
    return Path(root) / tomo_type / split


def check_types(types, what: str) -> list[str]:
    types = list(types)
    unknown = [t for t in types if t not in TOMO_TYPES]
    if unknown or not types:
        raise DataError(f"{what}: unknown tomogram type(s) {unknown or '(none given)'}; "
                        f"choose from {', '.join(TOMO_TYPES)}")
    if len(set(types)) != len(types):
        raise DataError(f"{what}: a tomogram type is listed twice: {types}")
    return types


def check_data(root: str | Path, train_type: str | None, test_types) -> dict[str, int]:
    """Patch counts of every split the run needs; a DataError naming the folder for any missing or empty one.

    Called before training so that a run never starts on data it cannot be tested on.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"prepared data folder {root} does not exist: run prepare_classification_data.py "
                        "(see README.md), or pass --data_root")
    needed = [(t, "test") for t in check_types(test_types, "test types")] if test_types else []
    if train_type is not None:
        check_types([train_type], "train type")
        needed = [(train_type, "train"), (train_type, "val")] + needed
    counts = {}
    for tomo_type, split in needed:
        if not (root / tomo_type).is_dir():
            prepared = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name in TOMO_TYPES)
            raise DataError(f"tomogram type {tomo_type!r} was not prepared under {root} (prepared: "
                            f"{', '.join(prepared) or 'none'}); prepare it, or choose other types")
        try:
            counts[f"{tomo_type}/{split}"] = check_split(split_folder(root, tomo_type, split))
        except (FileNotFoundError, ValueError) as err:
            raise DataError(str(err)) from None
    return counts


def training_data(config: dict) -> TrainingData:
    """The train (turned and flipped when data.augment) and val splits of the training type.

    in_channels is left to the resnet18 preset (1, the patches' one channel): the model spec stays
    what earlier runs stored, so that they resume.
    """
    data = config["data"]
    train = CryoETPatchDataset(split_folder(data["root"], data["train_type"], "train"), data["patch_size"],
                               augment=data["augment"], seed=config["seed"])
    val = CryoETPatchDataset(split_folder(data["root"], data["train_type"], "val"), data["patch_size"])
    return TrainingData(f"czi/{data['train_type']}", train, val, dims=len(train.size), classes=CLASSES)


def load_test_split(root: str | Path, tomo_type: str, patch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole test split of one type as (patches, labels) tensors: read once, shared by every model."""
    dataset = CryoETPatchDataset(split_folder(root, tomo_type, "test"), patch_size)
    patches = torch.stack([dataset[i][0] for i in range(len(dataset))])
    return patches, torch.tensor(dataset.labels)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    return sklearn.metrics.confusion_matrix(labels, predictions, labels=range(n_classes))


def scores(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> dict[str, float]:
    """The paper's metric and ours: macro accuracy (mean per-class recall, torchmetrics'
    MulticlassAccuracy(num_classes) as the paper's "accuracy"; it also selects best.pt), plain
    accuracy, and macro-F1 (sklearn's f1_score(average="macro"), as the paper's MulticlassF1Score).

    Classes neither present nor predicted are left out of both macro means; a class predicted but
    absent counts 0.
    """
    matrix = confusion_matrix(labels, predictions, n_classes)
    return {"macro_accuracy": macro_accuracy(np.diag(matrix), matrix.sum(1), matrix.sum(0)),
            "accuracy": float(np.trace(matrix) / matrix.sum()),
            "macro_f1": float(sklearn.metrics.f1_score(labels, predictions, average="macro", zero_division=0))}


@torch.no_grad()
def predict(model: torch.nn.Module, patches: torch.Tensor, batch_size: int, device) -> np.ndarray:
    model = model.to(device).eval()
    out = [model(patches[i:i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(patches), batch_size)]
    return torch.cat(out).numpy()


def run_fields(config: dict, mode: Mode) -> dict:
    return {"experiment": EXPERIMENT, "method": mode.name, "train_type": config["data"]["train_type"],
            "seed": config["seed"]}


def evaluate_run(model, test_data: dict, fields: dict, run_dir: Path, batch_size: int, device,
                 title: str) -> list[dict]:
    """results.csv rows (METRICS per tested type); confusion counts and PNGs under run_dir.

    `test_data` maps each tested type to its (patches, labels). The caller writes results.csv
    last, so a run folder with results.csv is complete.
    """
    rows, counts = [], []
    for tomo_type, (patches, labels) in test_data.items():
        predictions = predict(model, patches, batch_size, device)
        matrix = confusion_matrix(labels.numpy(), predictions, len(CLASSES))
        values = scores(labels.numpy(), predictions, len(CLASSES))
        rows += [{**fields, "testset": tomo_type, "metric": m, "value": values[m]} for m in METRICS]
        counts += [{"testset": tomo_type, "true": CLASSES[i], "predicted": CLASSES[j], "count": int(matrix[i, j])}
                   for i in range(len(CLASSES)) for j in range(len(CLASSES))]
        plot_confusion_matrix(matrix, CLASSES, run_dir / CONFUSION_DIR / f"{tomo_type}.png",
                              title=f"{title}, tested on {tomo_type}\n"
                                    f"macro acc. {100 * values['macro_accuracy']:.1f} %, "
                                    f"accuracy {100 * values['accuracy']:.1f} %, "
                                    f"macro-F1 {100 * values['macro_f1']:.1f} %, n = {len(labels)}")
    write_csv(run_dir / CONFUSION_DIR / "counts.csv", counts)
    return rows

