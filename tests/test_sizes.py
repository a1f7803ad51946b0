"""Modules small enough to read, functions short enough to follow (ARCHITECTURE.md: conventions)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The runtime packages; drills/ and cli/ are tools and held to the same rule where they are listed.
PACKAGES = ("core", "device", "sync", "fleet")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

#: Files allowed past the limit, each with the reason (keep this list short; it is read in review).
LONG_MODULES: dict[str, str] = {}
LONG_FUNCTIONS: dict[str, str] = {}


def sources() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]


def test_no_module_is_over_the_limit() -> None:
    long = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in sources()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
        and str(p.relative_to(ROOT)) not in LONG_MODULES
    ]
    assert not long, "\n".join(long)


def long_functions(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append((node.name, length))
    return found


def test_no_function_is_over_the_limit() -> None:
    long = [
        f"{p.relative_to(ROOT)}: {name}: {n} lines"
        for p in sources()
        for name, n in long_functions(p)
        if f"{p.relative_to(ROOT)}:{name}" not in LONG_FUNCTIONS
    ]
    assert not long, "\n".join(long)


def test_the_function_measure_counts_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    source = tmp_path / "m.py"
    source.write_text(f"def long():\n{body}\n\n\ndef short():\n    return 1\n")
    assert long_functions(source) == [("long", MAX_FUNCTION_LINES + 1)]
