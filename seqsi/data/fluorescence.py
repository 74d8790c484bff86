"""Reproducible synthetic 3D fluorescence microscopy, standing in for the paper's unpublished data set.

Image model (all lengths in micrometres; `voxel_size` converts them to voxels per axis, so
changing the sampling re-renders the same kind of scene and objects stay round in physical
units even when z is sampled more coarsely than y and x):

1. Objects. Their number is Poisson with mean `density` per 1000 um^3 of volume (at least
   one), or exactly `count`. A fraction `spot_fraction` are spots: balls of radius in
   `spot_radius`. The others are nuclei: ellipsoids with semi-axes r, r*a1, r*a2 (r in
   `nucleus_radius`, a1, a2 in `nucleus_aspect`), uniformly random orientation and a
   smooth interior texture of relative amplitude `texture`. Centres are uniform in the
   volume; objects may be cut by the border but never overlap (rejection sampling, at
   most 50 draws per object: a volume too crowded for its count holds fewer objects;
   `dataset.json` records how many each volume has).
2. Optics. Each object's fluorophore density (uniform, times the texture for nuclei) is
   blurred by a Gaussian PSF with standard deviations `psf_sigma` (z, y, x), wider along
   z as in widefield and confocal stacks, and scaled so that its peak is its brightness:
   expected photons per voxel above background, log-uniform in `brightness`. Defining
   brightness after the PSF keeps small spots as visible as large nuclei.
3. Background. A smooth, non-uniform field from `background[0]` to `background[1]` photons
   per voxel (a random sum of Gaussian bumps spaced `background_scale` apart) is added.
4. Camera. counts ~ Poisson(background + blurred objects); the camera reads
   offset + gain * counts + Normal(0, read_noise^2), rounded and clipped to uint16.

Labels: a uint16 mask (0 background, 1..K objects, in drawing order) of the object shapes
before blurring. Score maps (`seqsi.localization.score_map`, distances in micrometres)
and centres (label centroids) follow from the mask.

Bright-artifact test sets: each clean test volume gets `n_artifacts` bright structures
that are not objects: filaments (random smooth curves, tubes of radius `filament_radius`)
and irregular blobs (unions of a few balls). They are placed uniformly, independent of the
objects, so they may lie away from objects or over them. Each artifact is blurred by the
same PSF and scaled so that its peak expected photon count is k times the typical object
intensity (the median over the volume's objects of their peak blurred signal above
background), for k in `ARTIFACT_LEVELS`. The geometry is the same for every k. The
artifact adds its own photons to the clean camera counts: image_k = clean +
gain * Poisson(artifact rate), which is distributed exactly as imaging objects and
artifact together, and equals the clean image wherever the artifact rate is zero. The
rate is zero outside the artifact's support (blurred field below 1e-3 of its peak), so
artifact volumes differ from clean ones only there; masks are the clean masks.

Reproducibility: every volume draws from its own generator, seeded by (seed, split, index)
(`volume_rng`), so the same seed gives byte-identical files with the same numpy/scipy
versions (recorded in `dataset.json`).
"""
from __future__ import annotations

import dataclasses
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy
from scipy import ndimage as ndi

from seqsi.data.bioimage import IMAGES, MASKS, SCORES, artifact_folder_name, write_tiff
from seqsi.io import atomic_dir, check_replaceable, write_json
from seqsi.localization import score_map

ARTIFACT_LEVELS = (1.5, 3.0, 5.0, 10.0)
SPLITS = ("train", "val", "test")
FORMAT_VERSION = 1
_SPLIT_CODE = {"train": 0, "val": 1, "test": 2}
_STREAM = {"volume": 0, "artifacts": 1, "artifact_noise": 2}
_SUPPORT_CUTOFF = 1e-3  # artifact field below this fraction of its peak is set to exactly zero


def _pair(name, value, *, positive=True):
    lo, hi = (float(v) for v in value)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi or (lo <= 0 if positive else lo < 0):
        raise ValueError(f"{name} must be a range (low, high) with {'0 <' if positive else '0 <='} low <= high; "
                         f"got {value!r}")
    return lo, hi


