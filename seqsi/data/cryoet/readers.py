"""Readers of the real cryo-ET formats: OME-Zarr and MRC tomograms, copick picks JSON.

A tomogram is opened lazily (zarr chunks, MRC memory map) so that patches can be cut from a
600 MB volume without reading all of it; every reader returns z, y, x axis order and
voxel sizes in Angstrom.
"""
from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .layout import CLASSES

_UNIT_TO_ANGSTROM = {"angstrom": 1.0, "nanometer": 10.0, "micrometer": 1e4, "": 1.0}


class TomogramReadError(OSError):
    """A tomogram file exists but cannot be read as a 3D volume."""


class MissingChunkError(TomogramReadError):
    """A zarr region covers chunks absent from the store (zarr would return the fill value)."""


class ZarrChunks:
    """Which stored chunks (shards under zarr v3 sharding) a region of a zarr array covers, and
    which of them are absent from the store: zarr reads an absent chunk as the fill value, so a
    deleted or never-copied chunk file would otherwise become a block of silent zeros."""

    def __init__(self, array, name: str) -> None:
        self.array, self.name = array, name
        self.block = tuple(int(c) for c in (getattr(array, "shards", None) or array.chunks))
        self._present: dict[tuple[int, ...], bool] = {}

    def key(self, coords: tuple[int, ...]) -> str:
        metadata = getattr(self.array, "metadata", None)
        if metadata is not None and hasattr(metadata, "encode_chunk_key"):  # zarr 3, formats 2 and 3
            return metadata.encode_chunk_key(coords)
        return self.array._chunk_key(coords)  # zarr 2: the full key in the chunk store

    def _exists(self, coords: tuple[int, ...]) -> bool:
        if coords not in self._present:
            key = self.key(coords)
            store_path = getattr(self.array, "store_path", None)
            if store_path is not None:  # zarr 3
                from zarr.core.sync import sync

                full = f"{store_path.path}/{key}" if store_path.path else key
                self._present[coords] = bool(sync(store_path.store.exists(full)))
            else:  # zarr 2: the chunk store is a mapping of full keys
                self._present[coords] = key in self.array.chunk_store
        return self._present[coords]

    def missing(self, region: tuple[slice, ...]) -> list[str]:
        """Keys of the absent chunks that `region` (slices in the array's own axis order) covers."""
        ranges = []
        for axis, (sl, block, size) in enumerate(zip(region, self.block, self.array.shape)):
            start, stop, _ = sl.indices(size)
            if stop <= start:
                return []
            ranges.append(range(start // block, (stop - 1) // block + 1))
        return [self.key(c) for c in itertools.product(*ranges) if not self._exists(c)]


class Tomogram:
    """A lazily read 3D volume in z, y, x order; slice it with `read(region)`."""

    def __init__(self, path: Path, source: Any, axes: tuple[int, int, int], voxel_size, closer=None,
                 chunks: ZarrChunks | None = None):
        self.path = Path(path)
        self._source = source
        self._chunks = chunks  # zarr only: finds regions that would read absent chunks
        self._axes = axes  # source axis holding z, y, x
        self._lead = source.ndim - 3  # leading singleton axes (c, t) that we drop
        self.shape = tuple(int(source.shape[self._lead + a]) for a in axes)
        self.voxel_size = voxel_size  # (z, y, x) in Angstrom, or None when the file does not say
        self._closer = closer

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * 4

    def _index(self, region: tuple[slice, slice, slice] | None) -> list:
        region = region or (slice(None),) * 3
        index = [0] * self._lead + [slice(None)] * 3
        for out_axis, src_axis in enumerate(self._axes):
            index[self._lead + src_axis] = region[out_axis]
        return index

    def missing_chunks(self, region: tuple[slice, slice, slice] | None = None) -> list[str]:
        """Keys of the zarr chunks absent from the store that `region` (z, y, x) would read; [] for MRC."""
        if self._chunks is None:
            return []
        index = self._index(region)
        return self._chunks.missing(tuple(slice(i, i + 1) if isinstance(i, int) else i for i in index))

    def read(self, region: tuple[slice, slice, slice] | None = None, *, check_chunks: bool = True) -> np.ndarray:
        """Read `region` (slices in z, y, x order; the whole volume if None) as float32.

        A zarr region covering absent chunks raises MissingChunkError naming the array and the
        first chunk (check_chunks=False reads them as the fill value, for callers that check
        each patch with `missing_chunks`)."""
        index = self._index(region)
        if check_chunks and self._chunks is not None:
            missing = self.missing_chunks(region)
            if missing:
                more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                raise MissingChunkError(
                    f"tomogram {self.path}: array '{self._chunks.name}' chunk '{missing[0]}'{more} is missing from the "
                    f"store (zarr would read it as the fill value {self._source.fill_value}); restore it, or leave "
                    "out the patches that touch it (prepare_classification_data.py --skip_missing_chunks)")
        try:
            block = np.asarray(self._source[tuple(index)])
        except Exception as err:  # corrupt chunk, truncated file
            raise TomogramReadError(f"cannot read tomogram {self.path}: {err}") from err
        return np.ascontiguousarray(block.transpose(self._axes), dtype=np.float32)

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
            self._closer = None

    def __enter__(self) -> "Tomogram":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _zyx_axes(names: list[str], path: Path) -> tuple[int, int, int]:
    last = names[-3:]
    if sorted(last) != ["x", "y", "z"] or any(n in ("x", "y", "z") for n in names[:-3]):
        raise TomogramReadError(f"cannot read tomogram {path}: axes {names} are not z, y, x (plus leading c/t)")
    return tuple(last.index(a) for a in ("z", "y", "x"))


def _scale_of(dataset: dict) -> list[float] | None:
    for t in dataset.get("coordinateTransformations", []):
        if t.get("type") == "scale":
            return [float(v) for v in t["scale"]]
    return None


def _from_multiscales(multiscale: dict, path: Path):
    """(array name, source axis of z/y/x, voxel size in A or None) of the full-resolution dataset."""
    datasets = multiscale["datasets"]
    scales = [_scale_of(d) for d in datasets]
    best = 0  # the OME-NGFF spec lists the full resolution first; a smaller scale wins if given
    if all(s is not None for s in scales):
        best = int(np.argmin([math.prod(s) for s in scales]))
    axes_meta = multiscale.get("axes", [])
    names = [a["name"] if isinstance(a, dict) else str(a) for a in axes_meta]
    axes = _zyx_axes(names, path) if names else (0, 1, 2)
    voxel = None
    if scales[best] is not None:
        units = [a.get("unit", "") if isinstance(a, dict) else "" for a in axes_meta][-3:] or ["", "", ""]
        factors = [_UNIT_TO_ANGSTROM.get(u or "") for u in units]
        if None not in factors:  # an unknown unit (pixel, ...) says nothing about Angstrom
            spatial = [v * f for v, f in zip(scales[best][-3:], factors)]
            voxel = tuple(spatial[a] for a in axes)
    return str(datasets[best]["path"]), axes, voxel


def _open_zarr(path: Path) -> Tomogram:
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as err:
        raise TomogramReadError(f"cannot read tomogram {path}: not a zarr group or array ({err})") from err
    axes, voxel = (0, 1, 2), None
    if isinstance(node, zarr.Array):
        array = node
    else:
        keys = sorted(node.array_keys())
        ome = node.attrs.get("ome")  # OME-Zarr 0.5 (zarr v3) nests the metadata under "ome"
        multiscales = node.attrs.get("multiscales") or (ome.get("multiscales") if isinstance(ome, dict) else None)
        if multiscales:
            try:
                name, axes, voxel = _from_multiscales(multiscales[0], path)
            except (KeyError, TypeError, IndexError, ValueError, AttributeError) as err:
                raise TomogramReadError(f"cannot read tomogram {path}: malformed multiscales metadata ({err!r})") from err
        elif "0" in keys:
            name = "0"
        else:
            raise TomogramReadError(
                f"cannot read tomogram {path}: zarr group without multiscales metadata and without array '0' "
                f"(arrays: {keys})"
            )
        if name not in keys:
            raise TomogramReadError(f"cannot read tomogram {path}: multiscales names array '{name}', arrays are {keys}")
        array = node[name]
    if array.ndim < 3 or any(n != 1 for n in array.shape[: array.ndim - 3]):
        raise TomogramReadError(f"cannot read tomogram {path}: array of shape {array.shape} is not a 3D volume")
    return Tomogram(path, array, axes, voxel, chunks=ZarrChunks(array, str(getattr(array, "path", "") or path.name)))


def _open_mrc(path: Path) -> Tomogram:
    import mrcfile

    try:
        compressed = path.name.endswith((".gz", ".bz2"))
        mrc = mrcfile.open(str(path), mode="r") if compressed else mrcfile.mmap(str(path), mode="r")
    except Exception as err:
        raise TomogramReadError(f"cannot read tomogram {path}: not a valid MRC file ({err})") from err
    data = mrc.data
    if data is None or data.ndim != 3:
        mrc.close()
        raise TomogramReadError(f"cannot read tomogram {path}: MRC data is not a 3D volume")
    header = mrc.header
    # data axes are (sections, rows, columns) = (maps, mapr, mapc), where 1 = x, 2 = y, 3 = z
    file_axes = [int(header.maps), int(header.mapr), int(header.mapc)]
    if sorted(file_axes) != [1, 2, 3]:
        file_axes = [3, 2, 1]
    axes = tuple(file_axes.index(a) for a in (3, 2, 1))
    size = mrc.voxel_size
    voxel = (float(size.z), float(size.y), float(size.x))
    return Tomogram(path, data, axes, voxel if all(v > 0 for v in voxel) else None, closer=mrc.close)


def open_tomogram(path: str | Path) -> Tomogram:
    """Open an OME-Zarr (group or plain array) or MRC tomogram lazily; close it when done."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"tomogram {path} does not exist")
    name = path.name.lower()
    if name.endswith(".zarr") or (path / ".zgroup").exists() or (path / "zarr.json").exists():
        return _open_zarr(path)
    if name.endswith((".mrc", ".mrc.gz", ".rec", ".map", ".mrcs", ".mrc.bz2")):
        return _open_mrc(path)
    raise TomogramReadError(f"cannot read tomogram {path}: unknown format (expected .zarr, .mrc, .mrc.gz, .rec, .map)")


def read_tomogram(path: str | Path) -> tuple[np.ndarray, tuple[float, float, float] | None]:
    """Whole tomogram as float32 (z, y, x) and its voxel size in Angstrom (None if the file has none)."""
    with open_tomogram(path) as tomo:
        return tomo.read(), tomo.voxel_size


@dataclass(frozen=True)
class Pick:
    """One particle pick: class, centre in voxels (z, y, x), and its index in its JSON file."""

    class_id: int
    class_name: str
    centre: tuple[float, float, float]
    index: int


def inside(centre, shape) -> bool:
    """Voxel i covers [i - 0.5, i + 0.5): a pick is inside when it falls in one of the voxels."""
    return all(-0.5 <= c < s - 0.5 for c, s in zip(centre, shape))


def read_picks_file(path: str | Path) -> list[tuple[float, float, float]]:
    """Locations (x, y, z in Angstrom, as stored) of one copick JSON file, validated."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read picks {path}: {err}") from err
    points = data.get("points") if isinstance(data, dict) else None
    if points is None and isinstance(data, dict) and "points" in data:
        points = []  # copick writes null for an empty pick set
    if not isinstance(points, list):
        raise ValueError(f"picks {path}: expected an object with a 'points' list")
    out = []
    for i, point in enumerate(points):
        loc = point.get("location") if isinstance(point, dict) else None
        try:
            xyz = tuple(float(loc[k]) for k in ("x", "y", "z"))
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"picks {path}: point {i} has no numeric location x, y, z: {point!r}") from None
        if not all(math.isfinite(v) for v in xyz):
            raise ValueError(f"picks {path}: point {i} has a non-finite location {xyz}")
        out.append(xyz)
    return out


def read_picks(picks_dir: str | Path, voxel_size, classes=CLASSES) -> tuple[list[Pick], list[str]]:
    """Picks of every class in `picks_dir`/<class>.json converted to voxel centres (z, y, x).

    `voxel_size` is a number or (z, y, x) in Angstrom. Returns (picks, classes whose file is absent).
    """
    vz, vy, vx = (float(voxel_size),) * 3 if np.isscalar(voxel_size) else map(float, voxel_size)
    picks, absent = [], []
    for class_id, name in enumerate(classes):
        path = Path(picks_dir) / f"{name}.json"
        if not path.exists():
            absent.append(name)
            continue
        for i, (x, y, z) in enumerate(read_picks_file(path)):
            picks.append(Pick(class_id, name, (z / vz, y / vy, x / vx), i))
    return picks, absent
