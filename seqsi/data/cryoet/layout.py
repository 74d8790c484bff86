"""Where cryo-ET tomograms and picks live on disk, for the two layouts we read.

CZII layout (the Kaggle "CZII cryo-ET object identification" data, written by our generator too)::

    <root>/[train/]static/ExperimentRuns/<run>/VoxelSpacing10.000/<type>.zarr   (or .mrc, .mrc.gz, .rec, .map)
    <root>/[train/]overlay/ExperimentRuns/<run>/Picks/<class>.json

Flat layout (tomograms exported as MRC by IMOD, Warp, AreTomo, ...)::

    <root>/<run>/<type>.mrc            (or .mrc.gz, .rec, .map, .zarr)
    <root>/<run>/Picks/<class>.json

Picks JSON in both: ``{"points": [{"location": {"x": .., "y": .., "z": ..}}, ...]}`` in Angstrom,
measured from the centre of voxel (0, 0, 0).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CLASSES: tuple[str, ...] = (
    "apo-ferritin",
    "beta-amylase",
    "beta-galactosidase",
    "ribosome",
    "thyroglobulin",
    "virus-like-particle",
)
TOMO_TYPES: tuple[str, ...] = ("denoised", "wbp", "isonetcorrected", "ctfdeconvolved")
SPLITS: tuple[str, ...] = ("train", "val", "test")
# The CZII folders say VoxelSpacing10.000 but the tomograms are sampled at 10.012 A.
DEFAULT_VOXEL_SPACING = 10.012
DEFAULT_SPACING_DIR = "VoxelSpacing10.000"
TOMOGRAM_SUFFIXES: tuple[str, ...] = (".zarr", ".mrc", ".mrc.gz", ".rec", ".map")


@dataclass(frozen=True)
class Run:
    """One tomogram acquisition: its tomogram file per type (absent types are missing) and its picks folder."""

    name: str
    tomograms: dict[str, Path]
    picks_dir: Path | None


def find_tomogram(folder: Path, tomo_type: str) -> Path | None:
    for suffix in TOMOGRAM_SUFFIXES:
        candidate = folder / f"{tomo_type}{suffix}"
        if candidate.exists():
            return candidate
    return None


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _czii_base(root: Path) -> Path | None:
    for base in (root / "train", root):
        if (base / "static" / "ExperimentRuns").is_dir():
            return base
    return None


def _spacing_dir(run_dir: Path, preferred: str) -> Path | None:
    if (run_dir / preferred).is_dir():
        return run_dir / preferred
    found = [p for p in _subdirs(run_dir) if p.name.startswith("VoxelSpacing")]
    if len(found) > 1:
        raise ValueError(
            f"{run_dir}: several voxel-spacing folders {[p.name for p in found]} and no {preferred}; "
            "choose one with spacing_dir"
        )
    return found[0] if found else None


def discover_runs(
    root: str | Path, tomo_types=TOMO_TYPES, *, spacing_dir: str = DEFAULT_SPACING_DIR
) -> tuple[str, list[Run]]:
    """Find every run under `root` in either layout; returns (layout name, runs sorted by name)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data root {root} does not exist or is not a folder")
    base = _czii_base(root)
    runs = []
    if base is not None:
        layout = "czii"
        for run_dir in _subdirs(base / "static" / "ExperimentRuns"):
            tomo_dir = _spacing_dir(run_dir, spacing_dir)
            tomograms = {}
            for t in tomo_types:
                path = find_tomogram(tomo_dir, t) if tomo_dir is not None else None
                if path is not None:
                    tomograms[t] = path
            picks = base / "overlay" / "ExperimentRuns" / run_dir.name / "Picks"
            runs.append(Run(run_dir.name, tomograms, picks if picks.is_dir() else None))
    else:
        layout = "flat"
        for run_dir in _subdirs(root):
            tomograms = {t: p for t in tomo_types if (p := find_tomogram(run_dir, t)) is not None}
            picks = run_dir / "Picks"
            if tomograms or picks.is_dir():
                runs.append(Run(run_dir.name, tomograms, picks if picks.is_dir() else None))
    if not runs:
        raise FileNotFoundError(
            f"no runs found under {root}: expected <root>/[train/]static/ExperimentRuns/<run>/ (CZII layout) "
            "or <root>/<run>/<type>.mrc with <root>/<run>/Picks/ (flat layout)"
        )
    return layout, runs
