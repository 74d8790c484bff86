"""The layering of `seqsi` (docs/DEVELOPING.md, "Layout and dependency direction"), checked
on the source: every import of every module, module-level and inside functions, relative
imports resolved, must point to the module's own package or to a lower layer.

LAYERS is the one table of the rule; DEVELOPING.md shows the same order (checked below).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "seqsi"

# Lowest first. A module may import its own unit and any unit of a lower layer; units that
# share a layer do not import each other. A unit is a top-level module or subpackage of
# seqsi ("seqsi" itself is the package's __init__, the public facade).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("properties", "io", "logits")),
    ("layers", ("nn",)),
    ("domain", ("photometric", "localization", "invariance")),
    ("data and figures", ("data", "report")),
    ("networks", ("models",)),
    ("engine", ("engine",)),
    ("services", ("prediction", "export", "convert", "sweep")),
    ("facade", ("seqsi",)),
    ("commands", ("commands",)),
    ("command line", ("cli",)),
    ("python -m", ("__main__",)),
]
LAYER_OF = {unit: rank for rank, (_, units) in enumerate(LAYERS) for unit in units}

# What the library never imports: the experiment folders, tools/, benchmarks/, tests/ and
# the scripts inside them (they are run with their folder on sys.path).
OUTSIDE = ("classification", "object_localization", "tools", "benchmarks", "tests")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str) -> str:
    """The layering unit of a seqsi module; every `__main__` (python -m) is an entry point."""
    parts = module.split(".")
    if parts[-1] == "__main__":
        return "__main__"
    return parts[1] if len(parts) > 1 else "seqsi"


def is_module(name: str, root: Path = ROOT) -> bool:
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """Every module `path` imports, wherever the import statement stands; `from X import name`
    counts X and, when `name` is a submodule, X.name."""
    module = module_name(path, root)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names if is_module(f"{target}.{a.name}", root))
    return found


def outside_names() -> set[str]:
    names = set(OUTSIDE)
    for folder in OUTSIDE:
        names.update(p.stem for p in (ROOT / folder).rglob("*.py"))
    return names


def forbidden_edges() -> list[str]:
    """'module -> imported module (why)' for every import the layering forbids; a unit without
    a layer is left to test_every_unit_of_seqsi_has_a_layer."""
    outside = outside_names()
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        unit = unit_of(module)
        for target in sorted(imports_of(path)):
            top, other = target.split(".")[0], unit_of(target)
            if top in outside:
                edges.append(f"{module} -> {target} (outside the library)")
            elif top == "seqsi" and other != unit and {unit, other} <= LAYER_OF.keys() \
                    and LAYER_OF[other] >= LAYER_OF[unit]:
                edges.append(f"{module} -> {target} ({LAYERS[LAYER_OF[unit]][0]} -> {LAYERS[LAYER_OF[other]][0]})")
    return edges


def test_every_unit_of_seqsi_has_a_layer():
    units = {unit_of(module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert units - LAYER_OF.keys() == set(), "add these to LAYERS (and to docs/DEVELOPING.md)"


def test_no_import_goes_up_or_sideways():
    edges = forbidden_edges()
    assert not edges, "imports the layering forbids (module -> imported module):\n  " + "\n  ".join(edges)


@pytest.mark.parametrize("source, expected", [
    ("from ...engine.checkpoint import load_model\n", "seqsi.engine.checkpoint"),
    ("from ..crops import minmax_unit\n", "seqsi.data.crops"),
    ("def f():\n    from ...report import views\n", "seqsi.report.views"),
    ("from . import prepare\n", "seqsi.data.cryoet.prepare"),
    ("import seqsi.cli\n", "seqsi.cli"),
])
def test_imports_are_found_inside_functions_and_resolved(tmp_path, source, expected):
    """The parser itself, on seqsi/data/cryoet/x.py in a small tree."""
    for module in ("seqsi", "seqsi/data", "seqsi/data/cryoet", "seqsi/engine", "seqsi/report"):
        (tmp_path / module).mkdir()
        (tmp_path / module / "__init__.py").write_text("")
    for module in ("seqsi/report/views.py", "seqsi/data/cryoet/prepare.py"):
        (tmp_path / module).write_text("")
    path = tmp_path / "seqsi" / "data" / "cryoet" / "x.py"
    path.write_text(source)
    assert expected in imports_of(path, tmp_path)


def test_developing_md_shows_the_same_layers():
    text = (ROOT / "docs" / "DEVELOPING.md").read_text()
    block = re.search(r"Layers, lowest first.*?```\n(.*?)```", text, re.S)
    assert block, "docs/DEVELOPING.md lost its 'Layers, lowest first' block"
    shown = [(name.strip(), tuple(units.split())) for name, units in
             (line.split(":", 1) for line in block.group(1).strip().splitlines())]
    assert shown == LAYERS
