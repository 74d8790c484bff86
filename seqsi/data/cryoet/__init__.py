"""Cryo-ET particle classification data (CZII challenge): readers, synthetic generator, patches, dataset.

`readers` opens OME-Zarr and MRC tomograms and copick picks; `synthetic` writes a seeded data set
in the CZII raw layout; `prepare` cuts per-type, per-split patch folders; `dataset` loads them.
"""
from .dataset import CryoETPatchDataset, augment, center_crop_or_pad, check_split
from .layout import CLASSES, DEFAULT_VOXEL_SPACING, SPLITS, TOMO_TYPES, Run, discover_runs
from .prepare import METADATA_COLUMNS, cut_patch, patch_origin, prepare_classification_data, split_runs
from .readers import Pick, Tomogram, TomogramReadError, inside, open_tomogram, read_picks, read_picks_file, read_tomogram
from .synthetic import PRESETS, SyntheticConfig, generate_synthetic, preset, simulate_tomogram

__all__ = [
    "CLASSES", "DEFAULT_VOXEL_SPACING", "METADATA_COLUMNS", "PRESETS", "SPLITS", "TOMO_TYPES",
    "CryoETPatchDataset", "Pick", "Run", "SyntheticConfig", "Tomogram", "TomogramReadError",
    "augment", "center_crop_or_pad", "check_split", "cut_patch", "discover_runs", "generate_synthetic",
    "inside", "open_tomogram", "patch_origin", "prepare_classification_data", "preset", "read_picks",
    "read_picks_file", "read_tomogram", "simulate_tomogram", "split_runs",
]
