"""Random training crops that contain an object, for 2D images and 3D volumes alike (paper, 2D and 3D).

The paper draws a random patch and redraws while its score-map maximum is below 0.5 (no
object centre in it). Done literally, that loops forever on an image without objects and
for long on a sparse one, so here:
- an image whose whole score map stays below `min_score` is excluded up front, with a
  warning naming it; if no image is left it is an error;
- at most `max_redraws` uniform draws are tried; then the crop is placed around a random
  pixel with score >= `min_score` (uniform offset), which always contains an object.
  With the paper's data the first draws succeed almost always, so the fallback changes
  nothing there and only bounds the time on sparse images.
- an image smaller than the patch along an axis is padded by mirroring (numpy "reflect",
  repeated as needed) on both sides, image and score map alike, so the padded part looks
  like microscopy and its targets stay consistent; `pad="error"` refuses it instead,
  naming the image. An image padded to twice its size or more gets a warning with the factor;
  beyond MAX_PAD_FACTOR (8) it is refused unless `pad="reflect_any"`.
Each crop is min-max normalised to [0, 1] on its own; a constant crop becomes zeros (there
is no contrast to stretch), never NaN. Photometric augmentation comes after this
normalisation, on the batch (see seqsi.engine.localization), as in the paper.

Crops are a pure function of (seed, epoch, item index): `set_epoch` (called by the
trainer) draws new crops each epoch, a resumed run draws the same ones, and DataLoader
workers need no shared state. A validation set simply never calls `set_epoch`, so its
crops are the same every epoch.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

PAD_MODES = ("reflect", "reflect_any", "error")
MAX_PAD_FACTOR = 8.0  # a padded image more than this many times its own size is refused (pad="reflect")
WARN_PAD_FACTOR = 2.0


def minmax_unit(x: np.ndarray) -> np.ndarray:
    """(x - min) / (max - min) as float32; a constant array maps to zeros."""
    x = np.asarray(x, dtype=np.float32)
    low, high = float(x.min()), float(x.max())
    if not high > low:
        return np.zeros_like(x)
    return (x - low) / np.float32(high - low)


def patch_shape(patch: int | Sequence[int], ndim: int) -> tuple[int, ...]:
    """One int or `ndim` ints -> a per-axis patch size, all >= 1."""
    values = (patch,) * ndim if np.ndim(patch) == 0 else tuple(patch)
    if len(values) != ndim or any(int(v) != v or int(v) < 1 for v in values):
        raise ValueError(f"patch must be one positive int or {ndim} positive ints for {ndim}D data; got {patch!r}")
    return tuple(int(v) for v in values)


def padding_factor(shape: Sequence[int], patch: Sequence[int]) -> float:
    """How many times larger than the image its copy padded up to the patch is (1.0: no padding)."""
    return float(np.prod([max(s, p) / s for s, p in zip(shape, patch)]))


def check_padding(shapes: dict[str, tuple[int, ...]], patch: Sequence[int], pad: str) -> None:
    """Warn when images are padded to WARN_PAD_FACTOR times their size or more (most of every crop is
    mirrored copy, and each epoch costs that much more); refuse beyond MAX_PAD_FACTOR unless
    pad="reflect_any"."""
    factors = {name: padding_factor(shape, patch) for name, shape in shapes.items()}
    name = max(factors, key=factors.get, default=None)
    if name is None or factors[name] < WARN_PAD_FACTOR or pad == "error":
        return
    others = sum(f >= WARN_PAD_FACTOR for f in factors.values()) - 1
    what = (f"patch {tuple(patch)} is {factors[name]:.3g} times the size of {name} (shape {shapes[name]})"
            + (f", and padding grows {others} other image(s) two-fold or more" if others else ""))
    if factors[name] > MAX_PAD_FACTOR and pad != "reflect_any":
        raise ValueError(f"{what}: mirror-padding it that much trains on copies; use a patch at most the image size "
                         f"(crops.patch), or crops.pad=reflect_any to pad anyway")
    warnings.warn(f"{what}: it is mirror-padded, {factors[name]:.3g} times the data per crop", stacklevel=3)


def pad_to_patch(array: np.ndarray, patch: Sequence[int], name: str, mode: str = "reflect") -> np.ndarray:
    """Mirror-pad `array` up to `patch` along each axis that is shorter (both sides)."""
    missing = [max(p - s, 0) for s, p in zip(array.shape, patch)]
    if not any(missing):
        return array
    if mode == "error":
        raise ValueError(f"{name}: shape {array.shape} is smaller than the patch {tuple(patch)}; use a smaller "
                         "patch or pad='reflect'")
    if array.size and min(array.shape) < 2:
        return np.pad(array, [(m // 2, m - m // 2) for m in missing], mode="edge")
    return np.pad(array, [(m // 2, m - m // 2) for m in missing], mode="reflect")


class ObjectCrops(Dataset):
    """(x, y) pairs of shape (1, *patch): a normalised image crop and its score-map crop."""

    def __init__(self, images: Sequence[np.ndarray], scores: Sequence[np.ndarray], patch: int | Sequence[int], *,
                 names: Sequence[str] | None = None, crops_per_image: int = 1, min_score: float = 0.5,
                 max_redraws: int = 100, seed: int = 0, pad: str = "reflect") -> None:
        images, scores = list(images), list(scores)
        names = list(names) if names is not None else [f"image {i}" for i in range(len(images))]
        if not images:
            raise ValueError("ObjectCrops needs at least one image")
        if len(scores) != len(images) or len(names) != len(images):
            raise ValueError(f"got {len(images)} images, {len(scores)} score maps and {len(names)} names")
        if pad not in PAD_MODES:
            raise ValueError(f"pad must be one of {PAD_MODES}; got {pad!r}")
        if int(crops_per_image) != crops_per_image or crops_per_image < 1 or max_redraws < 0:
            raise ValueError(f"crops_per_image must be >= 1 and max_redraws >= 0; got {crops_per_image}, {max_redraws}")
        ndim = np.ndim(images[0])
        self.patch = patch_shape(patch, ndim)
        self.min_score, self.max_redraws, self.seed = float(min_score), int(max_redraws), int(seed)
        self.crops_per_image, self.epoch = int(crops_per_image), 0
        self.images, self.scores, self.names, self.excluded = [], [], [], []
        self._hot: dict[int, np.ndarray] = {}
        check_padding({n: tuple(np.shape(i)) for i, n in zip(images, names) if np.ndim(i) == ndim and np.size(i)},
                      self.patch, pad)
        for image, score, name in zip(images, scores, names):
            image, score = np.asarray(image), np.asarray(score)
            if image.ndim != ndim:
                raise ValueError(f"{name}: {image.ndim}D, but the first image is {ndim}D")
            if image.shape != score.shape:
                raise ValueError(f"{name}: image shape {image.shape} differs from its score map's {score.shape}")
            if not score.size or float(score.max()) < self.min_score:
                self.excluded.append(name)
                continue
            self.images.append(pad_to_patch(image, self.patch, name, pad))
            self.scores.append(pad_to_patch(score.astype(np.float32, copy=False), self.patch, name, pad))
            self.names.append(name)
        if self.excluded:
            warnings.warn(f"{len(self.excluded)} image(s) hold no object (score map max < {self.min_score:g}) and "
                          f"are not used for training crops: {', '.join(self.excluded[:5])}"
                          f"{' ...' if len(self.excluded) > 5 else ''}", stacklevel=2)
        if not self.images:
            raise ValueError(f"no image holds an object (score map max >= {self.min_score:g}) among "
                             f"{len(self.excluded)} image(s): nothing to crop")

    def __len__(self) -> int:
        return len(self.images) * self.crops_per_image

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _hot_pixels(self, k: int) -> np.ndarray:
        if k not in self._hot:
            self._hot[k] = np.flatnonzero(self.scores[k] >= self.min_score)
        return self._hot[k]

    def crop_start(self, index: int) -> tuple[int, tuple[int, ...]]:
        """(image index, corner of the crop) of item `index` in the current epoch."""
        k = index % len(self.images)
        score = self.scores[k]
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, self.epoch, index]))
        room = np.array(score.shape) - np.array(self.patch) + 1
        for _ in range(self.max_redraws):
            start = tuple(int(v) for v in rng.integers(0, room))
            if score[tuple(slice(s, s + p) for s, p in zip(start, self.patch))].max() >= self.min_score:
                return k, start
        hot = self._hot_pixels(k)
        centre = np.unravel_index(hot[rng.integers(len(hot))], score.shape)
        start = tuple(int(min(max(c - rng.integers(0, p), 0), r - 1)) for c, p, r in zip(centre, self.patch, room))
        return k, start

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        k, start = self.crop_start(index)
        window = tuple(slice(s, s + p) for s, p in zip(start, self.patch))
        x = minmax_unit(self.images[k][window])
        y = np.ascontiguousarray(self.scores[k][window], dtype=np.float32)
        return torch.from_numpy(x)[None], torch.from_numpy(y)[None]


__all__ = ["MAX_PAD_FACTOR", "ObjectCrops", "PAD_MODES", "check_padding", "minmax_unit", "pad_to_patch", "padding_factor",
           "patch_shape"]
