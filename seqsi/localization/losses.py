"""Localization losses, each owning the post-processing and threshold range that go with it.

The paper trains score-map networks with BCE-with-logits (maps read through a sigmoid)
or with ZMSE (MSE between per-sample z-scores; maps read through a per-image z-score,
which is what makes SEqSI/AffEq detections invariant to a*x + b). Choosing the loss
chooses the rest, so code asks the loss object and never compares loss names.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..nn.wrappers import standardize


def _as_tensor(prediction):
    """(tensor, back) where back() returns a result in the caller's array type."""
    if isinstance(prediction, torch.Tensor):
        return prediction, lambda t: t
    array = np.asarray(prediction)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    return torch.from_numpy(np.ascontiguousarray(array)), lambda t: t.numpy()


def _check_pair(prediction: torch.Tensor, target: torch.Tensor) -> None:
    if prediction.shape != target.shape:
        raise ValueError(f"prediction and target must have the same shape; got prediction "
                         f"{tuple(prediction.shape)} and target {tuple(target.shape)}")


class LocalizationLoss:
    """Interface: a training loss plus how to read the network's output as a score map."""

    name: str = ""

    def __call__(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def postprocess(self, output):
        """One image's output map (numpy array or tensor, any shape) -> score map, same type."""
        tensor, back = _as_tensor(output)
        return back(self.postprocess_batch(tensor[None])[0])

    def postprocess_batch(self, output: torch.Tensor) -> torch.Tensor:
        """A batch (N, ...) of outputs -> score maps, image by image."""
        raise NotImplementedError

    def threshold_bounds(self, maps: Sequence[np.ndarray], zscore_range=(0.5, 5.0)) -> tuple[float, float]:
        """Search interval for the detection threshold on post-processed validation maps."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class BCELoss(LocalizationLoss):
    """BCE-with-logits against the score map; maps are probabilities (sigmoid).

    Not invariant to a*x + b: the sigmoid sees the scale of the logits.
    """

    name = "bce"

    def __call__(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(prediction, target)
        return F.binary_cross_entropy_with_logits(prediction, target)

    def postprocess_batch(self, output: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(output)

    def threshold_bounds(self, maps: Sequence[np.ndarray], zscore_range=None) -> tuple[float, float]:
        """[0.1, 0.95] x the largest predicted probability over the validation maps
        (`zscore_range` is for z-score maps and is ignored here)."""
        top = max((float(np.max(m)) for m in maps if np.size(m)), default=0.0)
        return 0.1 * top, 0.95 * top


class ZMSELoss(LocalizationLoss):
    """MSE between the per-sample z-scores of prediction and target; maps are z-scores.

    Both z-scores use the sample (unbiased, n - 1) standard deviation, as the paper's code.

    The z-score removes a*x + b from a SEqSI/AffEq output, so detections are invariant.
    A sample with no spread (e.g. an empty target) z-scores to zeros, not NaN.
    """

    name = "zmse"

    def __call__(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(prediction, target)
        if prediction.ndim < 2:
            raise ValueError(f"ZMSE needs a batch (N, ...) of samples; got shape {tuple(prediction.shape)}")
        target = target.to(prediction.dtype)
        return F.mse_loss(standardize(prediction, unbiased=True), standardize(target, unbiased=True))

    def postprocess_batch(self, output: torch.Tensor) -> torch.Tensor:
        return standardize(output, unbiased=True)

    def threshold_bounds(self, maps: Sequence[np.ndarray], zscore_range=(0.5, 5.0)) -> tuple[float, float]:
        """`zscore_range` in z-score units, whatever the maps: the paper's (0.5, 5) in 2D and
        (0.5, 20) in 3D (a perfect prediction of a paper-size volume peaks near z = 21.7)."""
        low, high = (float(v) for v in zscore_range)
        return low, high


LOSSES: dict[str, type[LocalizationLoss]] = {"bce": BCELoss, "zmse": ZMSELoss}
_ALIASES = {"bce_with_logits": "bce", "bcewithlogits": "bce", "nmse": "zmse", "normalized_mse": "zmse",
            "z_mse": "zmse"}


def get_loss(name) -> LocalizationLoss:
    """A loss from its name, a loss object (returned as is), or a Mode (its paper loss)."""
    if isinstance(name, LocalizationLoss):
        return name
    name = getattr(name, "default_loss", name)  # a seqsi.nn.Mode names the loss the paper pairs it with
    if not isinstance(name, str):
        raise TypeError(f"loss must be a name, a LocalizationLoss or a Mode; got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in LOSSES:
        raise ValueError(f"unknown localization loss {name!r}; valid losses: {sorted(LOSSES)} "
                         f"(aliases: {sorted(_ALIASES)})")
    return LOSSES[key]()
