"""Folders of TIFF images with integer label masks, shared by the 2D and 3D localization experiments.

Layout (the StarDist / DSB2018 convention, the same for 2D images and 3D volumes)::

    <root>/<split>/images/<name>.tif    image or volume (any real dtype)
    <root>/<split>/masks/<name>.tif     integer label mask, same shape: 0 = background,
                                        one positive id per object (ids need not be consecutive)
    <root>/<split>/scores/<name>.tif    optional float32 score map (computed from the mask if absent);
                                        the paper's folder name samplings/ is read too
    <root>/test/arti_<k>/images/...     bright-artifact test sets: same file names as test/,
    <root>/test/arti_<k>/masks/...      masks identical to test/masks

A split folder is any folder holding `images/` and `masks/`; an artifact set is one too.
For folders written in the paper's flat style (`arti_<k>/*.tif` + `arti_<k>/masks/`) the
images may also lie directly in the split folder. Images and masks are paired by file name
(stem; `.tif` and `.tiff` both count, any case). Files whose name starts with "." are ignored:
they are temporary files of atomic writes. Any other file in these folders (a `.png`, a
`notes.txt`) is an error naming it: nothing is left out silently.
"""
from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile

from seqsi.io import atomic_path
from seqsi.localization import check_labels, label_centres, score_map
from seqsi.localization.scoremaps import check_spacing

TIFF_SUFFIXES = (".tif", ".tiff")
IMAGES, MASKS, SCORES = "images", "masks", "scores"
PAPER_SCORES = "samplings"  # the paper's name for the score-map folder, read when scores/ is absent
ARTIFACT_PREFIX = "arti_"
_IMAGEJ_DTYPES = (np.uint8, np.uint16, np.float32)


# ----------------------------------------------------------------------------- writing

def write_tiff(path: str | os.PathLike, array: np.ndarray, *, spacing: Sequence[float] | None = None,
               compression: str | None = None) -> Path:
    """Write a 2D image or 3D volume atomically, readable by Fiji with its voxel size.

    `spacing` is the pixel/voxel size in micrometres, (y, x) or (z, y, x). uint8, uint16 and
    float32 arrays are written as ImageJ TIFF (calibration visible in Fiji); other dtypes
    (e.g. int32 labels) and single-slice volumes as plain TIFF that round-trips exactly.
    """
    path = Path(path)
    array = np.asarray(array)
    if array.ndim not in (2, 3):
        raise ValueError(f"{path}: write_tiff takes a 2D image or 3D volume; got shape {array.shape}")
    step = None if spacing is None else _check_spacing(spacing, array.ndim, f"{path}: spacing")
    imagej = array.dtype.type in _IMAGEJ_DTYPES and not (array.ndim == 3 and array.shape[0] == 1)
    kwargs: dict = {"compression": compression, "photometric": "minisblack"}  # 3 slices are not RGB
    if imagej:
        metadata: dict = {"axes": "ZYX" if array.ndim == 3 else "YX"}
        if step is not None:
            metadata["unit"] = "um"
            kwargs["resolution"] = (1.0 / step[-1], 1.0 / step[-2])
            if array.ndim == 3:
                metadata["spacing"] = step[0]
        kwargs.update(imagej=True, metadata=metadata)
    else:
        kwargs["metadata"] = {"axes": "ZYX" if array.ndim == 3 else "YX"}
        if step is not None:
            kwargs["metadata"]["spacing_um"] = list(step)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        tifffile.imwrite(f, array, **kwargs)
    return path


# ----------------------------------------------------------------------------- reading

def _check_spacing(spacing: Sequence[float], ndim: int, name: str) -> tuple[float, ...]:
    return tuple(float(v) for v in check_spacing(spacing, ndim, f"{name} (micrometres per voxel)"))


def _read(path: Path, what: str, ndim: int | None) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        array = tifffile.imread(path)
    except Exception as err:  # tifffile raises several types for broken files
        raise ValueError(f"{path}: cannot read {what} as TIFF ({err})") from err
    if ndim is not None and array.ndim > ndim:  # e.g. (1, Y, X) stored for a 2D image
        squeezable = [a for a in range(array.ndim) if array.shape[a] == 1]
        drop = array.ndim - ndim
        if len(squeezable) >= drop:
            array = array.squeeze(axis=tuple(squeezable[:drop]))
    if ndim is not None and array.ndim != ndim:
        hint = " (several channels? keep one)" if array.ndim == ndim + 1 and array.shape[-1] in (3, 4) else ""
        raise ValueError(f"{path}: expected a {ndim}D {what}; got shape {array.shape}{hint}")
    if array.ndim not in (2, 3):
        raise ValueError(f"{path}: expected a 2D or 3D {what}; got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{path}: {what} is empty (shape {array.shape})")
    return array


