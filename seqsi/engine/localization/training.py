"""Training one score-map network: crops of the run's data, seqsi.engine.fit, then the threshold."""
from __future__ import annotations

import copy
import os

from .. import distributed
from ..seeding import seed_all
from ..tasks import MapRegression
from ..trainer import TrainSettings, fit
from ..config import ModelSection, save_config
from .config import method_names, run_dir_for
from .data import crop_set, photometric_augment, training_items, validation_crops
from .threshold import fit_and_store_threshold


def train_localizer(config: dict, run_dir: str | os.PathLike | None = None, *, ctx: distributed.Context | None = None,
                    resume: bool = False) -> dict:
    """Train one score-map network, keep the best-val-loss checkpoint, fit its threshold.

    Returns {"run_dir", "best", "best_epoch", "threshold", "val_score"}. Writes the run
    folder described in seqsi.engine.localization (only rank 0 writes under torchrun).
    """
    ctx = ctx or distributed.init()
    mode, loss = method_names(config)
    config = copy.deepcopy(config)
    config["model"]["mode"], config["model"]["loss"] = mode.name, loss.name
    run_dir = run_dir_for(config, run_dir)
    train_items, val_items = training_items(config["data"])
    seed_all(config["seed"])
    model = ModelSection.of(config).build(int(config["data"]["dims"]))
    train_set = crop_set(train_items, config["crops"], config["seed"])
    val_set = validation_crops(val_items, config)
    settings = TrainSettings.from_dict({**config["train"], "seed": config["seed"]})
    meta = {"experiment": config["experiment"], "dataset": str(config["data"]["root"]),
            "model_spec": model.seqsi_spec, "config": config}
    if ctx.is_main:
        print(f"run {run_dir}: {mode.label} + {loss.name.upper()}, aug {config['augment']['group']}, seed "
              f"{config['seed']}; {len(train_items)} train / {len(val_items)} val images, {len(train_set)} crops of "
              f"{train_set.patch} per epoch, device {ctx.device}", flush=True)
        save_config(run_dir / "config.yaml", config)
    result = fit(model, MapRegression(loss), train_set, val_set, settings, run_dir, meta, ctx=ctx, resume=resume,
                 augment=photometric_augment(config["augment"]))
    out = {"run_dir": run_dir, "best": result["best"], "best_epoch": result["best_epoch"]}
    if ctx.is_main:
        out.update(fit_and_store_threshold(run_dir, config, val_items, ctx.device))
    distributed.barrier(ctx)
    return out


__all__ = ["train_localizer"]
