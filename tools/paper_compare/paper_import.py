"""Import files of the paper's repository by path, next to ours, without installing it.

The paper's scripts import their siblings by bare names (``models``, ``tools``, ``data``), and
the 2D and 3D folders reuse the same names, so every import goes through one folder at a time
and forgets that folder's modules afterwards. Packages that only serve logging or launching
(wandb, hydra, lightning, ...) are replaced by inert placeholders when they are not installed:
they never touch the math being compared.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import types
from pathlib import Path

import torch

# Imported by the paper's files for logging, configuration or launching only.
UNRELATED = ("wandb", "hydra", "omegaconf", "pytorch_lightning", "lightning", "csbdeep",
             "csbdeep.utils")


class Placeholder(torch.nn.Module):
    """Accepts any construction; used as a decorator it returns the function unchanged."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return Placeholder()

    def __getattr__(self, name):
        return Placeholder()


def _placeholder_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = []  # lets "import a.b" find a placeholder submodule

    def attribute(attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Placeholder if attr[:1].isupper() else Placeholder()

    module.__getattr__ = attribute
    return module


def _install_placeholders() -> list[str]:
    added = []
    for name in UNRELATED:
        if name in sys.modules:
            continue
        top = name.split(".")[0]
        try:
            if importlib.util.find_spec(top) is not None:
                continue
        except (ImportError, ValueError):
            pass
        sys.modules[name] = _placeholder_module(name)
        added.append(name)
    return added


def _forget_modules_under(root: Path) -> None:
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and Path(file).resolve().is_relative_to(root):
            del sys.modules[name]


@contextlib.contextmanager
def paper_folder(paper_repo: str | Path, folder: str):
    """Put one folder of the paper's repository on sys.path for the imports made inside."""
    root = (Path(paper_repo) / folder).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"--paper-repo {paper_repo}: no folder {folder}/ (expected a "
                                "checkout of the paper's repository)")
    _forget_modules_under(Path(paper_repo).resolve())  # 2D's "models" must not shadow 3D's
    sys.path.insert(0, str(root))
    placeholders = _install_placeholders()
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name in placeholders:
            sys.modules.pop(name, None)


def import_paper(paper_repo: str | Path, folder: str, *modules: str) -> list[types.ModuleType]:
    """The paper's modules ``folder/<module>.py`` (dotted names for subfolders), freshly imported."""
    with paper_folder(paper_repo, folder):
        return [importlib.import_module(name) for name in modules]