def read_image(path: str | os.PathLike, *, ndim: int | None = None) -> np.ndarray:
    """Read an image/volume as stored (dtype kept), refusing what training cannot use.

    Raises ValueError (naming the file) for a wrong number of dimensions, bool or complex
    data, and NaN/inf values. A constant image is valid here; `BioimageDataset.check` reports it.
    """
    path = Path(path)
    image = _read(path, "image", ndim)
    if image.dtype == bool or not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise ValueError(f"{path}: image must hold real numbers; got dtype {image.dtype}")
    if np.issubdtype(image.dtype, np.floating) and not np.all(np.isfinite(image)):
        raise ValueError(f"{path}: image holds NaN or infinite values")
    return image


def read_mask(path: str | os.PathLike, *, ndim: int | None = None,
              shape: Sequence[int] | None = None) -> np.ndarray:
    """Read an integer label mask as int32; label ids may be any positive integers.

    Float and bool masks are refused (a float mask may hold interpolated labels; a bool mask
    merges touching objects), as are negative ids and a shape different from `shape`.
    """
    path = Path(path)
    mask = _read(path, "mask", ndim)
    try:
        check_labels(mask, name="mask")
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: {err}") from None
    if shape is not None and tuple(mask.shape) != tuple(shape):
        raise ValueError(f"{path}: mask shape {mask.shape} differs from its image's shape {tuple(shape)}")
    if mask.size and int(mask.max()) > np.iinfo(np.int32).max:
        raise ValueError(f"{path}: label id {int(mask.max())} does not fit in int32")
    return mask.astype(np.int32, copy=False)


def read_score(path: str | os.PathLike, *, shape: Sequence[int] | None = None) -> np.ndarray:
    """Read a float32 score map; it must be finite and cover its image."""
    path = Path(path)
    score = _read(path, "score map", None if shape is None else len(shape))
    if not np.issubdtype(score.dtype, np.floating) or not np.all(np.isfinite(score)):
        raise ValueError(f"{path}: score map must hold finite floats; got dtype {score.dtype}")
    if shape is not None and tuple(score.shape) != tuple(shape):
        raise ValueError(f"{path}: score map shape {score.shape} differs from its image's shape {tuple(shape)}")
    return score.astype(np.float32, copy=False)


def read_spacing(path: str | os.PathLike) -> tuple[float, ...] | None:
    """Voxel size in micrometres stored by `write_tiff` (or Fiji): (y, x) or (z, y, x); None if absent."""
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        ndim = len(tif.series[0].shape)
        ij = tif.imagej_metadata
        if ij is not None:
            tag = page.tags.get("XResolution")
            tag_y = page.tags.get("YResolution")
            if tag is None or tag_y is None or "unit" not in ij or ("spacing" not in ij and ndim == 3):
                return None
            yx = tuple(round(den / num, 9) for num, den in (tag_y.value, tag.value))
            return ((round(float(ij["spacing"]), 9),) + yx) if ndim == 3 else yx
        shaped = tif.shaped_metadata
        if shaped and "spacing_um" in shaped[0]:
            return tuple(float(s) for s in shaped[0]["spacing_um"])
    return None


class MissingVoxelSizeWarning(UserWarning):
    """An image without voxel-size metadata: distances fall back to voxels (said once per process)."""


_voxel_note_given = False


def note_missing_spacing(path: Path, ndim: int) -> None:
    """Say once per process (rank 0 under torchrun) that a file has no voxel size and which unit is used."""
    global _voxel_note_given
    if _voxel_note_given or os.environ.get("RANK", "0") != "0":
        return
    _voxel_note_given = True
    unit = "pixel" if ndim == 2 else "voxel"
    warnings.warn(f"{path}: no {unit} size in the TIFF metadata (ImageJ calibration or spacing_um); distances (score "
                  f"maps, overlays) use 1 {unit} per axis for it and every other such file; set data.spacing to give "
                  "the size in micrometres", MissingVoxelSizeWarning, stacklevel=3)


# ----------------------------------------------------------------------------- listing

@dataclass(frozen=True)
class Sample:
    """One image with its mask and optional score map (paths only: loading is lazy)."""

    name: str
    image: Path
    mask: Path | None
    score: Path | None = None


