"""Centre detection on a score map: blur, local maxima, threshold (SPEC section 4).

A peak is a pixel p such that
  1. the blurred map (Gaussian, sigma 1, `mode="nearest"`, truncated at 4 sigma) at p is
     >= the blurred map at every pixel of the window (5 x 5, 5 x 5 x 5) centred on p that
     lies inside the image (out-of-image neighbours do not count), and
  2. the unblurred map at p is > threshold (strictly; compared in the map's precision,
     i.e. a float32 map compares with float32(threshold)).
Plateaus of the blurred map therefore give several adjacent peaks, as in the paper. A
constant map (no contrast at all) has no peaks by definition: its every pixel would
otherwise be a "maximum". Coordinates come back as int64 rows (y, x) / (z, y, x) in
C (lexicographic) order.

The window maximum is a separable running maximum over shifted slices: exactly
scipy.ndimage.maximum_filter(size=window, mode="nearest") (tested), about six times
faster. `tile=` processes a huge (e.g. memory-mapped) map in overlapping tiles and
returns exactly the peaks of the untiled call; tiles, and slabs of a large untiled map,
are processed in threads (scipy and numpy release the GIL), again with identical output.
"""
from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

TRUNCATE = 4.0  # Gaussian support in sigmas, scipy's default, fixed so tiling knows its halo
MIN_PARALLEL = 1 << 18  # below this many pixels one thread is faster than splitting the map


def per_axis(value, ndim: int, name: str, cast=float) -> tuple:
    """One value for every axis, or exactly one per axis, as a tuple of `cast`."""
    values = tuple(cast(v) for v in (np.ravel(value) if np.ndim(value) else (value,) * ndim))
    if len(values) != ndim:
        raise ValueError(f"{name} must be one value or {ndim} values for a {ndim}D map; got {value!r}")
    return values


def _windows(window, ndim: int) -> tuple[int, ...]:
    windows = per_axis(window, ndim, "window", int)
    if any(w < 1 or w % 2 == 0 for w in windows):
        raise ValueError(f"window must be odd and positive (a centred neighbourhood); got {window!r}")
    return windows


def _sigmas(sigma, ndim: int) -> tuple[float, ...]:
    sigmas = per_axis(sigma, ndim, "sigma")
    if any(not np.isfinite(s) or s < 0 for s in sigmas):
        raise ValueError(f"sigma must be >= 0; got {sigma!r}")
    return sigmas


def _as_float_map(score, name: str = "score") -> np.ndarray:
    score = np.asarray(score)
    if score.ndim == 0:
        raise ValueError(f"{name} must be a map with at least one spatial dimension; got a scalar")
    if score.dtype == bool or not np.issubdtype(score.dtype, np.number) or np.iscomplexobj(score):
        raise TypeError(f"{name} must be a real-valued map; got dtype {score.dtype}")
    if score.dtype not in (np.float32, np.float64):
        score = score.astype(np.float32 if score.dtype == np.float16 else np.float64)
    return score


def gaussian_blur(score: np.ndarray, sigma: float | Sequence[float] = 1.0) -> np.ndarray:
    """The blur of step 1: Gaussian, edges extended with the nearest value, 4 sigma support."""
    score = _as_float_map(score)
    return ndimage.gaussian_filter(score, _sigmas(sigma, score.ndim), mode="nearest", truncate=TRUNCATE)


