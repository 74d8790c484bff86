"""One training loop for every experiment.

`fit` trains a model on a dataset for a `Task` (what the loss and validation metrics
are). It runs on one CPU/GPU or under torchrun (DistributedDataParallel, only rank 0
writes), keeps `last.pt` every epoch and `best.pt` by a chosen validation metric, logs
every epoch to `metrics.csv` (and TensorBoard when installed), and resumes exactly: each
epoch reseeds every generator from (seed, epoch), so batches, crops, augmentations and
dropout after a resume are those of an uninterrupted run.
"""
from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from tqdm import tqdm

from ..io import write_csv
from . import distributed
from .checkpoint import load_checkpoint, save_checkpoint
from .seeding import derive_seed, rng_state, seed_all, set_deterministic, set_rng_state, worker_init

Augment = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or inf; the last good checkpoint is left untouched."""


class Task(Protocol):
    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss of a batch (what is minimised)."""

    def metric_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-batch SUMS of per-sample validation metrics; fit divides by the sample count (and then
        passes them through the task's optional `summarise(metrics) -> metrics`)."""


@dataclass
class TrainSettings:
    epochs: int
    batch_size: int
    optimizer: str = "sgd"  # sgd | adamw
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # cosine (per epoch) | cosine_steps (per batch) | constant
    eta_min: float = 0.0  # the cosine schedules' floor
    clip_grad_norm: float | None = None
    clip_grad_value: float | None = None
    amp: bool = False  # bfloat16 autocast on CUDA GPUs that support it (ignored elsewhere)
    monitor: str = "accuracy"  # validation metric that selects best.pt
    monitor_mode: str = "max"  # max | min
    seed: int = 0
    deterministic: bool = False
    num_workers: int = 0
    eval_batch_size: int | None = None
    progress: bool = True

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainSettings":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training settings {unknown}; known: {sorted(known)}")
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            wanted = {"int": int, "float": (int, float), "bool": bool, "str": str}.get(str(f.type).split(" ")[0])
            if value is None and "None" not in str(f.type):
                raise ValueError(f"training setting {f.name} must be {str(f.type).split(' ')[0]}; got no value (null)")
            if value is not None and wanted is not None and (not isinstance(value, wanted) or
                                                             (wanted is not bool and isinstance(value, bool))):
                raise ValueError(f"training setting {f.name} must be {str(f.type).split(' ')[0]}; got {value!r}")
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (0 <= self.eta_min <= self.lr, f"eta_min must be in [0, lr], got {self.eta_min}"),
            (self.optimizer in ("sgd", "adamw"), f"optimizer must be sgd or adamw, got {self.optimizer!r}"),
            (self.schedule in ("cosine", "cosine_steps", "constant"),
             f"schedule must be cosine, cosine_steps or constant, got {self.schedule!r}"),
            (self.monitor_mode in ("max", "min"), f"monitor_mode must be max or min, got {self.monitor_mode!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


def make_optimizer(params, s: TrainSettings) -> torch.optim.Optimizer:
    if s.optimizer == "sgd":
        return torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    return torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay)


def make_scheduler(optimizer, s: TrainSettings, steps_per_epoch: int):
    if s.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=s.epochs, eta_min=s.eta_min)
    if s.schedule == "cosine_steps":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=s.epochs * steps_per_epoch,
                                                          eta_min=s.eta_min)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)


def _autocast(s: TrainSettings, device: torch.device):
    if s.amp and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def row_major(x: torch.Tensor) -> torch.Tensor:
    """`x` with the default row-major strides. A 1-channel batch cut from a channels-last view
    passes is_contiguous() with channels-last strides; its convolutions then give channels-last
    weight gradients, and DDP's copy of those into its buckets corrupted the heap on CPU
    (gloo, torch 2.14.1, AMD EPYC: 'corrupted double-linked list' at the first backward)."""
    if x.stride() == torch.empty(x.shape, device="meta").stride():
        return x
    return x.clone(memory_format=torch.contiguous_format)


