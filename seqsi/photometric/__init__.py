"""Photometric corruptions, suites and augmentation groups: batched, seeded, nd.

    from seqsi.photometric import load_suite
    suite = load_suite("cifar10")
    g = torch.Generator().manual_seed(0)
    for c in suite.test_corruptions():
        y, params = c(x, g)            # x: (N, C, *spatial); params: per-image draws
        c.affine                       # exact SEqSI invariance expected?

See `corruptions` for the reproducibility contract (CPU float64 draws, image by image).
"""
from .corruptions import (
    OPERATIONS, Affine, Artifacts, Corruption, Gamma, Identity, Linear, Noise, as_generator, make_corruption,
    minmax_normalize, with_overrides,
)
from .params import IntRange, Param, Piece, parse_param
from .suites import (Augmentation, Suite, available_suites, get_corruption, list_corruptions, load_suite,
                     training_augmentation)
from .sweeps import CIFAR_INVARIANCE_CASES, LOCALIZATION_INVARIANCE_CASES, Case, scale_sweep, shift_sweep

__all__ = [
    "CIFAR_INVARIANCE_CASES", "LOCALIZATION_INVARIANCE_CASES", "OPERATIONS", "Affine", "Artifacts",
    "Augmentation", "Case", "Corruption", "Gamma", "Identity", "IntRange", "Linear", "Noise", "Param", "Piece",
    "Suite", "as_generator", "available_suites", "get_corruption", "list_corruptions", "load_suite",
    "make_corruption", "minmax_normalize", "parse_param", "scale_sweep", "shift_sweep", "training_augmentation", "with_overrides",
]