def window_maximum(values: np.ndarray, window: int | Sequence[int] = 5) -> np.ndarray:
    """Maximum over the centred window clipped to the array (= maximum_filter, mode nearest)."""
    out = np.asarray(values)
    for axis, size in enumerate(_windows(window, out.ndim)):
        src, out, n = out, out.copy(), out.shape[axis]
        for shift in range(1, min(size // 2, n - 1) + 1):
            low = (slice(None),) * axis + (slice(0, n - shift),)
            high = (slice(None),) * axis + (slice(shift, n),)
            np.maximum(out[low], src[high], out=out[low])
            np.maximum(out[high], src[low], out=out[high])
    return out


def blur_radius(sigma: float | Sequence[float], ndim: int) -> tuple[int, ...]:
    """Reach of the blur in pixels per axis (scipy's rule for the kernel half-width)."""
    return tuple(int(TRUNCATE * s + 0.5) for s in _sigmas(sigma, ndim))


def peak_halo(sigma: float | Sequence[float], window: int | Sequence[int], ndim: int) -> tuple[int, ...]:
    """Overlap a tile needs so that its core sees exactly the untiled blurred maxima."""
    return tuple(r + w // 2 for r, w in zip(blur_radius(sigma, ndim), _windows(window, ndim)))


def _peaks_in(score: np.ndarray, threshold: float, sigma, window, core: tuple[slice, ...]):
    """Peaks of `score` whose index lies in `core`: coordinates relative to `score`, values."""
    blurred = gaussian_blur(score, sigma)
    local = blurred[core]
    values = score[core].ravel()
    above = np.flatnonzero(values > threshold)
    if not len(above):
        return np.zeros((0, score.ndim), np.int64), values[:0]
    top = window_maximum(blurred, window)[core].ravel()[above]
    keep = above[local.ravel()[above] >= top]
    starts = np.array([s.start for s in core], np.int64)
    return np.stack(np.unravel_index(keep, local.shape), axis=1).astype(np.int64) + starts, values[keep]


def tile_windows(shape: tuple[int, ...], tile: Sequence[int], halo: Sequence[int]):
    """(core, window, core inside the window) slices of every tile: the region a tile owns,
    the region read for it (`halo` more pixels per side, clipped to the array), and where
    the first lies in the second. An empty axis gives one empty tile."""
    for starts in itertools.product(*(range(0, n, t) if n else (0,) for n, t in zip(shape, tile))):
        core = tuple(slice(s, min(s + t, n)) for s, t, n in zip(starts, tile, shape))
        window = tuple(slice(max(c.start - h, 0), min(c.stop + h, n)) for c, h, n in zip(core, halo, shape))
        inner = tuple(slice(c.start - w.start, c.stop - w.start) for c, w in zip(core, window))
        yield core, window, inner


def _tile_size(shape: tuple[int, ...], tile, workers: int) -> tuple[int, ...]:
    """The user's tiles, or one slab per worker along axis 0 for a large map."""
    if tile is None:
        slabs = max(1, min(workers, shape[0] // 64)) if int(np.prod(shape)) >= MIN_PARALLEL else 1
        return (-(-shape[0] // slabs),) + shape[1:]
    size = per_axis(tile, len(shape), "tile", int)
    if any(t < 1 for t in size):
        raise ValueError(f"tile must be positive; got {tile!r}")
    return size


def _scan(score, threshold: float, sigma, window, tile, workers) -> tuple[np.ndarray, np.ndarray]:
    """Peak coordinates and their unblurred values, core by core (in threads: scipy and
    numpy release the GIL, so the blur, the dominant cost, runs on every core)."""
    ndim = len(np.shape(score))
    if ndim == 0:
        raise ValueError("score must be a map with at least one spatial dimension; got a scalar")
    if np.isnan(threshold):
        raise ValueError("threshold must be a number; got nan")
    _sigmas(sigma, ndim), _windows(window, ndim)
    workers = _workers(workers)
    if tile is None:
        score = _as_float_map(score)
    shape = tuple(np.shape(score))
    tiles = list(tile_windows(shape, _tile_size(shape, tile, workers), peak_halo(sigma, window, ndim)))

    def scan_tile(tile_slices):
        _, outer, core = tile_slices
        part = _as_float_map(score[outer])
        low, high = (part.min(), part.max()) if part.size else (np.inf, -np.inf)  # NaN propagates
        if part.size and not (np.isfinite(low) and np.isfinite(high)):
            raise ValueError(f"score has {np.count_nonzero(~np.isfinite(part))} non-finite values (NaN or inf) "
                             f"in the region {[(o.start, o.stop) for o in outer]}")
        found, values = _peaks_in(part, threshold, sigma, window, core)
        return found + np.array([o.start for o in outer], np.int64), values, low, high

    if len(tiles) == 1 or workers == 1:
        results = [scan_tile(t) for t in tiles]
    else:
        with ThreadPoolExecutor(min(workers, len(tiles))) as pool:
            results = list(pool.map(scan_tile, tiles))
    coords, values, lows, highs = zip(*results)
    if not min(lows) < max(highs):  # empty or constant map: no contrast, no centre
        return np.zeros((0, ndim), np.int64), np.zeros(0)
    coords, values = np.concatenate(coords), np.concatenate(values)
    if len(tiles) > 1 and len(coords):
        order = np.lexsort(coords.T[::-1])
        coords, values = coords[order], values[order]
    return coords, values


def _workers(workers: int | None) -> int:
    if workers is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if int(workers) < 1:
        raise ValueError(f"workers must be >= 1; got {workers!r}")
    return int(workers)


def find_peaks(
    score: np.ndarray,
    threshold: float,
    sigma: float | Sequence[float] = 1.0,
    window: int | Sequence[int] = 5,
    tile: int | Sequence[int] | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Centres (K, d) detected in a score map (see the module docstring for the rule).

    `tile` (core size per axis) bounds memory: each tile is read with a halo of
    peak_halo(sigma, window) pixels and only its core's peaks are kept, which equals
    the untiled result bit for bit. `score` may then be any array that numpy can slice
    (np.memmap, zarr, ...); a tile is converted to numpy only when it is processed.
    Tiles (or, untiled, slabs of a large map) run in `workers` threads, default one per
    usable CPU, so up to `workers` tiles are in memory at once; the result does not
    depend on it.
    """
    return _scan(score, float(threshold), sigma, window, tile, workers)[0]


def local_maxima(
    score: np.ndarray,
    sigma: float | Sequence[float] = 1.0,
    window: int | Sequence[int] = 5,
    tile: int | Sequence[int] | None = None,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """All candidate centres (K, d) and their unblurred values (K,), before thresholding.

    find_peaks(score, t) == coords[values > t]: a threshold search blurs each map once.
    """
    return _scan(score, -np.inf, sigma, window, tile, workers)
