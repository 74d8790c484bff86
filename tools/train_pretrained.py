"""Train the shipped pretrained detectors (seqsi/models/weights/) from generated data.

    nice -n 19 python tools/train_pretrained.py               # all four, 5-10 min each on an idle core
    nice -n 19 python tools/train_pretrained.py --only nuclei2d nuclei2d_standard

Families: nuclei2d (2D nuclei, seqsi.data.fluorescence2d.NUCLEI_2D) and spots3d (3D
diffraction-limited spots, seqsi.data.fluorescence with spot_fraction 1). Each is trained
as SEqSI + ZMSE and as Standard + BCE on the same generated data (seed 0), with one torch
thread. Per model the script writes `seqsi/models/weights/<name>/` = best.pt (weights
and config only, no optimizer state), threshold.json, card.json (data, config, training
time, scores on the held-out generated test set: clean, the fluorescence alterations, the bright
artifact sets, and the ten invariance cases in float64). docs/models.md is written from
the cards by `--cards_only`.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seqsi.data.fluorescence import FluorescenceParams, write_dataset  # noqa: E402
from seqsi.data.fluorescence2d import NUCLEI_2D, write_dataset_2d  # noqa: E402
from seqsi.engine.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from seqsi.engine.config import deep_merge  # noqa: E402
from seqsi.engine.localization import (THRESHOLD_FILE, evaluate_run, invariance_run, tiny_config,  # noqa: E402
                                       train_localizer)
from seqsi.io import write_json  # noqa: E402

WEIGHTS = ROOT / "seqsi" / "models" / "weights"
SPOTS_3D = FluorescenceParams(shape=(24, 64, 64), density=12.0, spot_fraction=1.0)

FAMILIES = {
    "nuclei2d": {
        "dims": 2, "params": NUCLEI_2D, "counts": {"train": 24, "val": 6, "test": 8},
        "description": "2D fluorescence nuclei (DSB2018-like), 0.5 um pixels, nuclei of 6-12 px radius",
        "overrides": {"model": {"widths": [16, 32, 64], "blocks": 1},
                      "crops": {"patch": 64, "crops_per_image": 8, "val_crops_per_image": 4},
                      "train": {"epochs": 100, "batch_size": 16},
                      "threshold": {"max_dist": 12}, "eval": {"max_dist": 12, "tile": 128},
                      "invariance": {"max_dist": 10}},
    },
    "spots3d": {
        "dims": 3, "params": SPOTS_3D, "counts": {"train": 12, "val": 4, "test": 4},
        "description": "3D diffraction-limited spots, voxels 0.4 x 0.2 x 0.2 um (z, y, x), radius 0.3-0.6 um",
        "overrides": {"model": {"widths": [8, 16, 32], "blocks": 1},
                      "crops": {"patch": [16, 32, 32], "crops_per_image": 4, "val_crops_per_image": 4},
                      "train": {"epochs": 50, "batch_size": 4},
                      "threshold": {"max_dist": 6}, "eval": {"max_dist": 6, "tile": 64},
                      "invariance": {"max_dist": 6}},
    },
}
VARIANTS = {"": ("seqsi", "zmse"), "_standard": ("standard", "bce")}
MODEL_NAMES = [family + suffix for family in FAMILIES for suffix in VARIANTS]


def make_data(family: str, work: Path) -> Path:
    spec = FAMILIES[family]
    root = work / "data" / family
    if (root / "dataset.json").is_file():
        return root
    if spec["dims"] == 2:
        write_dataset_2d(root, spec["params"], seed=0, counts=spec["counts"], overwrite=True)
    else:
        write_dataset(root, spec["params"], seed=0, counts=spec["counts"], artifact_levels=(3.0, 10.0),
                      overwrite=True)
    return root


def strip_checkpoint(source: Path, target: Path) -> None:
    """best.pt without optimizer, scheduler and random states: what inference needs."""
    payload = load_checkpoint(source)
    keep = {k: v for k, v in payload.items() if k not in ("optimizer", "scheduler", "rng", "history", "format")}
    save_checkpoint(target, keep)


def train_one(name: str, work: Path, epochs: int | None = None, weights: Path = WEIGHTS) -> dict:
    family, suffix = next((f, s) for f in FAMILIES for s in VARIANTS if f + s == name)
    spec, (mode, loss) = FAMILIES[family], VARIANTS[suffix]
    root = make_data(family, work)
    config = deep_merge(tiny_config(root, dims=spec["dims"], mode=mode, loss=loss, out=work / "runs", seed=1),
                        spec["overrides"])
    config["experiment"] = f"pretrained_{family}"
    if epochs is not None:
        config["train"]["epochs"] = epochs
    run_dir = work / "runs" / name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    start, cpu_start = time.time(), time.process_time()
    result = train_localizer(config, run_dir)
    train_seconds, cpu_seconds = time.time() - start, time.process_time() - cpu_start
    rows = evaluate_run(run_dir, overlay_images=[])
    invariance = invariance_run(run_dir)
    target = weights / name
    target.mkdir(parents=True, exist_ok=True)
    strip_checkpoint(run_dir / "best.pt", target / "best.pt")
    shutil.copyfile(run_dir / THRESHOLD_FILE, target / THRESHOLD_FILE)
    card = {
        "name": name, "family": family, "dims": spec["dims"], "mode": mode, "loss": loss,
        "description": spec["description"],
        "data": {"generator": "seqsi.data.fluorescence2d" if spec["dims"] == 2 else "seqsi.data.fluorescence",
                 "params": dataclasses.asdict(spec["params"]), "counts": spec["counts"], "seed": 0},
        "config": {k: config[k] for k in ("model", "crops", "augment", "train", "threshold")},
        "training_seconds": round(train_seconds, 1), "training_cpu_seconds": round(cpu_seconds, 1),
        "epochs": config["train"]["epochs"], "best_epoch": result["best_epoch"],
        "threshold": result["threshold"], "val_score": result["val_score"],
        "test": {r["testset"]: {m: r["value"] for m in ("score",) if r["metric"] == m} for r in rows
                 if r["metric"] == "score"},
        "test_f1": {r["testset"]: r["value"] for r in rows if r["metric"] == "f1"},
        "invariance_acc0_float64": {r["testset"]: r["value"] for r in invariance},
        "torch": torch.__version__, "threads": torch.get_num_threads(),
    }
    card["test"] = {k: v["score"] for k, v in card["test"].items()}
    write_json(target / "card.json", card)
    size = (target / "best.pt").stat().st_size
    print(f"{name}: trained in {train_seconds:.0f} s, {size / 1e6:.2f} MB, clean score {card['test'].get('none')}",
          flush=True)
    return card


COLUMNS = ["none", "affine", "scale_low", "scale_high", "shift", "affine_saturated", "scale_saturated",
           "shift_saturated", "gamma_light", "gamma_dark", "noise_low", "noise_high", "arti_3", "arti_10"]


def _minutes(card: dict) -> str:
    wall = card["training_seconds"] / 60
    cpu = card.get("training_cpu_seconds")
    return f"{wall:.1f} min wall" + (f", {cpu / 60:.1f} min CPU" if cpu else "")


def write_cards(path: Path = ROOT / "docs" / "models.md", weights: Path = WEIGHTS) -> str:
    """docs/models.md from the shipped card.json files: one card per family, SEqSI and Standard side by side."""
    cards = {p.parent.name: json.loads(p.read_text()) for p in sorted(weights.glob("*/card.json"))}
    lines = ["# Shipped pretrained models", "",
             "**These are small models trained on synthetic data** (seqsi's fluorescence generators), in minutes on one",
             "CPU core: a starting point and a demonstration of the guarantee, not a replacement for a model trained on",
             "your images. Each is written by `tools/train_pretrained.py` (seed 0 data, seed 1 training) and loads by",
             "name: `seqsi predict nuclei2d img.tif --out DIR`, `seqsi.pretrained(\"spots3d\")`, `seqsi models`.",
             "", "Scores are the localization score (mean of the accuracy curve, as in the paper) on the held-out",
             "generated test images (never seen in training or in the threshold fit), clean (`none`), under each",
             "alteration of the `fluorescence` suite (applied after min-max normalisation, the same altered images for",
             "both models) and on the bright-artifact sets (`arti_k`: artifacts k times the object intensity, renormalised).",
             "`invariance` is the mean over the paper's ten (a, b) cases of acc0, the share of detections that did not",
             "move (float64).", ""]
    for family, spec in FAMILIES.items():
        pair = [cards.get(family + suffix) for suffix in VARIANTS]
        if not all(pair):
            continue
        c = pair[0]
        data = c["data"]
        lines += [f"## {family}", "", f"{spec['description']}.", "",
                  f"- Data: `{data['generator']}`, {data['counts']['train']} train / {data['counts']['val']} val / "
                  f"{data['counts']['test']} test images of shape {tuple(data['params']['shape'][-spec['dims']:])}, "
                  f"voxel size {tuple(data['params']['voxel_size'][-spec['dims']:])} um, seed {data['seed']}.",
                  f"- Network: DRUNet-style UNet, widths {c['config']['model']['widths']}, "
                  f"{c['config']['model']['blocks']} block per level; patches {c['config']['crops']['patch']}, "
                  f"{c['config']['crops']['crops_per_image']} per image per epoch; AdamW lr "
                  f"{c['config']['train']['lr']}, batch {c['config']['train']['batch_size']}, no augmentation.",
                  "", "| model | mode + loss | epochs (best) | training time | size | threshold | val score |",
                  "|---|---|---|---|---|---|---|"]
        for card in pair:
            size = (weights / card["name"] / "best.pt").stat().st_size / 1e6
            epochs = card.get("epochs", card["config"]["train"]["epochs"])
            lines.append(f"| `{card['name']}` | {card['mode']} + {card['loss']} | {epochs} ({card['best_epoch']}) | "
                         f"{_minutes(card)} | {size:.2f} MB | {card['threshold']:.3g} | {card['val_score']:.3f} |")
        present = [k for k in COLUMNS if k in c["test"]]
        lines += ["", "| model | " + " | ".join(present) + " | invariance |", "|---" * (len(present) + 2) + "|"]
        for card in pair:
            inv = sum(card["invariance_acc0_float64"].values()) / len(card["invariance_acc0_float64"])
            lines.append(f"| `{card['name']}` | " + " | ".join(f"{card['test'][k]:.3f}" for k in present)
                         + f" | {inv:.3f} |")
        lines.append("")
    lines += ["Training times were measured on a 2-core machine shared with other jobs (`nice -n 19`, one torch",
              "thread, load average 8 to 18), so wall time overstates what training costs on an idle core; the",
              "CPU time (recorded from the spots3d runs on) is what one core spends.", "",
              "## What the numbers say", "",
              "- SEqSI + ZMSE scores exactly its clean score under every affine alteration (`affine`, `scale_*`,",
              "  `shift`) and its detections never move in the invariance cases (1.000); Standard + BCE, as good",
              "  on clean images, loses most detections under shifts and small scales.",
              "- Neither model is robust to what the guarantee does not cover: saturation (`*_saturated`), strong",
              "  noise, gamma, and bright artifacts. spots3d in particular detects artifact fragments as spots",
              "  (`arti_10`): train with artifacts or augmentation for such data.",
              "- Real data: `seqsi demo` runs `seqsi predict nuclei2d` on the embedded DSB2018 image (512 x 512,",
              "  125 annotated nuclei) and scores it against the mask; measured here: 144 detections, 81.8 % of the",
              "  nuclei matched within 12 px, localization score 0.60 (some nuclei found twice, faint ones missed).",
              "", "![nuclei2d on the DSB2018 image](demo/predict_nuclei2d.png)", "",
              "spots3d on a generated 24 x 96 x 96 volume (`seqsi predict spots3d vol.tif --out DIR`): max",
              "projections and the z-slices through the most detections.", "",
              "![spots3d, max projections](demo/predict_spots3d.png)",
              "![spots3d, z-slices](demo/predict_spots3d_slices.png)", ""]
    text = "\n".join(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=MODEL_NAMES, help="models to train (default: all four)")
    parser.add_argument("--work", default="runs/pretrained", help="data and run folders (scratch)")
    parser.add_argument("--epochs", type=int, help="override the epochs (smoke runs)")
    parser.add_argument("--weights", default=str(WEIGHTS), help="where the shipped model folders go")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the CPU is shared)")
    parser.add_argument("--cards_only", action="store_true", help="only rewrite docs/models.md from the cards")
    args = parser.parse_args(argv)
    if args.cards_only:
        print(write_cards(weights=Path(args.weights)))
        return 0
    torch.set_num_threads(args.threads)
    for name in args.only or MODEL_NAMES:
        train_one(name, Path(args.work), args.epochs, Path(args.weights))
    print(json.dumps({n: str(Path(args.weights) / n) for n in (args.only or MODEL_NAMES)}, indent=1))
    write_cards(weights=Path(args.weights))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
