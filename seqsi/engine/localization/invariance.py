"""The invariance experiment (paper, 2D localization): do the detections of a trained localizer move when its
test images are mapped x -> a*x + b? Written to the run folder as invariance.csv."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ...data.crops import minmax_unit
from ...localization import get_loss, predict_map
from ...photometric import LOCALIZATION_INVARIANCE_CASES
from ...report.results import write_results
from ..runcheck import load_localization_model
from .config import DTYPES, method_names, run_fields
from .data import load_items
from .scoring import detect_in, eval_copy, score_detections, set_metrics
from .threshold import read_threshold

INVARIANCE_FILE = "invariance.csv"


@torch.no_grad()
def invariance_experiment(model: nn.Module, loss, threshold: float, items: Sequence[dict], *,
                          cases=LOCALIZATION_INVARIANCE_CASES, max_dist: int = 10, dtype: torch.dtype = torch.float64,
                          device="cpu", max_pixels: int | None = None, tile: int | None = None,
                          overlap: int | None = None, border: str = "ignore") -> dict[str, float]:
    """Per case (a, b), the set-level accuracy_curve[0] (counts summed over the
    images, as the paper's inv_experiment.py) of the centres found on a*x + b against those
    found on x (x min-max normalised to [0, 1], inference in `dtype`).

    1.0 means no detection moved. Keys are the case labels, e.g. "a=255, b=0".

    Args:
        model: the trained localizer; it is copied in `dtype` onto `device` (the caller's model is unchanged).
        loss: its training loss (name, LocalizationLoss or Mode), which post-processes the output maps.
        threshold: detection threshold on the post-processed maps, as fitted on the validation set.
        items: the test images, as dicts with an "image" array (BioimageDataset items, say).
        cases: the (a, b) Cases to apply; by default the paper's ten pairs.
        max_dist: matching range in pixels of the accuracy curve; acc0, its first bin, counts matches closer
            than 1 pixel.
        dtype: dtype of the network copy and of its inputs; float64 keeps rounding out of the comparison.
        device: where the model runs.
        max_pixels: images with more pixels than this are tiled (see predict_maps); None never tiles.
        tile: tile core size in pixels for tiled images; None means 128.
        overlap: context in pixels per side for tiled images; None uses the UNet's receptive-field margin.
        border: "ignore" or "zero": how neighbours outside the map compare in peak detection (see find_peaks).
    """
    loss = get_loss(loss)
    net = eval_copy(model, dtype, device)
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


__all__ = ["INVARIANCE_FILE", "invariance_experiment", "invariance_run"]