@dataclass(frozen=True)
class FluorescenceParams:
    """Parameters of the image model (see the module docstring); defaults = the paper preset."""

    shape: tuple[int, int, int] = (96, 192, 192)          # voxels (z, y, x)
    voxel_size: tuple[float, float, float] = (0.4, 0.2, 0.2)  # um (z, y, x): z sampled 2x coarser
    density: float = 1.0                                  # objects per 1000 um^3 (Poisson mean)
    count: int | None = None                              # exact objects per volume (overrides density)
    spot_fraction: float = 0.3                            # fraction of objects that are spots
    nucleus_radius: tuple[float, float] = (1.2, 2.4)      # um, longest semi-axis
    nucleus_aspect: tuple[float, float] = (0.6, 1.0)      # other semi-axes / longest
    spot_radius: tuple[float, float] = (0.3, 0.6)         # um
    brightness: tuple[float, float] = (60.0, 300.0)       # peak photons/voxel above background, log-uniform
    texture: float = 0.25                                 # nucleus interior texture, relative std
    psf_sigma: tuple[float, float, float] = (0.6, 0.15, 0.15)  # um (z, y, x)
    background: tuple[float, float] = (10.0, 60.0)        # photons/voxel, min and max of the field
    background_scale: float = 12.0                        # um between bumps of the background field
    gain: float = 1.0                                     # ADU per photon
    offset: float = 100.0                                 # ADU, camera offset
    read_noise: float = 2.0                               # ADU, Gaussian read noise std
    n_artifacts: tuple[int, int] = (2, 4)                 # artifacts per test volume (inclusive)
    filament_fraction: float = 0.5                        # fraction of artifacts that are filaments
    filament_length: tuple[float, float] = (8.0, 24.0)    # um
    filament_radius: tuple[float, float] = (0.15, 0.35)   # um
    blob_radius: tuple[float, float] = (1.0, 2.5)         # um, overall size of an irregular blob

    def __post_init__(self):
        shape = tuple(self.shape)
        if len(shape) != 3 or any(int(s) != s or s < 1 for s in shape):
            raise ValueError(f"shape must be 3 positive integers (z, y, x); got {self.shape!r}")
        object.__setattr__(self, "shape", tuple(int(s) for s in shape))
        for name in ("voxel_size", "psf_sigma"):
            values = tuple(float(v) for v in getattr(self, name))
            strict = name == "voxel_size"
            if len(values) != 3 or not all(math.isfinite(v) and (v > 0 if strict else v >= 0) for v in values):
                raise ValueError(f"{name} must be 3 {'positive' if strict else 'non-negative'} numbers "
                                 f"in micrometres (z, y, x); got {getattr(self, name)!r}")
            object.__setattr__(self, name, values)
        for name in ("nucleus_radius", "nucleus_aspect", "spot_radius", "brightness", "filament_length",
                     "filament_radius", "blob_radius"):
            object.__setattr__(self, name, _pair(name, getattr(self, name)))
        object.__setattr__(self, "background", _pair("background", self.background, positive=False))
        lo, hi = self.n_artifacts
        if int(lo) != lo or int(hi) != hi or not 0 <= lo <= hi:
            raise ValueError(f"n_artifacts must be integers 0 <= low <= high; got {self.n_artifacts!r}")
        object.__setattr__(self, "n_artifacts", (int(lo), int(hi)))
        if self.nucleus_aspect[1] > 1:
            raise ValueError(f"nucleus_aspect must lie in (0, 1]; got {self.nucleus_aspect!r}")
        for name in ("spot_fraction", "filament_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1]; got {getattr(self, name)!r}")
        for name in ("density", "gain", "background_scale"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"{name} must be a positive number; got {getattr(self, name)!r}")
        for name in ("texture", "offset", "read_noise"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be a non-negative number; got {getattr(self, name)!r}")
        if self.count is not None and (int(self.count) != self.count or self.count < 0):
            raise ValueError(f"count must be a non-negative integer or None; got {self.count!r}")

    def replace(self, **changes) -> FluorescenceParams:
        return dataclasses.replace(self, **changes)

    @property
    def psf_sigma_voxels(self) -> tuple[float, ...]:
        return tuple(s / v for s, v in zip(self.psf_sigma, self.voxel_size))


PRESETS: dict[str, tuple[FluorescenceParams, dict[str, int]]] = {
    # paper scale: volumes of 38.4 um cubed, larger than the paper's 90^3 training patches
    "paper": (FluorescenceParams(), {"train": 32, "val": 8, "test": 16}),
    # CPU smoke runs: small volumes, denser so that each holds several objects
    "quick": (FluorescenceParams(shape=(24, 64, 64), density=5.0), {"train": 4, "val": 2, "test": 2}),
}


def preset(name: str) -> tuple[FluorescenceParams, dict[str, int]]:
    """(image-model parameters, split counts) of a named preset: 'paper' or 'quick'."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    params, counts = PRESETS[name]
    return params, dict(counts)


def volume_rng(seed: int, split: str, index: int, stream: str = "volume", level: float | None = None
               ) -> np.random.Generator:
    """The generator of one volume (or of its artifacts): independent of every other volume's."""
    if split not in _SPLIT_CODE:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}")
    key = (_SPLIT_CODE[split], int(index), _STREAM[stream])
    if level is not None:
        key += (int(round(level * 1000)),)
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


