"""The user's images and volumes: which files an INPUT names, and how each is read.

TIFF (2D/3D, any real dtype; voxel size from ImageJ, OME or seqsi's own metadata), PNG and
JPEG (2D), MRC and Zarr / OME-Zarr (3D; through seqsi.data.cryoet.readers). Every reader
returns the array with its channel axis, if any, last (`Image.channels`), and the voxel size
in micrometres when the file states one.
"""
from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from ..data.bioimage import read_spacing
from ..data.cryoet.readers import read_tomogram

TIFF = (".tif", ".tiff")
RASTER = (".png", ".jpg", ".jpeg")
MRC = (".mrc", ".mrc.gz", ".mrc.bz2", ".rec", ".map")
SUFFIXES = TIFF + RASTER + MRC + (".zarr",)
_NAME_SUFFIXES = (".ome.tif", ".ome.tiff", ".ome.zarr") + SUFFIXES  # stripped from file names in outputs
_UNIT_TO_UM = {"um": 1.0, "µm": 1.0, "\\u00b5m": 1.0, "micron": 1.0, "micrometer": 1.0, "micrometre": 1.0,
               "nm": 1e-3, "nanometer": 1e-3, "mm": 1e3, "millimeter": 1e3, "angstrom": 1e-4, "å": 1e-4}


@dataclass
class Image:
    """One input: `data` is spatial, or spatial + a trailing channel axis when `channels` > 1."""

    path: Path
    data: np.ndarray
    voxel_size: tuple[float, ...] | None  # micrometres per pixel along each spatial axis
    channels: int = 1

    @property
    def name(self) -> str:
        name = self.path.name
        for suffix in sorted(_NAME_SUFFIXES, key=len, reverse=True):
            if name.lower().endswith(suffix):
                return name[: -len(suffix)]
        return self.path.stem

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return self.data.shape[:-1] if self.channels > 1 else self.data.shape


def _supported(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES) and not path.name.startswith(".")


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and (path.name.lower().endswith(".zarr") or (path / ".zgroup").exists()
                              or (path / ".zarray").exists() or (path / "zarr.json").exists())


def find_inputs(inputs: list[str]) -> list[Path]:
    """Files (and Zarr folders) named by paths, folders (their supported files) or globs, in order."""
    found: list[Path] = []
    for text in inputs:
        path = Path(text)
        if _is_zarr(path) or path.is_file():
            if not _supported(path) and not _is_zarr(path):
                raise ValueError(f"{path}: unsupported file type (expected {', '.join(SUFFIXES)})")
            found.append(path)
        elif path.is_dir():
            inside = sorted(p for p in path.iterdir() if (p.is_file() and _supported(p)) or _is_zarr(p))
            if not inside:
                raise FileNotFoundError(f"{path}: folder holds no image ({', '.join(SUFFIXES)})")
            found += inside
        else:
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            matches = [m for m in matches if (m.is_file() and _supported(m)) or _is_zarr(m)]
            if not matches:
                raise FileNotFoundError(f"input {text!r}: no such file or folder, and no image matches it as a glob")
            found += matches
    return list(dict.fromkeys(found))


def _check_values(path: Path, array: np.ndarray) -> np.ndarray:
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{path}: image must hold real numbers; got dtype {array.dtype}")
    if array.size == 0:
        raise ValueError(f"{path}: image is empty (shape {array.shape})")
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise ValueError(f"{path}: image holds NaN or infinite values")
    return array


def _ome_voxel_size(xml: str, spatial_axes: str) -> tuple[float, ...] | None:
    sizes = {}
    for axis in "XYZ":
        m = re.search(rf'PhysicalSize{axis}="([0-9.eE+-]+)"', xml)
        unit = re.search(rf'PhysicalSize{axis}Unit="([^"]+)"', xml)
        if m:
            factor = _UNIT_TO_UM.get((unit.group(1) if unit else "µm").lower(), None)
            if factor is None:
                return None
            sizes[axis] = float(m.group(1)) * factor
    wanted = [a for a in spatial_axes]
    if not all(a in sizes for a in wanted):
        return None
    return tuple(sizes[a] for a in wanted)


