"""The demo's localization half: every mode (with the loss the paper pairs it with) trained on
disjoint regions of the embedded DSB2018 image, tested under the alteration suite and on the
ten invariance cases of the paper."""
from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from ...data.bioimage import list_samples
from ...data.dsb_sample import build_sample_dataset
from ...engine.config import deep_merge
from ...engine.localization import evaluate_run, invariance_run, tiny_config, train_localizer


def run(config: dict, out: Path, progress: bool = True) -> dict:
    data_root = build_sample_dataset(out / "data" / "dsb2018_sample", overwrite=True)
    test_images = [s.name for s in list_samples(data_root / "test")]
    results, invariance, overlays = [], [], {}
    for name in tqdm(config["modes"], desc="localization: modes", disable=not progress):
        run_cfg = deep_merge(tiny_config(data_root, dims=2, mode=name, out=out / "runs" / "localization",
                                         seed=config["seed"]), config["localization"])
        result = train_localizer(run_cfg)
        run_dir = Path(result["run_dir"])
        results += evaluate_run(run_dir, overlay_images=test_images[:1])
        invariance += invariance_run(run_dir)
        overlays[name] = sorted((run_dir / "overlays").rglob("*.png"))
    return {"results": results, "invariance": invariance, "overlays": overlays, "data_root": data_root,
            "test_images": len(test_images)}
