"""Centre detection on a score map: blur, local maxima, threshold (the paper's rule).

A peak is a pixel p such that
  1. the blurred map (Gaussian, sigma 1, `mode="nearest"`, truncated at 4 sigma) at p is
     >= the blurred map at every pixel of the window (5 x 5, 5 x 5 x 5) centred on p that
     lies inside the image; out-of-image neighbours do not count (`border="ignore"`), or
     count as zeros (`border="zero"`, the paper's zero-padded comparison: a pixel within
     2 px of the border is then a peak only if its blurred value is >= 0), and
  2. the unblurred map at p is > threshold (strictly; compared in the map's precision,
     i.e. a float32 map compares with float32(threshold)).
Plateaus of the blurred map therefore give several adjacent peaks, as in the paper. A
constant map (no contrast at all) has no peaks by definition: its every pixel would
otherwise be a "maximum". Coordinates come back as int64 rows (y, x) / (z, y, x) in
C (lexicographic) order.

The blur is scipy.ndimage.gaussian_filter (mode "nearest", truncate 4), as the paper's
code computes it (`gaussian_blur`). Only candidates, the pixels whose raw value passes the
threshold, are tested for the maximum: each is compared with its window, closest neighbours
first, in the blurred map framed by -inf, so a non-peak drops out after a gather or two.
When most pixels are candidates (a threshold search) one dense window maximum serves
instead: a separable running maximum over shifted slices, exactly
scipy.ndimage.maximum_filter(size=window, mode="nearest") (tested), about six times faster
than it. `tile=` processes a huge (e.g. memory-mapped) map in overlapping tiles and
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

TRUNCATE = 4.0  # Gaussian support in sigmas, scipy's default, fixed so that tiling knows its halo
MIN_PARALLEL = 1 << 18  # below this many pixels one thread is faster than splitting the map
DENSE_FRACTION = 0.2  # above this share of candidates one dense window maximum beats the gathers


def per_axis(value, ndim: int, name: str, cast=float) -> tuple:
    """One value for every axis, or exactly one per axis, as a tuple of `cast`."""
    values = tuple(cast(v) for v in (np.ravel(value) if np.ndim(value) else (value,) * ndim))
    if len(values) != ndim:
        raise ValueError(f"{name} must be one value or {ndim} values for a {ndim}D map; got {value!r}")
    return values


def sigmas_of(sigma, ndim: int) -> tuple[float, ...]:
    sigmas = per_axis(sigma, ndim, "sigma")
    if any(not np.isfinite(s) or s < 0 for s in sigmas):
        raise ValueError(f"sigma must be >= 0; got {sigma!r}")
    return sigmas


def blur_radius(sigma: float | Sequence[float], ndim: int) -> tuple[int, ...]:
    """Reach of the blur in pixels per axis (scipy's kernel half-width rule)."""
    return tuple(int(TRUNCATE * s + 0.5) for s in sigmas_of(sigma, ndim))


def as_float_map(score, name: str = "score") -> np.ndarray:
    score = np.asarray(score)
    if score.ndim == 0:
        raise ValueError(f"{name} must be a map with at least one spatial dimension; got a scalar")
    if score.dtype == bool or not np.issubdtype(score.dtype, np.number) or np.iscomplexobj(score):
        raise TypeError(f"{name} must be a real-valued map; got dtype {score.dtype}")
    if score.dtype not in (np.float32, np.float64):
        score = score.astype(np.float32 if score.dtype == np.float16 else np.float64)
    return score


def gaussian_blur(score: np.ndarray, sigma: float | Sequence[float] = 1.0, out: np.ndarray | None = None) -> np.ndarray:
    """The blur of step 1: scipy.ndimage.gaussian_filter(score, sigma, mode="nearest",
    truncate=4.0), in the map's float dtype; `out` (the map's shape and dtype, any strides)
    receives the result."""
    score = as_float_map(score)
    sigmas = sigmas_of(sigma, score.ndim)
    if out is not None and (out.shape != score.shape or out.dtype != score.dtype):
        raise ValueError(f"out must have the map's shape {score.shape} and dtype {score.dtype}; "
                         f"got {out.shape} {out.dtype}")
    return ndimage.gaussian_filter(score, sigmas, mode="nearest", truncate=TRUNCATE, output=out)


def _windows(window, ndim: int) -> tuple[int, ...]:
    windows = per_axis(window, ndim, "window", int)
    if any(w < 1 or w % 2 == 0 for w in windows):
        raise ValueError(f"window must be odd and positive (a centred neighbourhood); got {window!r}")
    return windows


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


def peak_halo(sigma: float | Sequence[float], window: int | Sequence[int], ndim: int) -> tuple[int, ...]:
    """Overlap a tile needs so that its core sees exactly the untiled blurred maxima."""
    return tuple(r + w // 2 for r, w in zip(blur_radius(sigma, ndim), _windows(window, ndim)))


def _framed_shape(shape: tuple[int, ...], half: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n + 2 * h for n, h in zip(shape, half))


BORDERS = {"ignore": -np.inf, "zero": 0.0}  # what an out-of-image neighbour compares as


def _check_border(border: str) -> float:
    if border not in BORDERS:
        raise ValueError(f"border must be one of {sorted(BORDERS)}; got {border!r}")
    return BORDERS[border]


def _framed_blur(score: np.ndarray, sigma, half: tuple[int, ...], fill: float = -np.inf):
    """The blurred map inside a frame of `half` pixels of `fill` per side (-inf: a neighbour
    off the map never wins a comparison; 0: the paper's zero padding), and the slices of the
    map within it."""
    framed = np.empty(_framed_shape(score.shape, half), score.dtype)
    for axis, h in enumerate(half):
        framed[(slice(None),) * axis + (slice(0, h),)] = fill
        framed[(slice(None),) * axis + (slice(framed.shape[axis] - h, None),)] = fill
    inner = tuple(slice(h, h + n) for h, n in zip(half, score.shape))
    gaussian_blur(score, sigma, out=framed[inner])
    return framed, inner


def _nearest_first(half: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The window's offsets but the centre, closest first: a non-peak on a smooth map
    usually has a higher direct neighbour, so it drops out at the first comparisons."""
    offsets = [o for o in itertools.product(*(range(-h, h + 1) for h in half)) if any(o)]
    return sorted(offsets, key=lambda o: (sum(v * v for v in o), o))


def _window_maxima_among(framed: np.ndarray, positions: np.ndarray, half: tuple[int, ...]) -> np.ndarray:
    """Those of `positions` (flat indices into `framed`, in order) that are >= every value
    of their window: one gather per offset over the candidates still standing."""
    flat, steps = framed.ravel(), np.array(framed.strides) // framed.itemsize
    values = flat[positions]
    for offset in _nearest_first(half):
        if not len(positions):
            break
        wins = values >= flat.take(positions + int(np.dot(offset, steps)))
        positions, values = positions.compress(wins), values.compress(wins)  # 5x faster than [wins]
    return positions


def _peaks_in(score: np.ndarray, threshold: float, sigma, window, core: tuple[slice, ...], fill: float = -np.inf):
    """Peaks of `score` whose index lies in `core`: coordinates relative to `score`, values.

    Few candidates (raw value > threshold) are tested neighbour by neighbour; many (a
    threshold search, a low threshold) against one dense window maximum: the same test.
    Candidates are flat indices into the framed blurred map, turned into coordinates
    only for the peaks."""
    half = tuple(w // 2 for w in _windows(window, score.ndim))
    framed_core = tuple(slice(c.start + h, c.stop + h) for c, h in zip(core, half))
    above = np.zeros(_framed_shape(score.shape, half), bool)
    np.greater(score[core], threshold, out=above[framed_core])
    positions = np.flatnonzero(above)
    if len(positions):
        framed, inner = _framed_blur(score, sigma, half, fill)
        if len(positions) > DENSE_FRACTION * above[framed_core].size:
            blurred = framed[inner]
            reach = window_maximum(blurred if fill == -np.inf else framed, window)
            above[inner] &= blurred >= (reach if fill == -np.inf else reach[inner])
            positions = np.flatnonzero(above)
        else:
            positions = _window_maxima_among(framed, positions, half)
    coords = np.stack(np.unravel_index(positions, above.shape), axis=1).astype(np.int64) - np.array(half, np.int64)
    return coords, score[tuple(coords.T)]


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


def _scan(score, threshold: float, sigma, window, tile, workers, border="ignore") -> tuple[np.ndarray, np.ndarray]:
    """Peak coordinates and their unblurred values, core by core (in threads: scipy and
    numpy release the GIL, so the blur, the dominant cost, runs on every core)."""
    ndim = len(np.shape(score))
    if ndim == 0:
        raise ValueError("score must be a map with at least one spatial dimension; got a scalar")
    if np.isnan(threshold):
        raise ValueError("threshold must be a number; got nan")
    sigmas_of(sigma, ndim), _windows(window, ndim)
    fill = _check_border(border)
    workers = _workers(workers)
    if tile is None:
        score = as_float_map(score)
    shape = tuple(np.shape(score))
    tiles = list(tile_windows(shape, _tile_size(shape, tile, workers), peak_halo(sigma, window, ndim)))

    def scan_tile(tile_slices):
        _, outer, core = tile_slices
        part = as_float_map(score[outer])
        low, high = (part.min(), part.max()) if part.size else (np.inf, -np.inf)  # NaN propagates
        if part.size and not (np.isfinite(low) and np.isfinite(high)):
            raise ValueError(f"score has {np.count_nonzero(~np.isfinite(part))} non-finite values (NaN or inf) "
                             f"in the region {[(o.start, o.stop) for o in outer]}")
        found, values = _peaks_in(part, threshold, sigma, window, core, fill)
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
    border: str = "ignore",
) -> np.ndarray:
    """Centres (K, d) detected in a score map (see the module docstring for the rule).

    `tile` (core size per axis) bounds memory: each tile is read with a halo of
    peak_halo(sigma, window) pixels and only its core's peaks are kept, which equals
    the untiled result bit for bit. `score` may then be any array that numpy can slice
    (np.memmap, zarr, ...); a tile is converted to numpy only when it is processed.
    Tiles (or, untiled, slabs of a large map) run in `workers` threads, default one per
    usable CPU, so up to `workers` tiles are in memory at once; the result does not
    depend on it. `border`: "ignore" or "zero" (see the module docstring).

    Args:
        score: the score map, 2D (y, x) or 3D (z, y, x), real-valued and finite; with `tile` any array numpy
            can slice.
        threshold: a peak's unblurred value must be strictly above it, in the map's units.
        sigma: standard deviation in pixels of the Gaussian blur, one value or one per axis; 0 does not blur.
        window: side in pixels of the neighbourhood a peak must dominate, odd, one value or one per axis.
        tile: None processes the map whole (in slabs along axis 0 when it is large), or the core size of
            each tile in pixels, one value or one per axis.
        workers: number of threads; None uses one per usable CPU.
        border: "ignore" (neighbours outside the map do not count) or "zero" (they count as 0, the paper's
            padding).
    """
    return _scan(score, float(threshold), sigma, window, tile, workers, border)[0]


def local_maxima(
    score: np.ndarray,
    sigma: float | Sequence[float] = 1.0,
    window: int | Sequence[int] = 5,
    tile: int | Sequence[int] | None = None,
    workers: int | None = None,
    border: str = "ignore",
) -> tuple[np.ndarray, np.ndarray]:
    """All candidate centres (K, d) and their unblurred values (K,), before thresholding.

    find_peaks(score, t) == coords[values > t]: a threshold search blurs each map once.
    """
    return _scan(score, -np.inf, sigma, window, tile, workers, border)