def _read_tiff(path: Path) -> Image:
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            axes = series.axes.upper()
            array = series.asarray()
            ome = tif.ome_metadata
            ij = tif.imagej_metadata or {}
    except Exception as err:
        raise ValueError(f"{path}: cannot read as TIFF ({err})") from None
    # drop singleton non-spatial axes (time, unknown), keep channels (C, or S for RGB samples) last
    keep = [i for i, a in enumerate(axes) if a in "ZYXCS" or array.shape[i] > 1]
    extra = [axes[i] for i in keep if axes[i] not in "ZYXCS"]
    if extra:
        raise ValueError(f"{path}: axes {axes} (shape {array.shape}) have a non-spatial axis {extra[0]} of size > 1; "
                         "save one time point / position per file")
    array = array.squeeze(axis=tuple(i for i in range(array.ndim) if i not in keep))
    axes = "".join(axes[i] for i in keep)
    channel_axes = [i for i, a in enumerate(axes) if a in "CS"]
    channels = 1
    if channel_axes:
        array = np.moveaxis(array, channel_axes, list(range(-len(channel_axes), 0)))
        if len(channel_axes) > 1:
            array = array.reshape(*array.shape[: -len(channel_axes)], -1)
        channels = array.shape[-1]
        if channels == 1:
            array = array[..., 0]
    spatial = "".join(a for a in axes if a in "ZYX")
    for i, a in reversed(list(enumerate(spatial))):  # a single z slice is a 2D image
        if a == "Z" and array.shape[i] == 1 and len(spatial) == 3:
            array = array.squeeze(axis=i)
            spatial = spatial.replace("Z", "")
    voxel = None
    if ome:
        voxel = _ome_voxel_size(ome, spatial)
    if voxel is None:
        try:
            voxel = read_spacing(path)
        except Exception:
            voxel = None
        if voxel is not None and ij.get("unit") not in (None, "um", "micron", "µm", "\\u00B5m"):
            factor = _UNIT_TO_UM.get(str(ij.get("unit")).lower())
            voxel = tuple(v * factor for v in voxel) if factor else None
        if voxel is not None and len(voxel) != len(spatial):
            voxel = None
    return Image(path, _check_values(path, array), voxel, channels)


def _read_raster(path: Path) -> Image:
    from PIL import Image as PILImage

    try:
        with PILImage.open(path) as im:
            array = np.asarray(im)
    except Exception as err:
        raise ValueError(f"{path}: cannot read as PNG/JPEG ({err})") from None
    channels = 1
    if array.ndim == 3:
        if array.shape[-1] in (2, 4):  # grey + alpha, RGB + alpha: the alpha channel is not data
            array = array[..., :-1]
        if array.shape[-1] == 1 or all(np.array_equal(array[..., 0], array[..., c]) for c in range(1, array.shape[-1])):
            array = array[..., 0]  # a grey image stored as RGB
        else:
            channels = array.shape[-1]
    return Image(path, _check_values(path, array), None, channels)


def _read_tomogram(path: Path) -> Image:
    try:
        volume, angstrom = read_tomogram(path)
    except (OSError, ValueError) as err:
        raise ValueError(str(err)) from None
    voxel = tuple(v * 1e-4 for v in angstrom) if angstrom else None
    return Image(path, _check_values(path, volume), voxel, 1)


def read_input(path: str | Path) -> Image:
    """Read one input file (or Zarr folder) by its suffix."""
    path = Path(path)
    name = path.name.lower()
    if _is_zarr(path) or name.endswith(MRC):
        return _read_tomogram(path)
    if name.endswith(TIFF):
        return _read_tiff(path)
    if name.endswith(RASTER):
        return _read_raster(path)
    raise ValueError(f"{path}: unsupported file type (expected {', '.join(SUFFIXES)})")


def select_channel(image: Image, channel: int | None, wanted: int = 1) -> np.ndarray:
    """The array the model takes: spatial (wanted = 1) or spatial + `wanted` channels last."""
    if image.channels == 1:
        if channel not in (None, 0):
            raise ValueError(f"{image.path}: --channel {channel} asked, but the image has one channel")
        return image.data
    if wanted == image.channels and channel is None:
        return image.data
    if channel is None:
        raise ValueError(f"{image.path}: the image has {image.channels} channels (shape {image.data.shape}) and the "
                         f"model takes {wanted}; choose one with --channel 0..{image.channels - 1}")
    if not 0 <= channel < image.channels:
        raise ValueError(f"{image.path}: --channel {channel} is out of range; the image has channels "
                         f"0..{image.channels - 1}")
    return image.data[..., channel]