def _tiffs(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not p.is_file() or p.suffix.lower() not in TIFF_SUFFIXES:
            continue
        if p.stem in found:
            raise ValueError(f"{folder}: two files for the same image name {p.stem!r}: {found[p.stem].name}, {p.name}")
        found[p.stem] = p
    return found


def _check_no_strays(folder: Path) -> None:
    """Only TIFFs (.tif, .tiff) are read: any other visible file in a data folder is an error,
    so a mis-converted image (.png, .tif.gz) is never left out silently."""
    strays = [p.name for p in sorted(folder.iterdir())
              if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in TIFF_SUFFIXES]
    if strays:
        more = f" (and {len(strays) - 3} more)" if len(strays) > 3 else ""
        raise ValueError(f"{folder}: {', '.join(strays[:3])}{more} not a TIFF; only {', '.join(TIFF_SUFFIXES)} files "
                         "are read (files starting with '.' are ignored): convert, move or remove it")


def _partners(images: dict[str, Path], folder: Path, what: str) -> dict[str, Path]:
    """Files of `folder` matched by name to `images`; any unmatched file on either side is an error."""
    _check_no_strays(folder)
    found = _tiffs(folder)
    missing = [images[n].name for n in images if n not in found]
    orphans = [found[n].name for n in found if n not in images]
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        raise ValueError(f"{folder}: no {what} for image(s) {', '.join(missing[:3])}{more}; "
                         f"expected a file of the same name in this folder")
    if orphans:
        more = f" (and {len(orphans) - 3} more)" if len(orphans) > 3 else ""
        raise ValueError(f"{folder}: {what} file(s) {', '.join(orphans[:3])}{more} have no image of the same name")
    return found


def images_folder(split_dir: str | os.PathLike) -> Path:
    """`<split>/images`, or the split folder itself when it holds the TIFFs directly (paper's arti_<k>)."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise FileNotFoundError(f"data folder not found: {split_dir}")
    if (split_dir / IMAGES).is_dir():
        return split_dir / IMAGES
    if _tiffs(split_dir):
        return split_dir
    raise FileNotFoundError(f"{split_dir}: no {IMAGES}/ folder and no .tif files; expected "
                            f"{split_dir}/{IMAGES}/*.tif and {split_dir}/{MASKS}/*.tif")


def list_samples(split_dir: str | os.PathLike, *, masks_dir: str | os.PathLike | None = None,
                 require_masks: bool = True, scores: bool = True) -> list[Sample]:
    """Pair `<split>/images/*.tif` with `<split>/masks/` and `<split>/scores/` by file name.

    `masks_dir` overrides where masks are looked up: an artifact set shares the clean test
    masks. Raises with the folder and file names when a partner is missing. With
    `scores=False` a `scores/` folder is ignored.
    """
    split_dir = Path(split_dir)
    image_dir = images_folder(split_dir)
    _check_no_strays(image_dir)
    images = _tiffs(image_dir)
    if not images:
        raise FileNotFoundError(f"{image_dir}: no .tif images")
    mask_dir = Path(masks_dir) if masks_dir is not None else split_dir / MASKS
    if mask_dir.is_dir():
        masks: dict[str, Path | None] = dict(_partners(images, mask_dir, "mask"))
    elif require_masks:
        hint = ""
        if split_dir.name.startswith(ARTIFACT_PREFIX):
            hint = (f"; an artifact set uses the masks of its clean images: copy "
                    f"{split_dir.parent / MASKS} there or pass masks_dir=")
        raise FileNotFoundError(f"{split_dir}: no {MASKS}/ folder (expected {mask_dir}){hint}")
    else:
        masks = dict.fromkeys(images)
    score_dir = split_dir / SCORES
    if not score_dir.is_dir() and (split_dir / PAPER_SCORES).is_dir():
        score_dir = split_dir / PAPER_SCORES
    score_files: dict[str, Path | None] = dict(_partners(images, score_dir, "score map")) \
        if scores and score_dir.is_dir() else dict.fromkeys(images)
    return [Sample(n, images[n], masks[n], score_files[n]) for n in images]


def artifact_sets(test_dir: str | os.PathLike) -> dict[float, Path]:
    """The bright-artifact sets `arti_<k>` under a test folder, by increasing k."""
    test_dir = Path(test_dir)
    found = {}
    for p in test_dir.iterdir() if test_dir.is_dir() else ():
        m = re.fullmatch(re.escape(ARTIFACT_PREFIX) + r"(\d+(?:\.\d+)?)", p.name)
        if m and p.is_dir():
            found[float(m.group(1))] = p
    return dict(sorted(found.items()))


def artifact_folder_name(k: float) -> str:
    """`arti_1.5`, `arti_3`: integers without a decimal point, as in the paper."""
    return f"{ARTIFACT_PREFIX}{float(k):g}"


# ----------------------------------------------------------------------------- dataset

@dataclass
class SplitReport:
    """What `BioimageDataset.check` found: facts plus the soft issues that are not errors."""

    folder: Path
    n_samples: int = 0
    n_objects: int = 0
    shapes: set[tuple[int, ...]] = field(default_factory=set)
    dtypes: set[str] = field(default_factory=set)
    empty_masks: list[str] = field(default_factory=list)
    constant_images: list[str] = field(default_factory=list)
    non_consecutive_labels: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{self.folder}: {self.n_samples} images, {self.n_objects} objects, "
                 f"shapes {sorted(self.shapes)}, dtypes {sorted(self.dtypes)}"]
        for what, names in (("empty masks (no objects)", self.empty_masks),
                            ("constant images (min-max normalisation maps them to 0)", self.constant_images),
                            ("non-consecutive label ids (fine: each id is one object)",
                             self.non_consecutive_labels)):
            if names:
                lines.append(f"  {what}: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}")
        return "\n".join(lines)


class BioimageDataset:
    """Image + mask (+ score map) pairs of one split folder, loaded lazily, as numpy arrays.

    Items are dicts: name, image (float32), mask (int32 labels), score (float32; read from
    `scores/` or computed from the mask with `seqsi.localization.score_map`), centres
    ((K, d) object centroids in index order), spacing (voxel size or None). `ndim` (2 or 3)
    is enforced on every file when given, else taken from the first image. Score maps
    computed here measure distances with `spacing`, by default the voxel size stored in the
    image file (`read_spacing`; voxels when absent), so that an artifact set without
    `scores/` gets the same maps as the clean set the generator wrote. Stored maps are used
    as they are.
    """

    def __init__(self, split_dir: str | os.PathLike, *, ndim: int | None = None,
                 masks_dir: str | os.PathLike | None = None, require_masks: bool = True,
                 spacing: Sequence[float] | None = None):
        if ndim not in (None, 2, 3):
            raise ValueError(f"ndim must be 2, 3 or None; got {ndim!r}")
        self.folder = Path(split_dir)
        self.samples = list_samples(split_dir, masks_dir=masks_dir, require_masks=require_masks)
        self.ndim = ndim if ndim is not None else read_image(self.samples[0].image).ndim
        self.spacing = None if spacing is None else _check_spacing(spacing, self.ndim, "spacing")

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.samples]

    def load(self, index: int, *, score: bool = True) -> dict:
        s = self.samples[index]
        image = read_image(s.image, ndim=self.ndim)
        spacing = self.spacing if self.spacing is not None else read_spacing(s.image)
        if spacing is None:
            note_missing_spacing(s.image, self.ndim)
        item: dict = {"name": s.name, "image": image.astype(np.float32, copy=False), "mask": None,
                      "score": None, "centres": None, "spacing": spacing}
        if s.mask is not None:
            mask = read_mask(s.mask, ndim=self.ndim, shape=image.shape)
            item["mask"] = mask
            item["centres"] = label_centres(mask)
            if score:
                item["score"] = read_score(s.score, shape=image.shape) if s.score is not None \
                    else score_map(mask, spacing=spacing)
        return item

    def __getitem__(self, index: int) -> dict:
        return self.load(index)

    def __iter__(self):
        return (self.load(i) for i in range(len(self)))

    def check(self) -> SplitReport:
        """Read every file once: hard errors raise (naming the file), soft issues are listed."""
        report = SplitReport(self.folder, n_samples=len(self))
        for s in self.samples:
            image = read_image(s.image, ndim=self.ndim)
            report.shapes.add(tuple(image.shape))
            report.dtypes.add(str(image.dtype))
            if image.min() == image.max():
                report.constant_images.append(s.image.name)
            if s.score is not None:
                read_score(s.score, shape=image.shape)
            if s.mask is not None:
                ids = np.unique(read_mask(s.mask, ndim=self.ndim, shape=image.shape))
                ids = ids[ids > 0]
                report.n_objects += len(ids)
                if not len(ids):
                    report.empty_masks.append(s.mask.name)
                elif ids[-1] != len(ids):
                    report.non_consecutive_labels.append(s.mask.name)
        return report


def write_score_maps(split_dir: str | os.PathLike, *, spacing: Sequence[float] | None = None,
                     overwrite: bool = False) -> list[Path]:
    """Precompute `<split>/scores/*.tif` from the masks (the paper's generate_score step).

    Distances use `spacing`, by default the voxel size stored in each image (voxels if none).
    """
    split_dir = Path(split_dir)
    written = []
    for s in list_samples(split_dir, scores=False):
        target = split_dir / SCORES / f"{s.name}.tif"
        if target.exists() and not overwrite:
            continue
        image_shape = read_image(s.image).shape
        mask = read_mask(s.mask, ndim=len(image_shape), shape=image_shape)
        step = read_spacing(s.image) if spacing is None else _check_spacing(spacing, mask.ndim, "spacing")
        if step is None:
            note_missing_spacing(s.image, mask.ndim)
        write_tiff(target, score_map(mask, spacing=step), spacing=step)
        written.append(target)
    return written