# ----------------------------------------------------------------------------- geometry

def _rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly random 3D rotation (QR of a Gaussian matrix with the sign convention fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def _box(centre, half, shape):
    """Slices of the box of half-size `half` voxels around `centre`, clipped to the volume."""
    lo = [max(0, int(math.floor(c - h))) for c, h in zip(centre, half)]
    hi = [min(n, int(math.ceil(c + h)) + 1) for c, h, n in zip(centre, half, shape)]
    return tuple(slice(a, b) for a, b in zip(lo, hi))


def _offsets_um(box, centre, voxel_size):
    """Physical offsets (um) of the voxel centres of `box` from `centre`, one array per axis."""
    return [((np.arange(s.start, s.stop) - c) * v).reshape([-1 if a == i else 1 for a in range(3)])
            for i, (s, c, v) in enumerate(zip(box, centre, voxel_size))]


def _ellipsoid(centre, semi_axes, rotation, voxel_size, shape):
    """(box, boolean mask in the box) of an ellipsoid; the centre voxel is always inside."""
    half = [max(semi_axes) / v + 1 for v in voxel_size]
    box = _box(centre, half, shape)
    dz, dy, dx = _offsets_um(box, centre, voxel_size)
    q = np.zeros([s.stop - s.start for s in box])
    for axis in range(3):  # coordinates along the ellipsoid's own axes (columns of `rotation`)
        u = dz * rotation[0, axis] + dy * rotation[1, axis] + dx * rotation[2, axis]
        q += (u / semi_axes[axis]) ** 2
    inside = q <= 1.0
    nearest = tuple(min(max(int(round(c)), s.start), s.stop - 1) - s.start for c, s in zip(centre, box))
    inside[nearest] = True
    return box, inside


def _smooth_field(shape, voxel_size, scale_um, rng) -> np.ndarray:
    """A random smooth field in [0, 1]: Gaussian bumps on a grid `scale_um` apart, random heights."""
    factors = []
    for n, v in zip(shape, voxel_size):
        extent = n * v
        k = max(2, int(math.ceil(extent / scale_um)) + 2)
        grid = np.linspace(-scale_um, extent + scale_um, k)
        pos = (np.arange(n) + 0.5) * v
        factors.append(np.exp(-0.5 * ((pos[:, None] - grid[None, :]) / scale_um) ** 2))
    coeffs = rng.normal(size=[f.shape[1] for f in factors])
    out = np.einsum("zi,yj,xk,ijk->zyx", *factors, coeffs, optimize=True)
    out -= out.min()
    peak = out.max()
    return (out / peak if peak > 0 else out).astype(np.float32)


# ----------------------------------------------------------------------------- one volume

@dataclass
class SyntheticVolume:
    """One generated volume, with what the artifact sets and the metadata need."""

    image: np.ndarray          # uint16 camera image (ADU)
    labels: np.ndarray         # uint16 label mask, 0 = background
    object_level: float        # median over objects of their peak blurred signal above background
    kinds: list[str] = field(default_factory=list)  # "nucleus" / "spot" per label 1..K


def _place_objects(params: FluorescenceParams, rng: np.random.Generator):
    """Draw non-overlapping objects; returns labels, their blurred signal and kinds.

    Each object is blurred on its own (in a box wide enough for the PSF, so the sum equals
    blurring the whole scene) and scaled so that its peak is its drawn brightness: every
    object is visible at a known contrast, however small it is.
    """
    shape, vs = params.shape, params.voxel_size
    sigma = params.psf_sigma_voxels
    reach = [int(math.ceil(4 * s)) + 1 for s in sigma]  # >= gaussian_filter's kernel radius
    volume_um3 = float(np.prod(shape) * np.prod(vs))
    n = params.count if params.count is not None else max(1, int(rng.poisson(params.density * volume_um3 / 1000)))
    labels = np.zeros(shape, dtype=np.int32)
    blurred = np.zeros(shape, dtype=np.float32)
    kinds: list[str] = []
    log_b = np.log(params.brightness)
    for _ in range(50 * n):
        if len(kinds) == n:
            break
        spot = rng.random() < params.spot_fraction
        centre = rng.random(3) * np.array(shape) - 0.5
        if spot:
            radius = rng.uniform(*params.spot_radius)
            semi, rotation = (radius, radius, radius), np.eye(3)
        else:
            radius = rng.uniform(*params.nucleus_radius)
            semi = (radius, radius * rng.uniform(*params.nucleus_aspect), radius * rng.uniform(*params.nucleus_aspect))
            rotation = _rotation(rng)
        brightness = float(np.exp(rng.uniform(*log_b)))
        box, inside = _ellipsoid(centre, semi, rotation, vs, shape)
        if np.any(labels[box][inside]):
            continue  # overlaps an earlier object: redraw
        density = inside.astype(np.float32)
        if not spot and params.texture > 0:
            noise = ndi.gaussian_filter(rng.normal(size=inside.shape), [0.3 / v for v in vs])
            noise /= noise.std() or 1.0
            density *= np.clip(1 + params.texture * noise, 0, None).astype(np.float32)
        kinds.append("spot" if spot else "nucleus")
        labels[box][inside] = len(kinds)
        # pad the box by the PSF's reach (clipped at the volume border, where both are zero outside)
        lo = [max(0, s.start - r) for s, r in zip(box, reach)]
        hi = [min(n_, s.stop + r) for s, r, n_ in zip(box, reach, shape)]
        padded = np.zeros([b - a for a, b in zip(lo, hi)], dtype=np.float32)
        padded[tuple(slice(s.start - a, s.stop - a) for s, a in zip(box, lo))] = density
        light = ndi.gaussian_filter(padded, sigma, mode="constant")
        blurred[tuple(slice(a, b) for a, b in zip(lo, hi))] += light * (brightness / max(float(light.max()), 1e-12))
    return labels, blurred, kinds


def generate_volume(params: FluorescenceParams, rng: np.random.Generator) -> SyntheticVolume:
    """Render one clean volume. The scene and the camera noise use separate child streams,
    so changing only noise parameters keeps the same objects."""
    scene_rng, noise_rng = rng.spawn(2)
    labels, blurred, kinds = _place_objects(params, scene_rng)
    lo, hi = params.background
    background = lo + (hi - lo) * _smooth_field(params.shape, params.voxel_size, params.background_scale, scene_rng)
    signal = (background + blurred).astype(np.float32)
    counts = noise_rng.poisson(signal)
    analog = params.offset + params.gain * counts + noise_rng.normal(0.0, params.read_noise, size=signal.shape)
    image = np.clip(np.rint(analog), 0, 65535).astype(np.uint16)
    if kinds:
        peaks = ndi.maximum(blurred, labels, index=np.arange(1, len(kinds) + 1))
        object_level = float(np.median(peaks))
    else:
        object_level = float(np.sqrt(np.prod(params.brightness)))  # the median of the log-uniform draw
    label_dtype = np.uint16 if len(kinds) <= 65535 else np.int32
    return SyntheticVolume(image, labels.astype(label_dtype), object_level, kinds)


# ----------------------------------------------------------------------------- artifacts

def _filament(params: FluorescenceParams, rng):
    """Points (um) along a smooth random curve inside the volume, and the tube radius."""
    extent = np.array(params.shape) * np.array(params.voxel_size)
    step = 0.5 * min(params.voxel_size)
    length = rng.uniform(*params.filament_length)
    point, direction = rng.random(3) * extent, rng.normal(size=3)
    points = []
    for _ in range(int(length / step) + 1):
        points.append(point)
        direction = direction / np.linalg.norm(direction) + rng.normal(size=3) * 0.08
        point = point + step * direction / np.linalg.norm(direction)
    return np.array(points), rng.uniform(*params.filament_radius)


def _blob(params: FluorescenceParams, rng):
    """Centres (um) and radii of a few overlapping balls: an irregular blob."""
    extent = np.array(params.shape) * np.array(params.voxel_size)
    size = rng.uniform(*params.blob_radius)
    k = int(rng.integers(3, 7))
    centres = rng.random(3) * extent + rng.normal(size=(k, 3)) * 0.5 * size
    return centres, size * rng.uniform(0.35, 0.7, size=k)


def _balls_mask(centres_um, radii_um, params: FluorescenceParams):
    """(box, mask) of a union of balls, in a box that covers them plus the PSF's reach.

    Voxel index i along an axis sits at i * voxel size (um).
    """
    vs = np.array(params.voxel_size)
    reach = np.ceil(4 * np.array(params.psf_sigma_voxels)) + 1
    lo = np.floor((centres_um - radii_um[:, None]).min(0) / vs) - reach
    hi = np.ceil((centres_um + radii_um[:, None]).max(0) / vs) + reach + 1
    lo = np.clip(lo, 0, params.shape).astype(int)
    hi = np.clip(hi, 0, params.shape).astype(int)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    mask = np.zeros(hi - lo, dtype=bool)
    if mask.size == 0:
        return box, mask
    for c, r in zip(centres_um, radii_um):
        a = np.clip(np.floor((c - r) / vs).astype(int), lo, hi)
        b = np.clip(np.ceil((c + r) / vs).astype(int) + 1, lo, hi)
        if np.any(b <= a):
            continue  # this ball lies outside the volume
        d2 = sum(((np.arange(a[i], b[i]) * vs[i] - c[i]) ** 2).reshape([-1 if j == i else 1 for j in range(3)])
                 for i in range(3))
        mask[tuple(slice(a[i] - lo[i], b[i] - lo[i]) for i in range(3))] |= d2 <= r * r
        nearest = np.rint(c / vs).astype(int)
        if np.all((nearest >= lo) & (nearest < hi)):  # thinner than a voxel: keep the tube connected
            mask[tuple(nearest - lo)] = True
    return box, mask


def artifact_field(params: FluorescenceParams, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """Bright non-object structures, blurred by the PSF, each scaled to a peak of 1.

    Returns the float32 field (zero outside the artifacts' support) and their kinds.
    Multiply by k * object level to get the expected extra photons per voxel.
    """
    field_ = np.zeros(params.shape, dtype=np.float32)
    kinds = []
    n = int(rng.integers(params.n_artifacts[0], params.n_artifacts[1] + 1))
    for _ in range(n):
        if rng.random() < params.filament_fraction:
            points, radius = _filament(params, rng)
            centres, radii, kind = points, np.full(len(points), radius), "filament"
        else:
            centres, radii = _blob(params, rng)
            kind = "blob"
        box, mask = _balls_mask(centres, radii, params)
        if not mask.any():
            continue  # drawn entirely outside the volume
        blurred = ndi.gaussian_filter(mask.astype(np.float32), params.psf_sigma_voxels, mode="constant")
        blurred /= blurred.max()
        blurred[blurred < _SUPPORT_CUTOFF] = 0
        field_[box] += blurred
        kinds.append(kind)
    return field_, kinds


def add_artifacts(image: np.ndarray, field_: np.ndarray, level: float, params: FluorescenceParams,
                  rng: np.random.Generator) -> np.ndarray:
    """Clean uint16 image + the camera counts of an artifact whose peak rate is `level` photons.

    Where `field_` is 0 the Poisson draw is exactly 0, so the result equals `image` there.
    """
    extra = params.gain * rng.poisson(level * field_.astype(np.float64))
    return np.clip(image.astype(np.int64) + np.rint(extra).astype(np.int64), 0, 65535).astype(np.uint16)


# ----------------------------------------------------------------------------- data set

def volume_name(split: str, index: int) -> str:
    return f"{split}_{index:04d}"


def _check_counts(counts: Mapping[str, int]) -> dict[str, int]:
    unknown = set(counts) - set(SPLITS)
    if unknown:
        raise ValueError(f"counts has unknown split(s) {sorted(unknown)}; splits are {SPLITS}")
    out = {s: int(counts.get(s, 0)) for s in SPLITS}
    if any(n < 0 for n in out.values()) or not any(out.values()):
        raise ValueError(f"counts must be non-negative with at least one volume; got {dict(counts)!r}")
    return out


def write_dataset(root: str | os.PathLike, params: FluorescenceParams | None = None, *, seed: int = 0,
                  counts: Mapping[str, int] | None = None, artifact_levels: Sequence[float] = ARTIFACT_LEVELS,
                  compression: str | None = "zlib", overwrite: bool = False, progress=None) -> dict:
    """Generate a whole data set under `root` (written atomically: all of it, or nothing).

    Layout: `<root>/<split>/{images,masks,scores}/<split>_<index>.tif` for train/val/test,
    `<root>/test/arti_<k>/{images,masks}/` for each artifact level k, and `dataset.json`
    (parameters, seed, counts, per-volume facts). Returns the content of `dataset.json`.
    `overwrite=True` replaces only a folder that this generator wrote before.

    Args:
        root: folder to write; it must be absent or empty unless `overwrite`.
        params: image-model parameters; None uses FluorescenceParams() (the paper preset).
        seed: base seed; each volume draws from its own generator seeded by (seed, split, index).
        counts: number of volumes per split, e.g. {"train": 32, "val": 8, "test": 16}; absent splits get none.
            None uses the paper preset's counts.
        artifact_levels: artifact peak brightness as multiples of the typical object intensity, one test
            folder each; distinct positive numbers, or empty for no artifact folders.
        compression: TIFF compression passed to tifffile ("zlib"), or None for uncompressed files.
        overwrite: allow replacing a non-empty `root` that holds a `dataset.json` from this generator.
        progress: None, or `progress(split, index, record)` called after each volume is written, with the
            volume's entry of dataset.json.
    """
    params = params if params is not None else FluorescenceParams()
    counts = _check_counts(counts if counts is not None else preset("paper")[1])
    levels = [float(k) for k in artifact_levels]
    if any(not (math.isfinite(k) and k > 0) for k in levels) or len(set(levels)) != len(levels):
        raise ValueError(f"artifact_levels must be distinct positive numbers; got {list(artifact_levels)!r}")
    root = Path(root)
    check_replaceable(root, "dataset.json", overwrite)
    meta: dict = {
        "generator": "seqsi.data.fluorescence", "format_version": FORMAT_VERSION, "seed": int(seed),
        "params": dataclasses.asdict(params), "counts": counts, "artifact_levels": levels,
        "artifact_folders": [artifact_folder_name(k) for k in levels], "axes": "zyx", "units": "um",
        "score_map_spacing": list(params.voxel_size), "versions": {"numpy": np.__version__, "scipy": scipy.__version__},
        "volumes": {},
    }
    with atomic_dir(root) as tmp:
        for split in SPLITS:
            records = []
            for i in range(counts[split]):
                name = volume_name(split, i)
                vol = generate_volume(params, volume_rng(seed, split, i))
                files = {IMAGES: vol.image, MASKS: vol.labels, SCORES: score_map(vol.labels, spacing=params.voxel_size)}
                for sub, array in files.items():
                    write_tiff(tmp / split / sub / f"{name}.tif", array, spacing=params.voxel_size,
                               compression=compression)
                record = {"name": name, "n_objects": len(vol.kinds), "n_spots": vol.kinds.count("spot"),
                          "object_level_photons": round(vol.object_level, 6)}
                if split == "test" and levels:
                    arti, kinds = artifact_field(params, volume_rng(seed, split, i, "artifacts"))
                    record["artifacts"] = kinds
                    for k in levels:
                        folder = tmp / split / artifact_folder_name(k)
                        noisy = add_artifacts(vol.image, arti, k * vol.object_level, params,
                                              volume_rng(seed, split, i, "artifact_noise", k))
                        write_tiff(folder / IMAGES / f"{name}.tif", noisy, spacing=params.voxel_size,
                                   compression=compression)
                        (folder / MASKS).mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(tmp / split / MASKS / f"{name}.tif", folder / MASKS / f"{name}.tif")
                records.append(record)
                if progress is not None:
                    progress(split, i, record)
            meta["volumes"][split] = records
        write_json(tmp / "dataset.json", meta)
    return meta
