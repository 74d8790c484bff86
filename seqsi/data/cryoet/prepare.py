"""Cut one patch per particle pick from every tomogram type, split by tomogram (no leakage).

Written under `out` (built in a temporary folder beside it and moved into place when complete)::

    <out>/prepare.json                                  seed, fractions, runs per split, counts, skips
    <out>/<type>/<split>/metadata.csv                   one row per patch (see METADATA_COLUMNS)
    <out>/<type>/<split>/patches/<run>__<class>__<k>.npy    float32 (z, y, x)
    <out>/examples/<type>/<class>.png                   with draw_example (e.g. save_orthogonal_views)

The split is the same for every type, so the test tomograms of one type are never trained on
in any other type, and a particle has the same file name in every type folder.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ...io import atomic_dir, write_csv, write_json
from .layout import CLASSES, DEFAULT_SPACING_DIR, DEFAULT_VOXEL_SPACING, SPLITS, TOMO_TYPES, discover_runs
from .readers import inside, open_tomogram, read_picks

METADATA_COLUMNS = [
    "patch", "run", "class_id", "class_name",
    "centre_z", "centre_y", "centre_x",     # the pick, in voxels of the tomogram
    "origin_z", "origin_y", "origin_x",     # tomogram voxel of the patch's first voxel
    "shape_z", "shape_y", "shape_x",
]


def split_runs(runs: Sequence[str], *, seed: int = 42, val_fraction: float = 0.05,
               test_fraction: float = 0.15) -> dict[str, list[str]]:
    """Seeded split of tomograms into train/val/test, exactly the paper's rule.

    The sorted run names are shuffled by numpy's legacy Mersenne twister (what the paper's
    ``np.random.seed(seed); np.random.shuffle(runs)`` does, here without touching the global
    state); val and test get int(fraction * n) runs floored, at least one each, and the shuffled
    list is cut train | val | test. Each returned list is sorted.
    """
    runs = sorted(set(runs))
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"split fractions must be in [0, 1) with a sum < 1, got val {val_fraction}, test {test_fraction}")
    n_val = max(1, int(len(runs) * val_fraction))
    n_test = max(1, int(len(runs) * test_fraction))
    n_train = len(runs) - n_val - n_test
    if n_train < 1:
        raise ValueError(f"{len(runs)} tomograms cannot be split into train/val/test with at least one each: "
                         f"need at least {n_val + n_test + 1}")
    order = list(runs)
    np.random.RandomState(seed).shuffle(order)
    return {
        "train": sorted(order[:n_train]),
        "val": sorted(order[n_train:n_train + n_val]),
        "test": sorted(order[n_train + n_val:]),
    }


def patch_origin(centre, shape, size) -> tuple[int, ...]:
    """First voxel of a `size` patch centred on `centre`, shifted to stay inside `shape`.

    An axis shorter than the patch starts before the volume (negative origin): `cut_patch` pads it.
    """
    origin = []
    for c, s, p in zip(centre, shape, size):
        start = math.floor(c + 0.5) - p // 2
        origin.append(min(max(start, 0), s - p) if s >= p else -((p - s) // 2))
    return tuple(origin)


def patch_region(centre, shape, size) -> tuple[slice, ...]:
    """The part of the volume a `size` patch around `centre` reads (see patch_origin)."""
    origin = patch_origin(centre, shape, size)
    return tuple(slice(max(o, 0), min(o + p, s)) for o, p, s in zip(origin, size, shape))


def cut_patch(read: Callable[[tuple[slice, ...]], np.ndarray], shape, centre, size) -> tuple[np.ndarray, tuple[int, ...]]:
    """Patch of `size` around `centre`; where the volume is too small it is padded with the patch mean."""
    origin = patch_origin(centre, shape, size)
    patch = read(patch_region(centre, shape, size))
    if patch.shape != tuple(size):
        before = [max(0, -o) for o in origin]
        pad = [(b, p - b - n) for b, p, n in zip(before, size, patch.shape)]
        patch = np.pad(patch, pad, constant_values=float(patch.mean()) if patch.size else 0.0)
    return patch.astype(np.float32, copy=False), origin


def _as_size(patch_size) -> tuple[int, int, int]:
    size = (int(patch_size),) * 3 if np.isscalar(patch_size) else tuple(int(p) for p in patch_size)
    if len(size) != 3 or min(size) < 1:
        raise ValueError(f"patch_size must be a positive int or 3 ints, got {patch_size}")
    return size


def _cut_patches(run, tomo_type, folder: Path, size, voxel_size, classes, max_in_memory_bytes, rows: list,
                 skip_missing_chunks: bool = False, missing: dict | None = None):
    """Save the patches of one run and type under `folder`, appending their metadata rows.

    Returns (absent pick files, number of picks outside the volume, voxel size used). A patch
    that would read absent zarr chunks is an error (MissingChunkError), or with
    `skip_missing_chunks` left out and counted in `missing` ({chunk key: patches left out}).
    """
    with open_tomogram(run.tomograms[tomo_type]) as tomo:
        spacing = voxel_size or tomo.voxel_size
        if spacing is None:
            if tomo.path.suffix != ".zarr":  # the CZII zarr files are known to be 10.012 A
                warnings.warn(f"{tomo.path}: no voxel size in the header; using {DEFAULT_VOXEL_SPACING} A", stacklevel=3)
            spacing = DEFAULT_VOXEL_SPACING
        spacing = (float(spacing),) * 3 if np.isscalar(spacing) else tuple(float(v) for v in spacing)
        picks, absent = read_picks(run.picks_dir, spacing, classes)
        kept = [p for p in picks if inside(p.centre, tomo.shape)]
        if tomo.nbytes <= max_in_memory_bytes:
            whole = tomo.read(check_chunks=not skip_missing_chunks)  # once per tomogram and type

            def read(region):
                return whole[region]
        else:
            read = tomo.read
        (folder / "patches").mkdir(parents=True, exist_ok=True)
        for p in kept:
            if skip_missing_chunks:
                absent_chunks = tomo.missing_chunks(patch_region(p.centre, tomo.shape, size))
                if absent_chunks:
                    for key in absent_chunks[:1]:
                        missing[key] = missing.get(key, 0) + 1
                    continue
            patch, origin = cut_patch(read, tomo.shape, p.centre, size)
            name = f"patches/{run.name}__{p.class_name}__{p.index:05d}.npy"
            np.save(folder / name, patch, allow_pickle=False)
            rows.append({
                "patch": name, "run": run.name, "class_id": p.class_id, "class_name": p.class_name,
                **{f"centre_{a}": round(c, 3) for a, c in zip("zyx", p.centre)},
                **{f"origin_{a}": o for a, o in zip("zyx", origin)},
                **{f"shape_{a}": n for a, n in zip("zyx", size)},
            })
    return absent, len(picks) - len(kept), spacing


def prepare_classification_data(
    data_root: str | Path,
    out: str | Path,
    *,
    patch_size=64,
    tomo_types: Sequence[str] = TOMO_TYPES,
    classes: Sequence[str] = CLASSES,
    seed: int = 42,
    val_fraction: float = 0.05,
    test_fraction: float = 0.15,
    voxel_size: float | None = None,
    spacing_dir: str = DEFAULT_SPACING_DIR,
    draw_example: Callable[..., object] | None = None,
    progress: bool = True,
    max_in_memory_bytes: int = 4 << 30,
    skip_missing_chunks: bool = False,
) -> dict:
    """Prepare `<out>/<type>/<split>/` patch folders from the raw data under `data_root`; returns the summary.

    `voxel_size` (Angstrom) overrides the files' own; otherwise MRC headers and OME-Zarr scales are
    used, and 10.012 A when a file says nothing. Tomograms no larger than `max_in_memory_bytes`
    are read once; larger ones are sliced lazily per patch. A patch over zarr chunks absent from
    the store is an error naming the array and chunk; `skip_missing_chunks` leaves such
    patches out instead, counted in the summary (`skipped_missing_chunks`). `draw_example`,
    when given, draws one example patch per type and class (see write_examples).

    Args:
        data_root: folder of the raw data, in the CZII layout (`[train/]static/ExperimentRuns/<run>/...` with
            picks under `overlay/`) or flat (`<run>/<type>.<suffix>` and `<run>/Picks/`). Never written to.
        out: folder to create; it may not be `data_root` or a folder above it. An existing one is replaced
            only when the new one is complete.
        patch_size: patch edge in voxels, one int for a cube or (z, y, x).
        tomo_types: tomogram types to cut, each one output folder; a run that lacks a type is skipped for
            that type (listed in the summary's `missing_types`).
        classes: particle classes, in class-id order; the pick file of each is `<class>.json`.
        seed: seed of the train/val/test shuffle of the runs (see split_runs).
        val_fraction: share of the runs with picks that go to val (floored, at least one run).
        test_fraction: share of the runs with picks that go to test (floored, at least one run).
        voxel_size: Angstrom per voxel, one number or (z, y, x), used for every tomogram in place of the
            files' own; None reads it from each file.
        spacing_dir: name of the voxel-spacing folder to read in each run of the CZII layout; when a run
            has no such folder its only `VoxelSpacing*` folder is used.
        draw_example: None, or `draw(patch, path, points=, title=)` that saves one PNG per type and class
            under `<out>/examples/`.
        progress: show a progress bar over the tomograms.
        max_in_memory_bytes: size in bytes up to which a tomogram is read whole (4 GiB by default).
        skip_missing_chunks: leave out, and count, patches that would read absent zarr chunks instead of
            raising.
    """
    size = _as_size(patch_size)
    tomo_types, classes = list(tomo_types), list(classes)
    out = Path(out)
    if out.resolve() == Path(data_root).resolve() or out.resolve() in Path(data_root).resolve().parents:
        raise ValueError(f"output folder {out} would replace the raw data under {data_root}; choose another --out")
    layout, runs = discover_runs(data_root, tomo_types, spacing_dir=spacing_dir)
    usable = [r for r in runs if r.tomograms]
    for r in runs:
        if not r.tomograms:
            warnings.warn(f"run {r.name}: none of the types {tomo_types} found; run left out", stacklevel=2)
    # As the paper: the split is drawn over the runs that have at least one pick, whatever their tomograms.
    picked = [r.name for r in runs if r.picks_dir is not None and read_picks(r.picks_dir, 1.0, classes)[0]]
    try:
        splits = split_runs(picked, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
    except ValueError as err:
        raise ValueError(f"{data_root}: {len(picked)} of the {len(runs)} runs have picks (the split is drawn "
                         f"over those): {err}") from None
    split_of = {run: split for split, names in splits.items() for run in names}

    rows = {t: {s: [] for s in SPLITS} for t in tomo_types}
    missing_types = {t: [] for t in tomo_types}
    skipped = {t: {} for t in tomo_types}
    absent_picks: dict[str, list[str]] = {}
    voxel_sizes: dict[str, dict[str, list[float]]] = {}
    missing_chunks: dict[str, dict[str, int]] = {}  # "<run>/<type>" -> {chunk key: patches left out}
    with atomic_dir(out) as tmp:
        for run in tqdm(usable, desc="tomograms", unit="run", disable=not progress):
            if run.name not in split_of:
                warnings.warn(f"run {run.name}: no picks; it contributes no patches and is in no split", stacklevel=2)
                if run.picks_dir is None:
                    absent_picks[run.name] = list(classes)
                continue
            split = split_of[run.name]
            for t in tomo_types:
                if t not in run.tomograms:
                    warnings.warn(f"run {run.name}: no {t} tomogram; skipped for this type", stacklevel=2)
                    missing_types[t].append(run.name)
                    continue
                absent, n_outside, spacing = _cut_patches(
                    run, t, tmp / t / split, size, voxel_size, classes, max_in_memory_bytes, rows[t][split],
                    skip_missing_chunks, missing_chunks.setdefault(f"{run.name}/{t}", {}))
                voxel_sizes.setdefault(run.name, {})[t] = list(spacing)
                if absent:
                    absent_picks[run.name] = absent
                if n_outside:
                    skipped[t][run.name] = n_outside
        if absent_picks:
            warnings.warn(f"pick files absent (counted as no picks): {absent_picks}", stacklevel=2)
        for t in tomo_types:
            for s in SPLITS:
                (tmp / t / s / "patches").mkdir(parents=True, exist_ok=True)
                write_csv(tmp / t / s / "metadata.csv", rows[t][s], fieldnames=METADATA_COLUMNS)
        summary = {
            "data_root": str(Path(data_root).resolve()),
            "layout": layout,
            "seed": seed,
            "val_fraction": val_fraction,
            "test_fraction": test_fraction,
            "patch_size": list(size),
            "classes": classes,
            "tomo_types": tomo_types,
            "splits": splits,
            "counts": {t: {s: {c: sum(r["class_name"] == c for r in rows[t][s]) for c in classes} for s in SPLITS}
                       for t in tomo_types},
            "skipped_outside": {t: v for t, v in skipped.items() if v},
            "skipped_outside_total": sum(n for v in skipped.values() for n in v.values()),
            "missing_types": {t: v for t, v in missing_types.items() if v},
            "missing_types_total": sum(len(v) for v in missing_types.values()),
            "absent_pick_files": absent_picks,
            "voxel_size_A": voxel_sizes,
            "skipped_missing_chunks": {k: v for k, v in missing_chunks.items() if v},
            "skipped_missing_chunks_total": sum(n for v in missing_chunks.values() for n in v.values()),
        }
        write_json(tmp / "prepare.json", summary)
        if draw_example is not None:
            write_examples(tmp, rows, classes, draw_example)
    return summary


def write_examples(root: Path, rows: dict, classes: Sequence[str], draw: Callable[..., object]) -> list[Path]:
    """One PNG per type and class of an example patch, its pick marked, drawn by
    `draw(patch, path, points=, title=)`: seqsi.report.views.save_orthogonal_views (three
    orthogonal slices) is the one the experiment passes; data sits below report in the layering.

    The example is the first patch (train split first) whose pick sits at the patch centre, so that
    the slices cut through the particle.
    """

    def offset(r):
        return [float(r[f"centre_{a}"]) - int(r[f"origin_{a}"]) for a in "zyx"]

    def off_centre(r):
        return max(abs(o - int(r[f"shape_{a}"]) // 2) for o, a in zip(offset(r), "zyx"))

    written = []
    for t, by_split in rows.items():
        for c in classes:
            candidates = [(s, r) for s in SPLITS for r in by_split[s] if r["class_name"] == c]
            if not candidates:
                continue
            split, example = min(candidates, key=lambda sr: off_centre(sr[1]) > 0.5)  # stable: first centred one
            patch = np.load(root / t / split / example["patch"], allow_pickle=False)
            path = root / "examples" / t / f"{c}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            draw(patch, path, points={"pick": [offset(example)]}, title=f"{c} | {t} | {example['run']} ({split})")
            written.append(path)
    return written
