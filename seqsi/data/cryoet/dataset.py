"""The patch dataset of one `<prepared>/<type>/<split>` folder, checked against its metadata.csv."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ...io import read_csv
from .layout import CLASSES
from .prepare import METADATA_COLUMNS


def check_split(folder: str | Path) -> int:
    """Number of patches in a prepared split; a clear error when it is missing or empty (call before training)."""
    return len(_split_rows(Path(folder)))


def _split_rows(folder: Path) -> list[dict[str, str]]:
    metadata = folder / "metadata.csv"
    if not metadata.exists():
        raise FileNotFoundError(
            f"split folder {folder} has no metadata.csv: prepare it first (classification/czi/prepare_classification_data.py)"
        )
    rows = read_csv(metadata)
    if not rows:
        raise ValueError(f"split {folder} is empty: no patch of this tomogram type was cut for these tomograms "
                         "(missing type, or no picks); choose another type or split")
    return rows


def center_crop_or_pad(volume: np.ndarray, size) -> np.ndarray:
    """Centre-crop or pad every axis to `size`; padding uses the mean of the given volume."""
    size = tuple(size)
    if len(size) != volume.ndim:
        raise ValueError(f"size {size} does not match a volume of {volume.ndim} dims")
    crop = tuple(slice((n - s) // 2, (n - s) // 2 + s) if n > s else slice(None) for n, s in zip(volume.shape, size))
    cropped = volume[crop]
    pad = [((s - n) // 2, s - n - (s - n) // 2) if n < s else (0, 0) for n, s in zip(cropped.shape, size)]
    if any(p != (0, 0) for p in pad):
        cropped = np.pad(cropped, pad, constant_values=float(volume.mean()))
    return cropped


def augment(volume: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The paper's training augmentation: with p = 0.5 a quarter turn k in {1, 2, 3} in the (z, x)
    or (z, y) plane (z, the beam axis, is never turned into the slab), then with p = 0.5 a flip
    on one of the three axes.

    A plane that is not square only takes k = 2, so that the shape never changes (the paper's
    patches are cubes).
    """
    if rng.random() < 0.5:
        plane = ((0, 2), (0, 1))[rng.integers(2)]
        square = volume.shape[plane[0]] == volume.shape[plane[1]]
        volume = np.rot90(volume, int(rng.integers(1, 4)) if square else 2, axes=plane)
    if rng.random() < 0.5:
        volume = np.flip(volume, axis=int(rng.integers(volume.ndim)))
    return volume


class CryoETPatchDataset(Dataset):
    """(patch (1, D, H, W) float32, class id) pairs of one prepared split folder.

    Every patch file is checked at construction (exists, float32, shape as in metadata.csv) so
    that a broken data set fails before training, naming the file. Augmentation draws from a
    generator seeded by (seed, epoch, index): reproducible whatever the number of workers;
    call `set_epoch` each epoch.
    """

    def __init__(self, folder: str | Path, size=None, *, augment: bool = False, seed: int = 0,
                 classes=CLASSES):
        self.folder = Path(folder)
        rows = _split_rows(self.folder)
        absent = [c for c in METADATA_COLUMNS if c not in rows[0]]
        if absent:
            raise ValueError(f"{self.folder / 'metadata.csv'} lacks columns {absent}")
        self.classes = tuple(classes)
        self.paths = [self.folder / r["patch"] for r in rows]
        self.labels = [int(r["class_id"]) for r in rows]
        for r, label in zip(rows, self.labels):
            if not 0 <= label < len(self.classes) or self.classes[label] != r["class_name"]:
                raise ValueError(f"{self.folder / 'metadata.csv'}: class id {label} / name {r['class_name']!r} "
                                 f"of {r['patch']} do not match the classes {self.classes}")
        for path, r in zip(self.paths, rows):
            expected = tuple(int(r[f"shape_{a}"]) for a in "zyx")
            if not path.exists():
                raise FileNotFoundError(f"patch {path} listed in metadata.csv does not exist")
            try:
                array = np.load(path, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as err:
                raise ValueError(f"patch {path} is not a readable .npy file: {err}") from err
            if array.shape != expected or array.dtype != np.float32:
                raise ValueError(f"patch {path} does not match metadata.csv: shape {array.shape} {array.dtype}, "
                                 f"expected {expected} float32")
        native = tuple(int(rows[0][f"shape_{a}"]) for a in "zyx")
        self.size = native if size is None else ((int(size),) * 3 if np.isscalar(size) else tuple(int(s) for s in size))
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> list[int]:
        counts = Counter(self.labels)
        return [counts.get(i, 0) for i in range(len(self.classes))]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        volume = center_crop_or_pad(np.load(self.paths[index], allow_pickle=False), self.size)
        if self.augment:
            volume = augment(volume, np.random.default_rng([self.seed, self.epoch, index]))
        return torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))[None], self.labels[index]
