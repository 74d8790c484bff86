"""A run matrix: every run of an experiment's sweep, with its flags and its run folder.

Each experiment folder defines its matrix once, in Python (`sweep_matrix.py` with a
`matrix(env) -> Matrix` function), and selects subsets from environment variables. The
sweep package only loads that module by path or name: it never imports an experiment.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MATRIX_FILE = "sweep_matrix.py"


@dataclass(frozen=True)
class Run:
    """One training run: `args` (a script and its flags) run in the matrix folder and
    write into `folder`, the run folder (relative to the matrix folder, or absolute)."""

    folder: Path
    args: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    """A command around the runs (data preparation, tables): a Python script and its flags,
    skipped when the file `skip_if` (relative to the matrix folder) exists."""

    args: tuple[str, ...]
    skip_if: str | None = None


@dataclass
class Matrix:
    name: str
    folder: Path                       # the experiment folder: every command runs there
    out: Path                          # root of the runs; the sweep's own files go to <out>/sweep
    runs: list[Run]
    prepare: list[Step] = field(default_factory=list)   # before the first run (data)
    tables: list[Step] = field(default_factory=list)    # once every run is done

    def __post_init__(self) -> None:
        self.folder = Path(self.folder).resolve()
        self.out = Path(self.out)
        seen: dict[Path, Run] = {}
        for run in self.runs:
            if run.folder in seen:
                raise ValueError(f"matrix {self.name}: two runs write into {run.folder}: "
                                 f"{' '.join(seen[run.folder].args)} / {' '.join(run.args)}")
            seen[run.folder] = run

    def path(self, relative: str | Path) -> Path:
        """A path of the matrix (run folder, out) as seen from anywhere."""
        return self.folder / relative

    @property
    def sweep_dir(self) -> Path:
        return self.path(self.out) / "sweep"


def env_words(env: Mapping[str, str], name: str, default: Sequence[str]) -> list[str]:
    """The words of a list variable: its default when unset, none at all when set but empty
    (so `TELESCOPIC=""` drops the telescopic runs, unlike bash's `${VAR:-default}`)."""
    if name not in env:
        return list(default)
    return env[name].split()


def env_ints(env: Mapping[str, str], name: str, default: Sequence[int]) -> list[int]:
    words = env_words(env, name, [str(d) for d in default])
    try:
        return [int(w) for w in words]
    except ValueError:
        raise ValueError(f"{name}={env[name]!r}: expected whole numbers separated by spaces") from None


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """A 0/1 switch such as QUICK; unset or empty is 0."""
    value = env.get(name, "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"{name}={value!r}: expected 0 or 1")
    return value == "1"


def env_choices(env: Mapping[str, str], name: str, default: Sequence[str], choices: Sequence[str]) -> list[str]:
    words = env_words(env, name, default)
    unknown = [w for w in words if w not in choices]
    if unknown:
        raise ValueError(f"{name}: unknown value(s) {' '.join(unknown)}; choose from {' '.join(choices)}")
    return words


def _module_file(spec: str | Path) -> Path | None:
    path = Path(spec)
    if path.is_dir():
        path = path / MATRIX_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{spec}: no {MATRIX_FILE} in this folder (an experiment folder has one)")
        return path
    if path.suffix == ".py":
        if not path.is_file():
            raise FileNotFoundError(f"matrix file {path} does not exist")
        return path
    return None


def load_matrix(spec: str | Path, env: Mapping[str, str]) -> Matrix:
    """The matrix of `spec`: an experiment folder, its sweep_matrix.py, or a module name.

    The module's folder is on sys.path while it loads and builds the matrix, so it can
    import its experiment's own modules (cifar.py, loc2d.py ...)."""
    path = _module_file(spec)
    if path is None:
        try:
            module = importlib.import_module(str(spec))
        except ImportError as err:
            raise ValueError(f"matrix {spec!r}: not an experiment folder (with {MATRIX_FILE}), a .py file, nor an "
                             f"importable module ({err})") from None
        folder = None
    else:
        path = path.resolve()
        folder = str(path.parent)
        name = f"seqsi_sweep_matrix_{abs(hash(str(path)))}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.path.insert(0, folder)
    try:
        if path is not None:
            module_spec.loader.exec_module(module)
        build = getattr(module, "matrix", None)
        if not callable(build):
            raise ValueError(f"{path or spec}: expected a function matrix(env) -> seqsi.sweep.Matrix")
        matrix = build(env)
    finally:
        if folder is not None:
            sys.path.remove(folder)
    if not isinstance(matrix, Matrix):
        raise ValueError(f"{path or spec}: matrix(env) returned {type(matrix).__name__}, expected a Matrix")
    return matrix
