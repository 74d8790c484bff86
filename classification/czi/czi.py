"""What is particular to the cryo-ET (CZII) experiment: its prepared folders, checks, metrics and results.

A run trains on the train/val splits of ONE tomogram type and is tested on the test split of
every type (domain generalisation). Its results.csv has one row per (tested type, metric).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from seqsi.data.cryoet import CLASSES, TOMO_TYPES, CryoETPatchDataset, check_split
from seqsi.io import write_csv
from seqsi.nn.modes import Mode
from seqsi.report.plots import plot_confusion_matrix

HERE = Path(__file__).resolve().parent
EXPERIMENT = "czi"
METRICS = ("accuracy", "macro_f1")
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


def datasets(config: dict) -> tuple[CryoETPatchDataset, CryoETPatchDataset]:
    data = config["data"]
    train = CryoETPatchDataset(split_folder(data["root"], data["train_type"], "train"), data["patch_size"],
                               augment=data["augment"], seed=config["seed"])
    val = CryoETPatchDataset(split_folder(data["root"], data["train_type"], "val"), data["patch_size"])
    return train, val


def load_test_split(root: str | Path, tomo_type: str, patch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole test split of one type as (patches, labels) tensors: read once, shared by every model."""
    dataset = CryoETPatchDataset(split_folder(root, tomo_type, "test"), patch_size)
    patches = torch.stack([dataset[i][0] for i in range(len(dataset))])
    return patches, torch.tensor(dataset.labels)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    return np.bincount(labels * n_classes + predictions, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def macro_f1(matrix: np.ndarray) -> float:
    """Mean per-class F1 = 2TP / (2TP + FP + FN) over the classes present in the labels or the predictions.

    Classes that never occur on either side are left out (as sklearn's f1_score does by default),
    so a test split without some class is not penalised for it.
    """
    tp = np.diag(matrix).astype(np.float64)
    denominator = 2 * tp + (matrix.sum(0) - tp) + (matrix.sum(1) - tp)
    present = denominator > 0
    return float(np.mean(2 * tp[present] / denominator[present])) if present.any() else float("nan")


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
    """results.csv rows (accuracy and macro-F1 per tested type); confusion counts and PNGs under run_dir.

    `test_data` maps each tested type to its (patches, labels). The caller writes results.csv
    last, so a run folder with results.csv is complete.
    """
    rows, counts = [], []
    for tomo_type, (patches, labels) in test_data.items():
        predictions = predict(model, patches, batch_size, device)
        matrix = confusion_matrix(labels.numpy(), predictions, len(CLASSES))
        accuracy = float(np.trace(matrix) / matrix.sum())
        f1 = macro_f1(matrix)
        rows += [{**fields, "testset": tomo_type, "metric": "accuracy", "value": accuracy},
                 {**fields, "testset": tomo_type, "metric": "macro_f1", "value": f1}]
        counts += [{"testset": tomo_type, "true": CLASSES[i], "predicted": CLASSES[j], "count": int(matrix[i, j])}
                   for i in range(len(CLASSES)) for j in range(len(CLASSES))]
        plot_confusion_matrix(matrix, CLASSES, run_dir / CONFUSION_DIR / f"{tomo_type}.png",
                              title=f"{title}, tested on {tomo_type}\n"
                                    f"accuracy {100 * accuracy:.1f} %, macro-F1 {100 * f1:.1f} %, n = {len(labels)}")
    write_csv(run_dir / CONFUSION_DIR / "counts.csv", counts)
    return rows

