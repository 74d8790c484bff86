"""The demo's classification half: every mode trained on scikit-learn's digits, then tested
on the corruption suite, on sweeps of the intensity scale a and shift b, and certified."""
from __future__ import annotations

import copy
from pathlib import Path

import torch
from tqdm import tqdm

from ...engine.checkpoint import load_model
from ...engine.classification import load_splits, robustness_rows, train_classifier
from ...engine.evaluate import evaluate_classifier
from ...invariance import audit
from ...nn.modes import get_mode
from ...photometric import scale_sweep, shift_sweep
from ...properties import SEQSI

EXPERIMENT = "demo-classification"


def sweep_rows(model, splits, sweeps: dict, mode_name: str) -> list[dict]:
    """Accuracy on the whole test set for each a (b = 0) and each b (a = 1), in the sweep's dtype."""
    dtype = getattr(torch, sweeps["dtype"])
    model = copy.deepcopy(model).to(dtype)
    images = splits.test_x.to(dtype)
    cases = [("scale", c) for c in scale_sweep(sweeps["scale_points"])]
    low, high = sweeps["shift_range"]
    cases += [("shift", c) for c in shift_sweep(sweeps["shift_points"], low, high)]
    rows = []
    for kind, case in cases:
        acc = evaluate_classifier(model, images, splits.test_y, [(case.label, case.corruption())])[case.label]
        rows.append({"method": mode_name, "sweep": kind, "a": case.a, "b": case.b, "accuracy": acc["accuracy"]})
    return rows


def certify(model, splits, mode) -> dict:
    """The audit of a trained model: its own promise, or SEqSI's for a mode that promises nothing."""
    prop = mode.property or SEQSI
    report = audit(model, splits.test_x[:8].double(), prop)
    return {"method": mode.name, "property": prop.formula, "passed": report.passed,
            "worst_relative_error": report.worst_output_error,
            "first_break": f"{report.first_break.name} ({report.first_break.kind})" if report.first_break else "",
            "reason": report.reason or "", "table": report.table()}


def run(config: dict, out: Path, progress: bool = True) -> dict:
    cfg = config["classification"]
    splits = load_splits(cfg["data"])
    results, sweeps, certificates = [], [], []
    for name in tqdm(config["modes"], desc="classification: modes", disable=not progress):
        mode = get_mode(name)
        run_cfg = copy.deepcopy({k: v for k, v in cfg.items() if k != "sweeps"})
        run_cfg["model"]["mode"] = mode.name
        run_cfg["train"]["progress"] = False
        run_cfg["seed"] = config["seed"]
        run_dir = out / "runs" / "classification" / mode.name
        train_classifier(run_cfg, splits.holdout(run_cfg["data"]["val_fraction"], run_cfg["seed"]), run_dir,
                         {"experiment": EXPERIMENT})
        model = load_model(run_dir / "best.pt", EXPERIMENT)
        results += robustness_rows(model, splits, cfg["eval"], {"method": mode.name, "seed": config["seed"]}, "cpu")
        sweeps += sweep_rows(model, splits, cfg["sweeps"], mode.name)
        certificates.append(certify(model, splits, mode))
    return {"results": results, "sweeps": sweeps, "certificates": certificates,
            "test_images": len(splits.test_y), "train_images": len(splits.train_y)}
