"""The table modules import without cycles: each alone in a fresh interpreter, and no module-level import cycle in core/."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL_MODULES = sorted(f"core.models.{p.stem}" for p in (ROOT / "core" / "models").glob("*.py") if p.stem != "__init__")
# the domain modules whose tables moved into core.models (they used to import it and be imported by it)
DOMAIN_MODULES = ["core.access_tokens", "core.archive", "core.dialogue", "core.nonces", "core.notices", "core.accounts"]


@pytest.mark.parametrize("module", ["core.models", *MODEL_MODULES, *DOMAIN_MODULES])
def test_each_model_module_imports_alone_in_a_fresh_interpreter(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path, known: set[str]) -> set[str]:
    """The core modules this file imports when it is imported (module level, not inside functions)."""
    out = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in out if name in known}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def _core_graph(packages: tuple[str, ...] = ("core",)) -> dict[str, set[str]]:
    files = [p for package in packages for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    known = {_module_of(p) for p in files}
    return {_module_of(p): _top_level_imports(p, known) - {_module_of(p)} for p in files}


def test_core_has_no_module_level_import_cycles():
    """A module using its own package's names (core.classifier.features → core.classifier) is the package's
    business; any other cycle, like the old core.models ↔ core.access_tokens ↔ core.console_models, fails."""
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in _core_graph().items()}
    assert _cycles(graph) == []


def test_no_package_has_module_level_import_cycles():
    """Across core/, adapters/, bots/ and config/ (imports inside functions are how a module defers a heavy or optional one)."""
    graph = {m: {d for d in deps if not m.startswith(d + ".")}
             for m, deps in _core_graph(("core", "adapters", "bots", "config")).items()}
    assert _cycles(graph) == []


def test_table_modules_import_only_the_base_and_each_other():
    graph = _core_graph()
    for module in MODEL_MODULES:
        assert "core.models" not in graph[module], f"{module} imports the core.models package that imports it"
        outside = {d for d in graph[module] if not d.startswith("core.models.")}
        assert outside <= {"core.taxonomy", "core.ticket_states"}, (module, outside)
