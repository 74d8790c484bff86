"""Scoring a trained localizer against ground truth: every alteration of the suite and every
artifact set of a test folder, per image and per set; overlays of the detections.

Every model sees identical corrupted images (`test_set_generator`). evaluate_run writes
results.csv, per_image.csv and overlays/ into the run folder, or for other data into a
folder of its own (`evaluation_folder`).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ...data.bioimage import MASKS, BioimageDataset, artifact_folder_name, artifact_sets
from ...data.crops import minmax_unit
from ...io import read_csv, write_csv
from ...localization import get_loss, predict_maps
from ...photometric import load_suite
from ...report.results import write_results
from ...report.views import save_orthogonal_views, save_overlay_2d
from ..evaluate import test_set_generator
from ..runcheck import load_localization_model, transfer_folder
from .config import DTYPES, method_names, run_dir_for, run_fields
from .data import reference_centres
from .scoring import detect_in, eval_copy, score_detections, set_metrics
from .threshold import read_threshold

PER_IMAGE_FILE = "per_image.csv"


def test_sets_of(eval_cfg: Mapping, dims: int) -> list[tuple[str, Any]]:
    """(name, corruption) of the suite's alterations: config test_sets, or the suite's list
    minus the in-memory artifact entries (artifact sets come from folders, see below) and
    anything that does not support `dims`."""
    suite = load_suite(eval_cfg["suite"])
    names = eval_cfg.get("test_sets") or suite.test_set_names()
    chosen = []
    for name in names:
        corruption = suite[name]
        if dims not in corruption.dims:
            raise ValueError(f"eval.test_sets: {name!r} supports {corruption.dims}D data, not {dims}D")
        chosen.append((name, corruption))
    return chosen


def artifact_test_sets(test_dir: Path, eval_cfg: Mapping, dims: int) -> list[tuple[str, Any, Path | None]]:
    """Bright-artifact test sets as (name, corruption or None, folder or None).

    artifact_sets: "folders" -> every `arti_<k>` folder under the test folder (none: none);
    "suite" -> the suite's simulated `arti_<k>` corruptions on the clean images; "none".
    """
    how = eval_cfg.get("artifact_sets", "folders")
    if how == "none":
        return []
    if how == "folders":
        return [(artifact_folder_name(k), None, folder) for k, folder in artifact_sets(test_dir).items()]
    if how == "suite":
        suite = load_suite(eval_cfg["suite"])
        return [(n, suite[n], None) for n in suite.test_set_names(artifacts=True) if dims in suite[n].dims]
    raise ValueError(f"eval.artifact_sets must be folders, suite or none; got {how!r}")


def skipped_artifact_sets(test_dir: Path, eval_cfg: Mapping, dims: int) -> list[str]:
    """The suite's artifact test sets (for `dims`) that an artifact_sets=folders evaluation has
    no `test/arti_<k>/` folder for: they are skipped, and said so."""
    if eval_cfg.get("artifact_sets", "folders") != "folders":
        return []
    suite = load_suite(eval_cfg["suite"])
    present = {artifact_folder_name(k) for k in artifact_sets(test_dir)}
    return [n for n in suite.test_set_names(artifacts=True) if dims in suite[n].dims and n not in present]


def _artifact_dataset(folder: Path, eval_cfg: Mapping, clean_masks: Path, dims: int, spacing):
    masks_dir = None
    if not (folder / MASKS).is_dir():
        if eval_cfg.get("artifact_masks", "own") != "clean":
            raise FileNotFoundError(f"{folder}: artifact set without a {MASKS}/ folder; copy the clean masks "
                                    f"there, or set eval.artifact_masks=clean to score against {clean_masks}")
        masks_dir = clean_masks
    return BioimageDataset(folder, ndim=dims, masks_dir=masks_dir, spacing=spacing)


def evaluate_localizer(model: nn.Module, loss, threshold: float, test_dir: str | os.PathLike, eval_cfg: Mapping, *,
                       dims: int, spacing: Sequence[float] | None = None, device="cpu",
                       overlay_dir: str | os.PathLike | None = None, overlay_images: Iterable[str] | None = None,
                       overlay_sets: Iterable[str] = ("none",), progress: bool = False,
                       centroids: str = "exact") -> tuple[dict, list[dict]]:
    """Score a model against ground truth on every alteration and artifact set of a test folder.

    Per test image: min-max normalise to [0, 1], alter it (generator test_set_generator(seed,
    name, image index), so every model sees the same images), predict (whole or tiled),
    post-process by the loss, detect with `threshold`, match against the mask's centroids
    within eval.max_dist. Returns ({test set: set-level metrics}, per-image rows).
    Overlays (2D image / 3D max projections, detections and ground truth) are written for
    `overlay_images` (default: the first image) on `overlay_sets` under `overlay_dir`.

    Args:
        model: the trained localizer; it is copied in eval.dtype onto `device` (the caller's model is unchanged).
        loss: its training loss (name, LocalizationLoss or Mode), which post-processes the output maps.
        threshold: detection threshold on the post-processed maps, as fitted on the validation set.
        test_dir: test folder with images/ and masks/, and any arti_<k>/ artifact sets.
        eval_cfg: the config's eval section: suite, seed, dtype ("float32" or "float64"), max_dist (pixels),
            max_pixels, tile, overlap, and optionally batch_size (1), test_sets (None: the suite's list),
            artifact_sets ("folders", "suite" or "none"), artifact_masks ("own" or "clean") and border
            ("ignore" or "zero").
        dims: 2 for images, 3 for volumes; every file must have it.
        spacing: pixel or voxel size in micrometres, (y, x) or (z, y, x), in place of the size stored in each
            file; it only scales the overlays here.
        device: where the model runs.
        overlay_dir: folder for the overlay PNGs (`<overlay_dir>/<test set>/<image>.png`); None draws none.
        overlay_images: names of the test images to draw; None draws the first one.
        overlay_sets: names of the test sets to draw; "none" is the clean set.
        progress: print each image's name as it is scored.
        centroids: reference centres: "exact" label centroids, or "paper" for the paper's biased 3D centres.
    """
    loss, test_dir = get_loss(loss), Path(test_dir)
    dtype = DTYPES[eval_cfg["dtype"]]
    border = eval_cfg.get("border", "ignore")
    net = eval_copy(model, dtype, device)
    clean = BioimageDataset(test_dir, ndim=dims, spacing=spacing)
    jobs = [(name, c, None) for name, c in test_sets_of(eval_cfg, dims)] + artifact_test_sets(test_dir, eval_cfg, dims)
    skipped = skipped_artifact_sets(test_dir, eval_cfg, dims)
    if skipped:
        print(f"test sets {', '.join(skipped)} skipped: no {test_dir}/<name>/ folder (eval.artifact_sets=suite "
              "simulates them on the clean images); the tables mark them as not evaluated", flush=True)
    folders = {name: _artifact_dataset(folder, eval_cfg, test_dir / MASKS, dims, spacing)
               for name, _, folder in jobs if folder is not None}
    for name, dataset in folders.items():
        if dataset.names != clean.names:
            raise ValueError(f"{dataset.folder}: artifact set images {dataset.names[:3]}... differ from the clean "
                             f"test images {clean.names[:3]}...")
    wanted = set(overlay_images) if overlay_images is not None else {clean.names[0]}
    unknown = sorted(wanted - set(clean.names))
    if unknown:
        raise ValueError(f"overlay: no test image named {', '.join(unknown)} in {test_dir} "
                         f"(images: {', '.join(clean.names[:5])}{' ...' if len(clean) > 5 else ''})")
    overlay_sets = set(overlay_sets)
    details = []
    for index in range(len(clean)):
        item = clean.load(index, score=False)
        if progress:
            print(f"  {item['name']} ({index + 1}/{len(clean)})", flush=True)
        unit = torch.from_numpy(minmax_unit(item["image"]).astype(np.float64))
        inputs, references = [], []
        for name, corruption, folder in jobs:
            if folder is not None:
                other = folders[name].load(index, score=False)
                x = torch.from_numpy(minmax_unit(other["image"]).astype(np.float64))
                ref = reference_centres(other, {"centroids": centroids})
            else:
                x, ref = unit, reference_centres(item, {"centroids": centroids})
                if corruption is not None:
                    x = corruption(x[None, None], test_set_generator(int(eval_cfg["seed"]), name, index))[0][0, 0]
            inputs.append(x)
            references.append(ref)
        outputs = predict_maps(net, inputs, dtype=dtype, device=device, max_pixels=eval_cfg["max_pixels"],
                               tile=eval_cfg["tile"], overlap=eval_cfg["overlap"],
                               batch_size=int(eval_cfg.get("batch_size", 1)))
        for (name, _, _), x, ref, output in zip(jobs, inputs, references, outputs):
            pred = detect_in(output, x, loss, threshold, border=border)
            details.append({"image": item["name"], "testset": name,
                            **score_detections(pred, ref, int(eval_cfg["max_dist"]))})
            if overlay_dir is not None and item["name"] in wanted and name in overlay_sets:
                save_detections(x.numpy(), ref, pred, Path(overlay_dir) / name / f"{item['name']}.png",
                                title=f"{item['name']}, {name}: score {details[-1]['score']:.3f}",
                                spacing=item["spacing"])
    summary = {name: set_metrics([d for d in details if d["testset"] == name]) for name, _, _ in jobs}
    return summary, details


def save_detections(image: np.ndarray, truth: np.ndarray, detected: np.ndarray, path: str | os.PathLike, *,
                    title: str = "", spacing=None) -> None:
    """PNG of an image (2D) or the max projections of a volume (3D) with both centre sets."""
    points = {"ground truth": truth, "detected": detected}
    if np.ndim(image) == 2:
        save_overlay_2d(image, path, points=points, title=title, spacing=spacing)
    else:
        save_orthogonal_views(image, path, points=points, title=title, spacing=spacing, projection="max")


def evaluation_folder(run_dir: str | os.PathLike, config: Mapping, data_root=None, out_root=None) -> Path:
    """Where evaluate_run writes: the run folder for the run's own data; for other data (or
    with `out_root`) a folder of its own (seqsi.engine.runcheck.transfer_folder)."""
    layout = run_dir_for({**config, "out": "."}).parts[-3:]
    return transfer_folder(Path(run_dir), config["data"]["root"], data_root, out_root, layout)


def evaluate_run(run_dir: str | os.PathLike, *, data_root: str | os.PathLike | None = None,
                 eval_overrides: Mapping | None = None, device="cpu", overlay_images: Iterable[str] | None = None,
                 overlay_sets: Iterable[str] = ("none",), progress: bool = False, experiment: str | None = None,
                 out_root: str | os.PathLike | None = None) -> list[dict]:
    """Evaluate a run folder's best.pt with its threshold; write results.csv, per_image.csv and
    overlays/ into `evaluation_folder` (never over the run's own results for other data).

    Args:
        run_dir: the run folder, holding best.pt and the fitted threshold.
        data_root: data folder to test on (its test/ split); None uses the one recorded in the run's config.
        eval_overrides: keys of the eval section that replace the run's own (see evaluate_localizer).
        device: where the model runs.
        overlay_images: names of the test images to draw; None draws the first one.
        overlay_sets: names of the test sets to draw; "none" is the clean set.
        progress: print each image's name as it is scored.
        experiment: "loc2d" or "loc3d" to refuse a checkpoint of another experiment; None accepts either.
        out_root: folder under which the results go, at the run's own path below its runs root; None writes
            into the run folder for its own data, else beside the runs root (see transfer_folder).
    """
    run_dir = Path(run_dir)
    model = load_localization_model(run_dir / "best.pt", experiment, map_location=device)
    config = model.seqsi_checkpoint["config"]
    target = evaluation_folder(run_dir, config, data_root, out_root)
    eval_cfg = {**config["eval"], **(eval_overrides or {})}
    root = Path(data_root or config["data"]["root"])
    dims = int(config["data"]["dims"])
    _, loss = method_names(config)
    summary, details = evaluate_localizer(model, loss, read_threshold(run_dir), root / "test", eval_cfg, dims=dims,
                                          spacing=config["data"].get("spacing"), device=device,
                                          overlay_dir=target / "overlays", overlay_images=overlay_images,
                                          overlay_sets=overlay_sets, progress=progress,
                                          centroids=config["data"].get("centroids") or "exact")
    fields = run_fields(config)
    rows = [{**fields, "testset": name, "metric": metric, "value": value}
            for name, metrics in summary.items() for metric, value in metrics.items()]
    write_csv(target / PER_IMAGE_FILE, [{**fields, **{k: v for k, v in d.items() if k != "tp"}} for d in details])
    write_results(target / "results.csv", rows)
    return rows


def read_per_image(run_dir: str | os.PathLike) -> list[dict]:
    return read_csv(Path(run_dir) / PER_IMAGE_FILE)


__all__ = ["PER_IMAGE_FILE", "artifact_test_sets", "evaluate_localizer", "evaluate_run", "evaluation_folder",
           "read_per_image", "save_detections", "skipped_artifact_sets", "test_sets_of"]
