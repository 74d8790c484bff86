"""Seeded synthetic cryo-ET data in the CZII raw layout (zarr v2 OME-Zarr tomograms + picks JSON).

The real CZII data cannot be downloaded everywhere; this generator writes a small data set in
the same layout so that the real preparation code runs on it, and so that "train on one
reconstruction type, test on the others" is a genuine domain shift.

Sample. One underlying density per tomogram (protein = +1 relative to vitreous ice): a tilted
ice slab (vacuum above and below, -0.6), low-frequency ice texture, sometimes a carbon-film
region (+0.6, grainy), unlabelled small "other proteins", sometimes a gold bead (+4), and the
six labelled particle classes, randomly oriented and non-overlapping (soft-edged ellipsoids;
radii in voxels at size_scale 1, close to the real particles at 10 A/voxel):

| class | shape | radius |
|---|---|---|
| apo-ferritin | hollow spherical shell (inner radius 0.6 R) | 6 |
| beta-amylase | small compact ellipsoid | 4.5 |
| beta-galactosidase | four lobes in a square (D2 tetramer) | 8.5 |
| ribosome | large + small subunit, dense (1.4) | 13 |
| thyroglobulin | elongated dimer of two cigars (0.9) | 11 |
| virus-like-particle | large thin hollow shell (inner radius 0.82 R) | 14 |

Imaging, shared by the four types of one tomogram: a single-axis tilt series of +-60 degrees
(missing wedge W around the beam axis z in the (kz, kx) plane), a phase-contrast CTF of 300 kV
with defocus 2.5-4 um and 7 % amplitude contrast (protein appears dark at low frequencies,
with sign-alternating fringes above the first zero), a B-factor envelope E (B = 400 A^2), and one
white-noise field N (standard deviation 0.5 x `noise` per voxel, protein density being 1). Then, per type (k = spatial frequency in cycles/voxel, ^ = Fourier transform):

- wbp (weighted back-projection): W (CTF E D^ + s ramp(k) N^), ramp = 0.1 + |k| (the
  back-projection weighting): strong high-frequency noise, CTF fringes, low contrast,
  z-elongation from the missing wedge.
- ctfdeconvolved: the wbp data through a Wiener-like CTF deconvolution
  -CTF E / (CTF^2 E^2 + 1/snr(k)), snr(k) = 30 exp(-|k| / 0.12): fringes removed, low and mid
  frequencies restored (particles clearly dark), high frequencies damped: blotchy, band-limited
  noise, still wedge-elongated.
- denoised: the deconvolved signal with the noise reduced to 35 % and a Gaussian low-pass
  (sigma 1.2 voxels): smooth, high contrast, wedge-elongated.
- isonetcorrected: the deconvolved transfer applied isotropically (missing wedge filled), the
  deconvolved noise inside the measured wedge plus a weaker invented texture in the missing
  one, a mild Gaussian low-pass (sigma 0.7): isotropic shapes, medium-grained noise.

Finally each type is normalised to unit standard deviation over the tomogram and mapped to its
own intensity range, x = offset + gain * y, with a per-tomogram jitter (gain * exp(N(0, 0.1)),
offset + gain * N(0, 0.1)). Base (gain, offset): wbp (1, 0), ctfdeconvolved (0.3, 0.8),
denoised (2.5, -1.5), isonetcorrected (6, 3). The polarity (dark protein) is the same in every
type, so the shift between types is an a*x + b map with a > 0 plus a change of texture.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation
from tqdm.auto import tqdm

from ...io import atomic_dir, write_json
from .layout import CLASSES, DEFAULT_SPACING_DIR, DEFAULT_VOXEL_SPACING, TOMO_TYPES


@dataclass(frozen=True)
class Part:
    """A soft ellipsoid in units of the particle radius; hollow when inner > 0."""

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]
    weight: float = 1.0
    inner: float = 0.0


TEMPLATES: dict[str, tuple[float, tuple[Part, ...]]] = {
    "apo-ferritin": (6.0, (Part((0, 0, 0), (1, 1, 1), 1.0, inner=0.6),)),
    "beta-amylase": (4.5, (Part((0, 0, 0), (1.0, 0.75, 0.65)),)),
    "beta-galactosidase": (8.5, tuple(
        Part((0, 0.45 * sy, 0.45 * sx), (0.5, 0.5, 0.5)) for sy in (-1, 1) for sx in (-1, 1)
    )),
    "ribosome": (13.0, (
        Part((0, 0, -0.2), (0.8, 0.8, 0.8), 1.4),
        Part((0, 0, 0.6), (0.55, 0.7, 0.45), 1.4),
    )),
    "thyroglobulin": (11.0, (
        Part((0, -0.33, 0), (0.35, 0.35, 0.8), 0.9),
        Part((0, 0.33, 0), (0.35, 0.35, 0.8), 0.9),
    )),
    "virus-like-particle": (14.0, (Part((0, 0, 0), (1, 1, 1), 1.0, inner=0.82),)),
}

# (gain, offset) that map each type's unit-variance field to its own intensity range.
PHOTOMETRY: dict[str, tuple[float, float]] = {
    "wbp": (1.0, 0.0),
    "ctfdeconvolved": (0.3, 0.8),
    "denoised": (2.5, -1.5),
    "isonetcorrected": (6.0, 3.0),
}


@dataclass(frozen=True)
class SyntheticConfig:
    """What to generate; `missing` lists (tomogram index, type) pairs left out on purpose."""

    n_tomograms: int = 8
    shape: tuple[int, int, int] = (64, 80, 80)
    particles_per_tomogram: int = 36
    size_scale: float = 0.6
    class_weights: tuple[float, ...] = (0.2, 0.12, 0.14, 0.2, 0.17, 0.17)
    distractors_per_tomogram: int = 15
    noise: float = 1.0
    tilt_range_deg: float = 60.0
    voxel_spacing: float = DEFAULT_VOXEL_SPACING
    missing: tuple[tuple[int, str], ...] = ()
    levels: int = 3
    tomo_types: tuple[str, ...] = TOMO_TYPES
    classes: tuple[str, ...] = field(default=CLASSES)

    def __post_init__(self):
        if self.n_tomograms < 1 or self.particles_per_tomogram < 0:
            raise ValueError("n_tomograms must be >= 1 and particles_per_tomogram >= 0")
        if len(self.shape) != 3 or min(self.shape) < 8:
            raise ValueError(f"shape must be 3 sizes >= 8, got {self.shape}")
        unknown = [t for t in self.tomo_types if t not in PHOTOMETRY] + [c for c in self.classes if c not in TEMPLATES]
        if unknown:
            raise ValueError(f"no synthetic model for {unknown}")
        if len(self.class_weights) != len(self.classes):
            raise ValueError("class_weights needs one weight per class")
        for index, tomo_type in self.missing:
            if not 0 <= index < self.n_tomograms or tomo_type not in self.tomo_types:
                raise ValueError(f"missing entry ({index}, {tomo_type}) names no tomogram/type")


PRESETS = {
    # CPU minutes end to end: 8 tomograms, ~290 particles, 24^3 patches hold the largest particle.
    "quick": SyntheticConfig(),
    # Closer to the real data (7 runs, real particle sizes, 64^3 patches): ~1 GB, ~1.5 min on CPU.
    "paper": SyntheticConfig(n_tomograms=7, shape=(128, 256, 256), particles_per_tomogram=140,
                             size_scale=1.0, distractors_per_tomogram=80),
}


def run_name(index: int) -> str:
    return f"TS_syn{index:02d}"


def _soft_part(q: np.ndarray, part: Part, radius: float, soft: float = 0.35) -> np.ndarray:
    """Occupancy in [0, 1] of one part at local coordinates q (..., 3), edges about `soft` voxels wide."""
    radii = np.asarray(part.radii, float) * radius
    centre = np.asarray(part.centre, float) * radius

    def ellipsoid(scale):
        rho = np.sqrt((((q - centre) / (radii * scale)) ** 2).sum(-1))
        distance = (rho - 1.0) * float(np.exp(np.log(radii * scale).mean()))
        return 1.0 / (1.0 + np.exp(np.clip(distance / soft, -50, 50)))

    occupancy = ellipsoid(1.0)
    if part.inner > 0:
        occupancy = occupancy - ellipsoid(part.inner)
    return np.clip(occupancy, 0.0, 1.0) * part.weight


def bounding_radius(parts: tuple[Part, ...], radius: float) -> float:
    return radius * max(float(np.linalg.norm(p.centre)) + max(p.radii) for p in parts)


def render(volume: np.ndarray, parts, radius: float, centre, rotation: np.ndarray, weight: float = 1.0) -> None:
    """Add one rotated object (union of its parts) to `volume` in place, clipped at the borders."""
    reach = int(math.ceil(bounding_radius(parts, radius) + 2))
    lo = [max(0, int(round(c)) - reach) for c in centre]
    hi = [min(s, int(round(c)) + reach + 1) for c, s in zip(centre, volume.shape)]
    if any(h <= l for l, h in zip(lo, hi)):
        return
    grids = np.meshgrid(*[np.arange(l, h, dtype=float) - c for l, h, c in zip(lo, hi, centre)], indexing="ij")
    q = np.stack(grids, -1) @ rotation  # body-frame coordinates: rotation^T (p - c)
    occupancy = np.max([_soft_part(q, p, radius) for p in parts], axis=0)
    volume[tuple(slice(l, h) for l, h in zip(lo, hi))] += weight * occupancy


def _sample_density(rng: np.random.Generator, cfg: SyntheticConfig):
    """Underlying density of one tomogram and its labelled particles [(class id, centre zyx)]."""
    Z, Y, X = cfg.shape
    zz, yy, xx = np.arange(Z)[:, None, None], np.arange(Y)[None, :, None], np.arange(X)[None, None, :]
    slope = rng.uniform(-0.05, 0.05, 2)
    tilt = slope[0] * (yy - Y / 2) + slope[1] * (xx - X / 2)  # the ice slab is slightly tilted
    z0 = (rng.uniform(0.04, 0.12) * Z + tilt)[0]  # (Y, X) bottom and top of the slab
    z1 = (Z - rng.uniform(0.04, 0.12) * Z + tilt)[0]
    slab = 1.0 / (1.0 + np.exp(-(zz - z0) / 1.5)) / (1.0 + np.exp((zz - z1) / 1.5))
    ice = ndimage.gaussian_filter(rng.standard_normal(cfg.shape), 2.5)
    density = slab * 0.12 * ice / (ice.std() + 1e-12) - 0.6 * (1.0 - slab)
    carbon = np.zeros((Y, X), bool)  # a film edge crossing the field of view, through the whole slab
    if rng.random() < 0.35:
        angle = rng.uniform(0, 2 * np.pi)
        along = ((yy - Y / 2) * np.sin(angle) + (xx - X / 2) * np.cos(angle))[0]
        carbon = along > np.quantile(along, rng.uniform(0.65, 0.85))
        grain = ndimage.gaussian_filter(rng.standard_normal(cfg.shape), 1.0)
        density += carbon * slab * (0.6 + 0.2 * grain / (grain.std() + 1e-12))

    placed: list[tuple[np.ndarray, float]] = []  # (centre, bounding radius)

    def place(reach: float, tries: int = 200):
        for _ in range(tries):
            margin = 0.3 * reach
            yx = rng.uniform([margin, margin], [Y - 1 - margin, X - 1 - margin])
            iy, ix = int(yx[0]), int(yx[1])
            lo, hi = z0[iy, ix] + reach, z1[iy, ix] - reach
            z = rng.uniform(lo, hi) if hi > lo else 0.5 * (z0[iy, ix] + z1[iy, ix])
            c = np.array([z, yx[0], yx[1]])
            if carbon[iy, ix]:
                continue
            if all(np.linalg.norm(c - pc) >= reach + pr + 1.0 for pc, pr in placed):
                placed.append((c, reach))
                return c
        return None

    picks = []
    # every class at least once per tomogram (as in the real runs), the rest drawn by class weight;
    # placed largest first so that the big particles still find room
    probs = np.asarray(cfg.class_weights, float) / np.sum(cfg.class_weights)
    n = cfg.particles_per_tomogram
    drawn = list(range(len(cfg.classes)))[:n] + list(rng.choice(len(cfg.classes), size=max(0, n - len(cfg.classes)), p=probs))
    drawn.sort(key=lambda c: -TEMPLATES[cfg.classes[c]][0])
    for class_id in map(int, drawn):
        radius, parts = TEMPLATES[cfg.classes[class_id]]
        radius *= cfg.size_scale
        centre = place(bounding_radius(parts, radius))
        if centre is not None:
            rotation = Rotation.random(random_state=rng).as_matrix()
            render(density, parts, radius, centre, rotation, rng.uniform(0.85, 1.15))
            picks.append((class_id, tuple(float(v) for v in centre)))
    blob = (Part((0, 0, 0), (1.0, 0.8, 0.6)),)
    for _ in range(cfg.distractors_per_tomogram):
        radius = rng.uniform(2.5, 7.5) * cfg.size_scale
        centre = place(bounding_radius(blob, radius))
        if centre is not None:
            render(density, blob, radius, centre, Rotation.random(random_state=rng).as_matrix(), rng.uniform(0.4, 1.0))
    if rng.random() < 0.5:
        bead = (Part((0, 0, 0), (1, 1, 1)),)
        centre = place(5.0 * cfg.size_scale)
        if centre is not None:
            render(density, bead, 5.0 * cfg.size_scale, centre, np.eye(3), 4.0)
    return density, picks


def _frequencies(shape):
    kz = np.fft.fftfreq(shape[0])[:, None, None]
    ky = np.fft.fftfreq(shape[1])[None, :, None]
    kx = np.fft.rfftfreq(shape[2])[None, None, :]
    return kz, ky, kx


def _reconstruct(rng: np.random.Generator, density: np.ndarray, cfg: SyntheticConfig, types) -> tuple[dict, dict]:
    """The four reconstruction types of one density (see the module docstring) and their parameters."""
    shape = density.shape
    kz, ky, kx = _frequencies(shape)
    k = np.sqrt(kz**2 + ky**2 + kx**2)
    theta = np.degrees(np.arctan2(np.abs(kz), np.abs(kx)))
    wedge = 1.0 / (1.0 + np.exp(np.clip((theta - cfg.tilt_range_deg) / 2.5, -50, 50)))
    k_angstrom = k / cfg.voxel_spacing
    defocus = rng.uniform(2.5e4, 4.0e4)  # Angstrom
    wavelength, amplitude = 0.0197, 0.07  # 300 kV electrons
    chi = np.pi * wavelength * defocus * k_angstrom**2
    ctf = -(np.sqrt(1 - amplitude**2) * np.sin(chi) + amplitude * np.cos(chi)) * np.exp(-400.0 * k_angstrom**2 / 4)
    snr = 30.0 * np.exp(-k / 0.12)
    deconv = -ctf / (ctf**2 + 1.0 / snr)

    def lowpass(sigma):
        return np.exp(-2 * (np.pi * sigma * k) ** 2)

    D = np.fft.rfftn(density)
    N = np.fft.rfftn(rng.standard_normal(shape)) * 0.5 * cfg.noise
    N2 = np.fft.rfftn(rng.standard_normal(shape)) * 0.5 * cfg.noise
    ramp = 0.1 + 1.0 * k
    measured = wedge * (ctf * D + ramp * N)
    spectra = {  # built one at a time: a 128 x 256 x 256 spectrum is 140 MB
        "wbp": lambda: measured,
        "ctfdeconvolved": lambda: deconv * measured,
        "denoised": lambda: lowpass(1.2) * wedge * deconv * (ctf * D + 0.35 * ramp * N),
        "isonetcorrected": lambda: lowpass(0.7) * (
            deconv * ctf * D + wedge * deconv * ramp * N + (1 - wedge) * 0.5 * lowpass(1.0) * N2
        ),
    }
    volumes, params = {}, {"defocus_A": float(defocus)}
    for t in types:
        y = np.fft.irfftn(spectra[t](), s=shape, axes=(0, 1, 2))
        y = (y - y.mean()) / (y.std() + 1e-12)
        gain, offset = PHOTOMETRY[t]
        gain_t = gain * float(np.exp(rng.normal(0, 0.1)))
        offset_t = offset + gain * float(rng.normal(0, 0.1))
        volumes[t] = (offset_t + gain_t * y).astype(np.float32)
        params[t] = {"gain": gain_t, "offset": offset_t}
    return volumes, params


def simulate_tomogram(rng: np.random.Generator, cfg: SyntheticConfig):
    """One synthetic run: ({type: volume zyx float32}, [(class id, centre zyx in voxels)], params)."""
    density, picks = _sample_density(rng, cfg)
    volumes, params = _reconstruct(rng, density, cfg, cfg.tomo_types)
    return volumes, picks, params


def write_ome_zarr(path: Path, volume: np.ndarray, voxel_spacing: float, levels: int = 3) -> None:
    """zarr v2 OME-Zarr group like the CZII files: arrays "0", "1", ... (2x mean-downsampled), z, y, x."""
    import zarr

    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    datasets, level = [], volume
    for i in range(levels):
        if i:
            even = tuple(slice(0, s - s % 2) for s in level.shape)
            level = level[even]
            if min(level.shape) < 2:
                break
            level = level.reshape(level.shape[0] // 2, 2, level.shape[1] // 2, 2, level.shape[2] // 2, 2).mean((1, 3, 5))
        array = group.create_array(str(i), shape=level.shape, dtype="float32", chunks=tuple(min(64, s) for s in level.shape))
        array[...] = level.astype(np.float32)
        scale = [voxel_spacing * 2**i] * 3
        datasets.append({"path": str(i), "coordinateTransformations": [{"type": "scale", "scale": scale}]})
    group.attrs["multiscales"] = [{
        "version": "0.4",
        "name": "/",
        "axes": [{"name": a, "type": "space", "unit": "angstrom"} for a in ("z", "y", "x")],
        "datasets": datasets,
    }]


def picks_json(class_name: str, run: str, centres_zyx, voxel_spacing: float) -> dict:
    """Picks in the copick JSON schema used by CZII, locations in Angstrom."""
    identity = [[float(i == j) for j in range(4)] for i in range(4)]
    return {
        "pickable_object_name": class_name,
        "user_id": "synthetic",
        "session_id": "0",
        "run_name": run,
        "voxel_spacing": None,
        "unit": "angstrom",
        "trust_orientation": False,
        "points": [
            {"location": {"x": c[2] * voxel_spacing, "y": c[1] * voxel_spacing, "z": c[0] * voxel_spacing},
             "transformation_": identity, "instance_id": 0}
            for c in centres_zyx
        ],
    }


def generate_synthetic(out: str | Path, cfg: SyntheticConfig = PRESETS["quick"], *, seed: int = 0,
                       progress: bool = True) -> dict:
    """Write a synthetic data set in the CZII layout under `out` (atomically) and return its summary."""
    rng = np.random.default_rng(seed)
    missing = set(cfg.missing)
    summary = {"seed": seed, "config": asdict(cfg), "runs": {}}
    with atomic_dir(out) as tmp:
        for i in tqdm(range(cfg.n_tomograms), desc="synthetic tomograms", disable=not progress):
            run = run_name(i)
            volumes, picks, params = simulate_tomogram(np.random.default_rng(rng.integers(2**63)), cfg)
            tomo_dir = tmp / "train" / "static" / "ExperimentRuns" / run / DEFAULT_SPACING_DIR
            tomo_dir.mkdir(parents=True)
            for t, volume in volumes.items():
                if (i, t) not in missing:
                    write_ome_zarr(tomo_dir / f"{t}.zarr", volume, cfg.voxel_spacing, cfg.levels)
            picks_dir = tmp / "train" / "overlay" / "ExperimentRuns" / run / "Picks"
            picks_dir.mkdir(parents=True)
            counts = {}
            for class_id, name in enumerate(cfg.classes):
                centres = [c for cid, c in picks if cid == class_id]
                counts[name] = len(centres)
                write_json(picks_dir / f"{name}.json", picks_json(name, run, centres, cfg.voxel_spacing))
            summary["runs"][run] = {"picks": counts, "missing_types": [t for (j, t) in missing if j == i], **params}
        write_json(tmp / "synthetic.json", summary)
    return summary


def preset(name: str, **overrides) -> SyntheticConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown synthetic preset {name!r}; choose from {sorted(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
