"""Single process or torchrun data parallelism, behind one small context object.

Under torchrun (WORLD_SIZE > 1) the process group is created with NCCL on GPUs and gloo
on CPUs; each rank sees its shard of the data and only rank 0 writes files.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

# How long a collective (all-reduce, barrier) waits for a rank that stopped answering before
# it raises on the others and the run fails (last.pt of the last finished epoch stays intact).
# Long enough for rank 0's work between collectives (checkpoints, the threshold fit).
DEFAULT_TIMEOUT_MINUTES = 30.0


@dataclass(frozen=True)
class Context:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def select_device(preference: str = "auto", local_rank: int = 0) -> torch.device:
    if preference == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(preference)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {preference!r} was asked for but CUDA is not available here")
    return device


def timeout_of(minutes: float | None = None) -> datetime.timedelta:
    """The process-group timeout: `minutes`, else $SEQSI_DIST_TIMEOUT, else DEFAULT_TIMEOUT_MINUTES."""
    text = os.environ.get("SEQSI_DIST_TIMEOUT") if minutes is None else minutes
    try:
        value = DEFAULT_TIMEOUT_MINUTES if text in (None, "") else float(text)
    except ValueError:
        raise ValueError(f"SEQSI_DIST_TIMEOUT must be a number of minutes; got {text!r}") from None
    if not value > 0:
        raise ValueError(f"the distributed timeout (--dist_timeout / SEQSI_DIST_TIMEOUT) must be > 0 minutes; got {value}")
    return datetime.timedelta(minutes=value)


def init(device: str = "auto", timeout_minutes: float | None = None) -> Context:
    """The context of this process; under torchrun also the process group, whose collectives
    fail after `timeout_minutes` (see timeout_of) when a rank stalls."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context(0, 1, 0, select_device(device))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    chosen = select_device(device, local)
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo", timeout=timeout_of(timeout_minutes))
    return Context(rank, world, local, chosen)


def all_reduce_sum(values: torch.Tensor, ctx: Context) -> torch.Tensor:
    if ctx.distributed:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        dist.barrier()


def shutdown(ctx: Context) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()
