"""Public functions of `seqsi` that take many parameters document each one in an `Args:` section.

Checked on the source (ast, nothing imported): every module whose path below seqsi/ has no
part starting with "_" (`__init__.py` excepted), every module-level function and every method
of a public class (nested public classes included) whose name does not start with "_". One
that takes MIN_PARAMS or more parameters (positional and keyword-only; self/cls, *args and
**kwargs not counted) needs a Google-style `Args:` section in its docstring that names every
parameter at the start of a line, as `name:` or `name (type):`.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "seqsi"
MIN_PARAMS = 7
ENTRY = re.compile(r"(\w+)\s*[:(]")


def public_modules(package: Path = PACKAGE) -> list[Path]:
    return sorted(p for p in package.rglob("*.py")
                  if not any(part.startswith("_") and part != "__init__.py" for part in p.relative_to(package).parts))


def public_functions(tree: ast.Module):
    """(qualified name, node, parameter names) of the module's public functions and methods."""
    def walk(node, prefix: str, in_class: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef) and not child.name.startswith("_"):
                yield from walk(child, f"{prefix}{child.name}.", True)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and not child.name.startswith("_"):
                a = child.args
                names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
                if in_class and names and names[0] in ("self", "cls"):
                    names = names[1:]
                yield prefix + child.name, child, names

    yield from walk(tree, "", False)


def args_entries(docstring: str | None) -> set[str] | None:
    """The names that start an entry of the docstring's Args section (a line at the indent of its
    first entry; deeper lines continue an entry); None when it has no such section."""
    lines = (docstring or "").splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Args:":
            indent, entry_indent, names = len(line) - len(line.lstrip()), None, set()
            for entry in lines[i + 1:]:
                if not entry.strip():
                    continue
                depth = len(entry) - len(entry.lstrip())
                if depth <= indent:
                    break  # the next section
                entry_indent = depth if entry_indent is None else entry_indent
                match = ENTRY.match(entry.strip())
                if depth == entry_indent and match:
                    names.add(match.group(1))
            return names
    return None


def problems_in(source: str, where: str) -> list[str]:
    found = []
    for name, node, params in public_functions(ast.parse(source)):
        if len(params) < MIN_PARAMS:
            continue
        entries = args_entries(ast.get_docstring(node))
        if entries is None:
            found.append(f"{where}:{node.lineno}: {name} takes {len(params)} parameters but its docstring has "
                         "no Args: section")
            continue
        lacking = [p for p in params if p not in entries]
        if lacking:
            found.append(f"{where}:{node.lineno}: {name}: Args: section does not describe {', '.join(lacking)}")
    return found


def test_many_parameter_functions_document_every_parameter():
    problems, checked = [], 0
    for path in public_modules():
        source = path.read_text(encoding="utf-8")
        checked += sum(len(p) >= MIN_PARAMS for _, _, p in public_functions(ast.parse(source)))
        problems += problems_in(source, str(path.relative_to(ROOT)))
    assert checked >= 20, f"only {checked} functions with {MIN_PARAMS}+ parameters found: is the walk broken?"
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_missing_section_and_a_missing_parameter():
    source = '''
def documented(a, b, c, d, *, e=1, f=2, g=3, **kwargs):
    """Why.

    Args:
        a: one.
        b (int): two.
        c: three,
            wrapped.
        d: four.
        e: five.
        f: six.
        g: seven.

    Returns:
        nothing.
    """

def undocumented(a, b, c, d, e, f, g):
    """Why, and nothing else."""

class Public:
    def method(self, a, b, c, d, e, f, g):
        """Why.

        Args:
            a: one.
            b: two.
            c: three.
            d: four.
            e: five.
            f: six.
                g: not an entry, only a continuation of f.
        """

    def _private(self, a, b, c, d, e, f, g):
        pass

    def few(self, a, b, c, d, e, f, *args, **kwargs):
        pass

def short(a, b, c, d, e, f):
    pass
'''
    assert problems_in(source, "m.py") == [
        "m.py:19: undocumented takes 7 parameters but its docstring has no Args: section",
        "m.py:23: Public.method: Args: section does not describe g",
    ]
