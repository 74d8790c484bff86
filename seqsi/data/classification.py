"""Image classification data: CIFAR-10 (torchvision's release) and scikit-learn's digits.

CIFAR-10 is fetched with torchvision's own definition of the data set (URL, md5,
file names) and downloader; the `cifar-10-batches-py` pickles are then read with an
unpickler that admits only the numpy types the format needs, so a tampered file cannot
run code. Digits (1797 real 8x8 handwritten digits, bundled with scikit-learn) is the
offline stand-in that runs the same pipeline anywhere.
"""
from __future__ import annotations

import io
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"), ("_codecs", "encode"),
}


@dataclass
class TrainingData:
    """The (sample, label) sets a classifier is trained and validated on, and what they fix about
    the model: its dims (2 for images, 3 for volumes) and, where given, its input channels."""
    name: str  # stored in the checkpoints as "dataset"
    train: Dataset
    val: Dataset
    dims: int
    classes: tuple[str, ...]
    in_channels: int | None = None  # None: the model preset's


@dataclass
class ImageSplits:
    """Images as (N, C, H, W) tensors (uint8 0..255 or float 0..1) with int64 labels."""
    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]

    @property
    def channels(self) -> int:
        return self.train_x.shape[1]

    def holdout(self, fraction: float, seed: int) -> TrainingData:
        """The training images, a seeded `fraction` of them held out for validation."""
        (train_x, train_y), (val_x, val_y) = split_validation(self.train_x, self.train_y, fraction, seed)
        return TrainingData(self.name, ImageTensorDataset(train_x, train_y), ImageTensorDataset(val_x, val_y),
                            dims=self.train_x.ndim - 2, classes=self.classes, in_channels=self.channels)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of the CIFAR-10 format")
        return super().find_class(module, name)


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        entry = _NumpyOnlyUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except FileNotFoundError:
        raise FileNotFoundError(f"CIFAR-10 batch file missing: {path}") from None
    except Exception as err:
        raise ValueError(f"CIFAR-10 batch file {path} is truncated or corrupted: {err}") from None
    data = entry.get("data") if isinstance(entry, dict) else None
    labels = entry.get("labels") if isinstance(entry, dict) else None
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072 or labels is None:
        raise ValueError(f"CIFAR-10 batch file {path} does not hold 'data' (N x 3072 uint8) and 'labels'")
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(data) or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise ValueError(f"CIFAR-10 batch file {path}: {len(labels)} labels in 0..9 expected for {len(data)} images")
    return data.reshape(-1, 3, 32, 32), labels


def _fetch_cifar10(root: Path, download: bool) -> Path:
    """The cifar-10-batches-py folder under root, extracted or downloaded if needed."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity, download_and_extract_archive, extract_archive

    folder = root / CIFAR10.base_folder
    archive = root / CIFAR10.filename
    if folder.is_dir():
        expected = CIFAR10.train_list + CIFAR10.test_list
        if not all(check_integrity(str(folder / name), md5) for name, md5 in expected if (folder / name).exists()):
            warnings.warn(f"{folder}: files differ from the official CIFAR-10 release (md5); using them as they are")
        return folder
    if archive.is_file():
        if not check_integrity(str(archive), CIFAR10.tgz_md5):
            raise ValueError(f"{archive} is incomplete or corrupted (md5 mismatch); delete it and download it again")
        extract_archive(str(archive), str(root))
        return folder
    hint = (f"put {CIFAR10.filename} (from {CIFAR10.url}) at {archive}, or its extracted folder at {folder}")
    if not download:
        raise FileNotFoundError(f"CIFAR-10 not found under {root}: {hint}")
    try:
        download_and_extract_archive(CIFAR10.url, str(root), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5)
    except Exception as err:
        raise FileNotFoundError(f"CIFAR-10 not found under {root} and the download failed ({err}): {hint}") from None
    return folder


def load_cifar10(root: str | Path, download: bool = True) -> ImageSplits:
    from torchvision.datasets import CIFAR10

    folder = _fetch_cifar10(Path(root), download)
    train = [_read_batch(folder / name) for name, _ in CIFAR10.train_list]
    test_x, test_y = _read_batch(folder / CIFAR10.test_list[0][0])
    return ImageSplits(
        "cifar10", torch.from_numpy(np.concatenate([x for x, _ in train])),
        torch.from_numpy(np.concatenate([y for _, y in train])), torch.from_numpy(test_x), torch.from_numpy(test_y),
        CIFAR10_CLASSES,
    )


def load_digits(seed: int = 0, test_fraction: float = 0.2) -> ImageSplits:
    """scikit-learn's 8x8 digits scaled to [0, 1], split into train/test by a seeded shuffle."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    (train_x, train_y), (test_x, test_y) = split_validation(images, labels, test_fraction, seed)
    return ImageSplits("digits", train_x, train_y, test_x, test_y, tuple(str(d) for d in range(10)))


# What a config's data.dataset may name: name -> loader(root, download).
IMAGE_DATASETS: dict[str, Callable[[str | Path, bool], ImageSplits]] = {
    "cifar10": load_cifar10,
    "digits": lambda root, download: load_digits(),  # bundled with scikit-learn: nothing to find or fetch
}


def load_image_dataset(name: str, root: str | Path = "data", download: bool = True) -> ImageSplits:
    if name not in IMAGE_DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(IMAGE_DATASETS)}")
    return IMAGE_DATASETS[name](root, download)


def to_unit_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float32 0..1 (what ToTensor does); floating images keep their dtype."""
    if x.dtype == torch.uint8:
        return x.float().div_(255)
    return x if x.is_floating_point() else x.float()


class ImageTensorDataset(Dataset):
    """Indexable (image in [0, 1], label) pairs over in-memory tensors."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return to_unit_float(self.images[i]), self.labels[i]


def split_validation(x: torch.Tensor, y: torch.Tensor, fraction: float, seed: int):
    """Random hold-out of `fraction` of the samples, by a seeded shuffle (the paper keeps 10 % of
    the training set for validation; digits also draws its test set this way)."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation fraction must be in (0, 1); got {fraction}")
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, int(round(fraction * len(y))))
    val, train = order[:n_val], order[n_val:]
    return (x[train], y[train]), (x[val], y[val])


def random_crop_flip(x: torch.Tensor, generator: torch.Generator, padding: int, flip: bool) -> torch.Tensor:
    """Batched RandomCrop(size, padding) with zero fill + a flip of the last axis (horizontal for
    images), one draw per sample, for (N, C, *spatial) batches of any number of spatial dims.

    The offsets are drawn axis by axis (rows, then columns for images), then the flips.
    """
    n, spatial = len(x), x.shape[2:]
    if padding:
        padded = torch.nn.functional.pad(x, (padding,) * (2 * len(spatial)))
        index = [torch.arange(n, device=x.device).view(n, *(1,) * len(spatial))]
        for axis, size in enumerate(spatial):
            start = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
            shape = [n] + [size if a == axis else 1 for a in range(len(spatial))]
            index.append((start[:, None] + torch.arange(size)).view(shape).to(x.device))
        x = padded.movedim(1, -1)[tuple(index)].movedim(-1, 1)  # gather every sample's window at once
    if flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        x = torch.where(mask.view(n, *(1,) * (x.ndim - 1)), x.flip(-1), x)
    return x.contiguous()
