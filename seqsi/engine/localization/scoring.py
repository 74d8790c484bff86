"""Detections of a network and their scores, shared by the threshold fit, the evaluation and the
invariance experiment.

Every score of a set of images is the paper's set-level one: TP, n_pred and n_ref summed over
the images, one accuracy curve (seqsi.localization.set_accuracy_curve); each image's own
numbers stay beside it. An image without signal (a constant one, seqsi.localization.signal)
yields no detections in every mode and under every alteration, decided on the network's
input (`detect_in`).
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn

from ...localization import curve_from_counts, detect_centres, match_counts
from ...localization.signal import has_signal, no_detections


def eval_copy(model: nn.Module, dtype: torch.dtype, device) -> nn.Module:
    """A copy in `dtype` on `device`, in eval mode (the caller's model is left as it is)."""
    return copy.deepcopy(model).to(device=device, dtype=dtype).eval()


def detect_in(output: np.ndarray, image, loss, threshold: float, border: str = "zero") -> np.ndarray:
    """Centres found in `output`, the map of `image`; none for an image without signal
    (seqsi.localization.signal: decided on the input, so x and a*x + b get the same answer)."""
    if not has_signal(image):
        return no_detections(np.ndim(output))
    return detect_centres(output, loss, threshold, border=border)


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


__all__ = ["curve_metrics", "detect_in", "eval_copy", "score_detections", "set_metrics"]
