"""The library reads bottom-up: no module of ``synthlib`` imports, at any depth, a module that imports it back.

The import graph is read from the source (``ast``), so it holds every import: at the top of a module,
inside a function (a deferred import), and under ``if TYPE_CHECKING:``. An edge runs from a module to
each ``synthlib`` module it names (``from synthlib.x import y`` names ``synthlib.x``, or
``synthlib.x.y`` when that is a module). A cycle is a strongly connected component of more than one
module, or a module importing itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT


def module_files(root: Path, package: str) -> dict[str, Path]:
    """Module name -> file for every ``.py`` file of ``package`` under ``root``."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imported_modules(name: str, path: Path, modules: dict[str, Path], package: str) -> set[str]:
    """The modules of ``package`` that module ``name`` (file ``path``) imports anywhere in its source."""
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(_resolve(alias.name, modules) for alias in node.names if alias.name.startswith(package))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package upwards
                anchor = name if path.name == "__init__.py" else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            if base == package or base.startswith(package + "."):
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    found.add(full if full in modules else _resolve(base, modules))
    found.discard(None)
    found.discard(name)
    return {module for module in found if module is not None}


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    modules = module_files(root, package)
    return {name: imported_modules(name, path, modules, package) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_checker_finds_a_circle_closed_by_a_deferred_import(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def f():\n    from pkg.high import g  # deferred\n    return g\n")
    (package / "high.py").write_text("from pkg import low\n\ndef g():\n    return low\n")
    (package / "alone.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .low import f\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.alone"] == {"pkg.low"}  # a relative import under TYPE_CHECKING counts
    assert cycles(graph) == [["pkg.high", "pkg.low"]]


def test_synthlib_has_no_import_cycle():
    graph = import_graph(REPO_ROOT, "synthlib")
    assert len(graph) > 30 and "synthlib.study" in graph
    assert cycles(graph) == [], "modules that import each other (directly or through others)"


def test_the_run_loop_does_not_pull_in_figures():
    """The engine and the tuning loop sit below the figures: nothing they import, at any depth, draws."""
    graph = import_graph(REPO_ROOT, "synthlib")

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for module in graph[todo.pop()] - seen:
                seen.add(module)
                todo.append(module)
        return seen

    for module in ("synthlib.engine", "synthlib.tuning", "synthlib.protocols", "synthlib.learning_curves"):
        assert not {"synthlib.plots", "synthlib.explore", "synthlib.verdict"} & reachable(module), module
