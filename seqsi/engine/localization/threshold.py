"""The detection threshold of a run: fitted on its validation images after training, stored
in the run folder (threshold.json), read back by every evaluation."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch.nn as nn

from ...io import write_json
from ...localization import fit_threshold, get_loss, predict_map
from ..checkpoint import load_model
from .config import DTYPES, method_names
from .data import altered_validation_images, reference_centres, training_items
from .scoring import eval_copy

THRESHOLD_FILE = "threshold.json"


def fit_run_threshold(model: nn.Module, loss, items: Sequence[dict], config: Mapping, device="cpu") -> dict:
    """Fit the detection threshold on whole validation images (min-max normalised, altered
    with the run's group when threshold.augment); the set-level score is maximised."""
    loss = get_loss(loss)
    threshold_cfg, eval_cfg = config["threshold"], config["eval"]
    dtype = DTYPES[threshold_cfg.get("dtype") or eval_cfg["dtype"]]  # 3D: the paper fits in float32, tests in float64
    net = eval_copy(model, dtype, device)
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


def read_threshold(run_dir: str | os.PathLike) -> float:
    path = Path(run_dir) / THRESHOLD_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the run has no fitted threshold (did training finish? "
                                "train.py --fit_threshold_only refits it)")
    return float(json.loads(path.read_text())["threshold"])


__all__ = ["THRESHOLD_FILE", "fit_and_store_threshold", "fit_run_threshold", "read_threshold"]