def evaluate_task(model: nn.Module, task: Task, dataset: Dataset, s: TrainSettings,
                  ctx: distributed.Context) -> dict[str, float]:
    """Average validation metrics; each rank takes every world_size-th sample, sums are all-reduced."""
    shard = Subset(dataset, range(ctx.rank, len(dataset), ctx.world_size))
    loader = DataLoader(shard, batch_size=s.eval_batch_size or s.batch_size, num_workers=s.num_workers,
                        worker_init_fn=worker_init)
    sums: dict[str, torch.Tensor] = {}
    count = torch.zeros((), dtype=torch.float64, device=ctx.device)
    model.eval()
    with torch.no_grad(), _autocast(s, ctx.device):
        for x, y in loader:
            x, y = x.to(ctx.device), y.to(ctx.device)
            out = model(x)
            for key, value in task.metric_sums(out.float(), y).items():
                sums[key] = sums.get(key, 0) + value.detach().double()
            count += len(x)
    keys = sorted(sums)
    totals = distributed.all_reduce_sum(torch.stack([sums[k] for k in keys] + [count]), ctx)
    averages = {k: (totals[i] / totals[-1]).item() for i, k in enumerate(keys)}
    return task.summarise(averages) if hasattr(task, "summarise") else averages


def fit(
    model: nn.Module,
    task: Task,
    train_set: Dataset,
    val_set: Dataset,
    settings: TrainSettings,
    run_dir: str | Path,
    meta: dict[str, Any],
    *,
    ctx: distributed.Context | None = None,
    resume: bool = False,
    augment: Augment | None = None,
) -> dict[str, Any]:
    """Train; returns {"best": value, "best_epoch": n, "history": [...]}.

    `meta` is stored in every checkpoint: at least "experiment" and "model_spec" (what
    `load_model` needs), usually also "dataset" and the resolved "config".

    Args:
        model: the network to train, in place; it is moved to the context's device.
        task: the loss and the validation metric sums (see Task).
        train_set: dataset of (input, target) pairs; may have `set_epoch(epoch)` to redraw crops each epoch.
        val_set: dataset of (input, target) pairs for the per-epoch validation; may have `set_epoch` too.
        settings: optimiser, schedule, epochs, batch size, monitored metric, seed and the rest (TrainSettings).
        run_dir: folder for last.pt, best.pt, metrics.csv and tensorboard/.
        meta: entries stored in every checkpoint (see above).
        ctx: the process's device and rank; None calls distributed.init() (torchrun's world, or one process
            on the automatically chosen device).
        resume: continue from `run_dir`/last.pt; without it an existing last.pt is an error.
        augment: None, or `augment(x, y, generator)` returning (x, y), applied to each training batch on the
            device.
    """
    ctx = ctx or distributed.init()
    run_dir = Path(run_dir)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    if len(train_set) == 0 or len(val_set) == 0:
        raise ValueError(f"empty {'training' if len(train_set) == 0 else 'validation'} set: nothing to train on")
    if last_path.exists() and not resume:
        raise FileExistsError(f"{run_dir} already holds a run (last.pt); pass --resume to continue it, "
                              "or choose another output folder")
    set_deterministic(settings.deterministic)
    device = ctx.device
    model.to(device)
    net = model
    if ctx.distributed:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = make_optimizer(model.parameters(), settings)
    sampler = DistributedSampler(train_set, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                 seed=settings.seed)
    loader = DataLoader(train_set, batch_size=settings.batch_size, sampler=sampler, num_workers=settings.num_workers,
                        worker_init_fn=worker_init, pin_memory=device.type == "cuda")
    scheduler = make_scheduler(optimizer, settings, len(loader))
    better = (lambda new, old: new > old) if settings.monitor_mode == "max" else (lambda new, old: new < old)

    start_epoch, best, best_epoch, history = 0, None, 0, []
    if resume and last_path.exists():
        state = load_checkpoint(last_path, meta.get("experiment"), map_location=device)
        if state.get("model_spec") != meta.get("model_spec"):
            raise ValueError(f"{last_path} was trained as {state.get('model_spec')}, not {meta.get('model_spec')}")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, best, best_epoch = state["epoch"], state["best"], state["best_epoch"]
        history = state["history"]
        set_rng_state(state["rng"])

    writer = _tensorboard(run_dir) if ctx.is_main else None
    for epoch in range(start_epoch, settings.epochs):
        started = time.perf_counter()
        epoch_seed = derive_seed(settings.seed, epoch, ctx.rank)
        seed_all(epoch_seed)
        sampler.set_epoch(epoch)
        if hasattr(train_set, "set_epoch"):  # datasets that draw crops/augmentations per epoch
            train_set.set_epoch(epoch)
        generator = torch.Generator().manual_seed(epoch_seed)
        net.train()
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        seen = torch.zeros((), dtype=torch.float64, device=device)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{settings.epochs}", leave=False,
                   disable=not (settings.progress and ctx.is_main))
        for step, (x, y) in enumerate(bar):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if augment is not None:
                x, y = augment(x, y, generator)
            if ctx.distributed:
                x = row_major(x)
            with _autocast(settings, device):
                loss = task.loss(net(x).float(), y)
            if not torch.isfinite(loss):
                raise TrainingDiverged(
                    f"loss became {loss.item()} at epoch {epoch + 1}, batch {step + 1}; stopped. The last good "
                    f"checkpoint ({last_path if last_path.exists() else 'none yet'}) is unchanged"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if settings.clip_grad_norm:
                nn.utils.clip_grad_norm_(model.parameters(), settings.clip_grad_norm)
            if settings.clip_grad_value:
                nn.utils.clip_grad_value_(model.parameters(), settings.clip_grad_value)
            optimizer.step()
            if settings.schedule == "cosine_steps":
                scheduler.step()
            loss_sum += loss.detach().double() * len(x)
            seen += len(x)
        lr = optimizer.param_groups[0]["lr"]
        if settings.schedule != "cosine_steps":
            scheduler.step()
        train_loss = distributed.all_reduce_sum(torch.stack([loss_sum, seen]), ctx)
        if hasattr(val_set, "set_epoch"):  # validation sets that redraw their crops each epoch
            val_set.set_epoch(epoch)
        val = evaluate_task(model, task, val_set, settings, ctx)
        if settings.monitor not in val:
            raise ValueError(f"monitor metric {settings.monitor!r} is not among the validation metrics {sorted(val)}")
        row = {"epoch": epoch + 1, "lr": lr, "train_loss": (train_loss[0] / train_loss[1]).item(),
               **{f"val_{k}": v for k, v in val.items()}, "seconds": round(time.perf_counter() - started, 3)}
        history.append(row)
        improved = best is None or better(val[settings.monitor], best)
        if improved:
            best, best_epoch = val[settings.monitor], epoch + 1
        if ctx.is_main:
            payload = {**meta, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                       "scheduler": scheduler.state_dict(), "epoch": epoch + 1, "best": best,
                       "best_epoch": best_epoch, "monitor": settings.monitor, "history": history,
                       "metrics": val, "rng": rng_state()}
            if improved:
                save_checkpoint(best_path, payload)
            save_checkpoint(last_path, payload)
            write_csv(run_dir / "metrics.csv", history)
            if writer is not None:
                for key, value in row.items():
                    if key != "epoch":
                        writer.add_scalar(key, value, epoch + 1)
            if settings.progress:
                tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        distributed.barrier(ctx)
    if writer is not None:
        writer.close()
    return {"best": best, "best_epoch": best_epoch, "history": history}


def _tensorboard(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


__all__ = ["Task", "TrainSettings", "TrainingDiverged", "evaluate_task", "fit", "make_optimizer", "make_scheduler"]
