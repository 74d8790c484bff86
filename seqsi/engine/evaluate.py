"""One evaluation runner: a model on the clean test set and on every corrupted copy of it.

Corrupted copies are made on the fly, batched, on the model's device, never stored.
Each fixed-size chunk of the test set is corrupted with a generator seeded by
(seed, test-set name, chunk index), so every model of a comparison sees bit-identical
images whatever its batch size, and adding a test set does not change the others.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Callable

import torch
import torch.nn as nn
from tqdm import tqdm

from ..data.classification import to_unit_float
from ..localization.signal import signal_per_sample
from ..logits import classes_of, report_nonfinite
from .seeding import derive_seed

CHUNK = 1024
TestSet = tuple[str, Callable | None]  # (name, corruption or None for the clean set)


def test_set_generator(seed: int, name: str, index: int) -> torch.Generator:
    """The generator that corrupts item/chunk `index` of test set `name`."""
    return torch.Generator().manual_seed(derive_seed(seed, zlib.crc32(name.encode()), index))


def corrupted_chunks(images: torch.Tensor, test_set: TestSet, seed: int, device: torch.device | str = "cpu",
                     chunk: int = CHUNK) -> Iterator[torch.Tensor]:
    """The test images in [0, 1] (uint8 or float input), corrupted chunk by chunk."""
    name, corruption = test_set
    for index, start in enumerate(range(0, len(images), chunk)):
        x = to_unit_float(images[start:start + chunk].to(device))
        if corruption is not None:
            x, _ = corruption(x, test_set_generator(seed, name, index))
        yield x


@torch.no_grad()
def evaluate_classifier(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, test_sets: Sequence[TestSet],
                        seed: int = 0, batch_size: int = 512, device: torch.device | str = "cpu",
                        progress: bool = False) -> dict[str, dict[str, float]]:
    """{test set name: {"accuracy", "error", "nonfinite", "no_signal"}} over the whole test set.

    An image whose logits are not all finite gets no class (counted as an error, and warned
    about: seqsi.logits). `no_signal` counts the images without signal after the
    corruption (seqsi.localization.signal: a constant image, say); they are classified like
    any other, but an invariant mode's logits on them are rounding noise, so their class is
    arbitrary.

    Args:
        model: classifier returning one row of logits per image; it is moved to `device` and set to eval mode.
        images: the whole test set, (N, C, ...) uint8 in 0..255 or float in [0, 1]; moved to `device`
            1024 images at a time.
        labels: class index of each image, (N,).
        test_sets: (name, corruption) pairs; corruption is None for the clean set, or a callable
            `corruption(x, generator)` returning (corrupted x, per-image draws).
        seed: base seed of the corruptions; with the test-set name and chunk index it seeds each chunk.
        batch_size: images per forward pass.
        device: where the model runs and the corruptions are made.
        progress: show a progress bar over the test sets.
    """
    model = model.to(device).eval()
    labels = labels.to(device)
    results = {}
    for test_set in tqdm(test_sets, desc="test sets", disable=not progress, leave=False):
        correct, start, nonfinite, no_signal = 0, 0, 0, 0
        for x in corrupted_chunks(images, test_set, seed, device):
            no_signal += int((~signal_per_sample(x)).sum().item())
            for i in range(0, len(x), batch_size):
                batch = x[i:i + batch_size]
                classes, bad = classes_of(model(batch))
                correct += (classes == labels[start:start + len(batch)]).sum().item()
                nonfinite += bad
                start += len(batch)
        report_nonfinite(nonfinite, len(labels), f"test set {test_set[0]!r}")
        accuracy = correct / len(labels)
        results[test_set[0]] = {"accuracy": accuracy, "error": 1.0 - accuracy, "nonfinite": nonfinite,
                                "no_signal": no_signal}
    return results
