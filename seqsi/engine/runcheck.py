"""Checks an evaluation runs before it touches data or writes anything: is the checkpoint one of
this experiment, with the dims it claims, and where do results on other data go.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import torch.nn as nn

from .checkpoint import load_model

LOCALIZATION_SECTIONS = ("data", "model", "eval", "threshold")


def load_localization_model(path: str | os.PathLike, experiment: str | None = None, map_location="cpu") -> nn.Module:
    """A run's best.pt, refused (one line, naming the file) when it belongs to another experiment
    or its recorded data dims disagree with its network's; `experiment` None accepts loc2d/loc3d."""
    path = Path(path)
    try:
        model = load_model(path, experiment, map_location)
    except ValueError as err:
        if experiment is None:
            raise
        raise ValueError(f"{err}; this eval.py evaluates {experiment} runs") from None
    record = model.seqsi_checkpoint
    config = record.get("config")
    if not isinstance(config, Mapping) or any(not isinstance(config.get(k), Mapping) for k in LOCALIZATION_SECTIONS):
        raise ValueError(f"checkpoint {path} (experiment {record.get('experiment')!r}) is not a localization run: "
                         f"its config lacks {'/'.join(LOCALIZATION_SECTIONS)}")
    dims, net_dims = config["data"].get("dims"), model.seqsi_spec.get("dims")
    if dims is None or int(dims) != int(net_dims):
        raise ValueError(f"checkpoint {path}: its config says {dims}D data but its network is {net_dims}D")
    wanted = {"loc2d": 2, "loc3d": 3}.get(experiment or "")
    if wanted is not None and int(dims) != wanted:
        raise ValueError(f"checkpoint {path} holds a {dims}D network; {experiment} evaluates {wanted}D ones")
    return model


def same_folder(a: str | os.PathLike | None, b: str | os.PathLike | None) -> bool:
    return a is not None and b is not None and Path(a).resolve() == Path(b).resolve()


def transfer_folder(run_dir: Path, recorded_root: str | os.PathLike, data_root: str | os.PathLike | None,
                    out: str | os.PathLike | None, layout: tuple[str, ...]) -> Path:
    """Where an evaluation writes: the run folder itself for the run's own data, else a folder of
    its own, so other data never overwrites the run's results.

    `layout` is the run's path below its runs root (e.g. ("seqsi-zmse", "none", "seed1")). With
    `out` the results go to <out>/<layout>; without, for other data, to
    <runs root>_on_<data folder name>/<layout> beside the runs root (a run folder that does not
    end in `layout` uses <run folder>_on_<data name>).
    """
    run_dir = Path(run_dir)
    if out is not None:
        return Path(out).joinpath(*layout)
    if data_root is None or same_folder(data_root, recorded_root):
        return run_dir
    name = Path(data_root).resolve().name
    if tuple(run_dir.parts[-len(layout):]) == tuple(layout):
        root = run_dir.parents[len(layout) - 1]
        return root.with_name(f"{root.name}_on_{name}").joinpath(*layout)
    return run_dir.with_name(f"{run_dir.name}_on_{name}")


__all__ = ["load_localization_model", "same_folder", "transfer_folder"]
