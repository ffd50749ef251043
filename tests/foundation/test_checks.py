"""The static checks configured in pyproject.toml pass: ``ruff check .`` (style, imports, likely bugs)
and ``mypy`` (core/ strict, the rest checked as configured); and no function is over 80 lines."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_FUNCTION_LINES = 80  # the project's rule (migrations are Alembic's generated style and exempt)
SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "build", "dist", "__pycache__"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    out = _run("ruff", "check", ".", "--no-cache", "--output-format", "concise")
    assert out.returncode == 0, f"`ruff check .` found problems (`ruff check --fix .` fixes most):\n{out.stdout}{out.stderr}"


def test_mypy_finds_nothing_with_core_strict():
    out = _run("mypy")
    assert out.returncode == 0, f"`mypy` found problems:\n{out.stdout}{out.stderr}"
    assert "Success: no issues found" in out.stdout


def test_core_is_checked_strictly_and_nothing_new_is_exempt():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert set(config["files"]) >= {"core", "bots", "adapters", "config"}
    core = next(o for o in config["overrides"] if o["module"] == ["core.*"])
    strict_flags = ("disallow_any_generics", "disallow_untyped_defs", "disallow_untyped_calls", "disallow_incomplete_defs",
                    "check_untyped_defs", "disallow_untyped_decorators", "warn_return_any", "no_implicit_reexport",
                    "strict_equality", "extra_checks", "disallow_subclassing_any")
    assert all(core.get(flag) is True for flag in strict_flags), {f: core.get(f) for f in strict_flags}
    exempt = [m for o in config["overrides"] if o.get("ignore_errors") for m in o["module"]]
    assert not [m for m in exempt if m.startswith("core")], "core/ may not be exempt from mypy"
    assert len(exempt) <= 5, "the list of modules exempt from mypy may only shrink (lower this number when it does)"


def _python_files() -> list[Path]:
    files = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if SKIPPED_DIRS.intersection(rel.parts) or any(p.startswith(".") for p in rel.parts[:-1]):
            continue
        if rel.parts[:2] == ("core", "migrations"):
            continue
        files.append(path)
    return files


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int, int]]:
    """(name, first line, length) of each function or method in ``source`` longer than ``limit`` lines
    (from ``def`` to its last line; decorators not counted)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                found.append((node.name, node.lineno, length))
    return found


def test_the_length_check_finds_a_long_function_and_passes_a_short_one():
    long_body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    method_body = long_body.replace("    x", "        x")
    source = f"def short():\n    return 1\n\n\nclass C:\n    async def long(self):\n{method_body}\n"
    assert long_functions(source) == [("long", 6, MAX_FUNCTION_LINES + 1)]
    assert long_functions(f"def just_fits():\n{long_body.rsplit(chr(10), 1)[0]}\n") == []


def test_no_function_is_over_80_lines_outside_migrations():
    files = _python_files()
    assert any(p.relative_to(ROOT).parts[0] == "core" for p in files) and any(p.parts[-2] == "foundation" for p in files)
    too_long = [f"{path.relative_to(ROOT)}:{line} {name} ({length} lines)"
                for path in files for name, line, length in long_functions(path.read_text(encoding="utf-8"))]
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines (split them):\n" + "\n".join(too_long)
