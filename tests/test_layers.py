"""The house rules of imports (ARCHITECTURE.md in the repository root), checked on the source.

Every import counts: at module level, under TYPE_CHECKING and inside functions, because a lazy import
still ties two modules together and a circle through one is still a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "device", "sync", "fleet", "drills", "cli")

#: What each top package may import of ours (prefixes of module names), besides itself.
ALLOWED: dict[str, tuple[str, ...]] = {
    "core": (),
    "fleet": ("core",),
    "sync": ("core", "fleet"),
    "device": ("core", "fleet", "sync.protocol", "sync.mqtt", "sync.backoff", "sync.keyfiles"),
    "drills": PACKAGES,
    "cli": PACKAGES,
}

#: The one declared exception: the HR server's photo enrolment runs the terminal's face pipeline
#: (the same detector, quality gate, embedder and check for another person's face among the photos, so a
#: template made from an HR upload matches at the kiosk).
EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "sync.server.enrolment": (
        "device.vision.pipeline",
        "device.vision.thresholds",
        "device.vision.enrolment_checks",
        "device.config.device",
    ),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


MODULES = modules()


def imports_of(name: str, path: Path) -> Iterator[str]:
    """Our modules that ``name`` imports (``from pkg import mod`` resolves to ``pkg.mod``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names] + [source]
            targets = [t for t in targets if t in MODULES] or [source]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


GRAPH = {name: sorted(set(imports_of(name, path))) for name, path in MODULES.items()}


def allowed(source: str, target: str) -> bool:
    top = source.split(".")[0]
    if target.split(".")[0] == top:
        return True
    prefixes = ALLOWED[top] + EXCEPTIONS.get(source, ())
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def test_every_import_follows_the_layers() -> None:
    wrong = [f"{s} imports {t}" for s, targets in GRAPH.items() for t in targets if not allowed(s, t)]
    assert not wrong, "\n".join(wrong)


def test_hardware_never_imports_vision() -> None:
    wrong = [
        f"{s} imports {t}"
        for s, targets in GRAPH.items()
        if s.startswith("device.hardware")
        for t in targets
        if t.startswith("device.vision")
    ]
    assert not wrong, "\n".join(wrong)


def cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    # A package __init__ that hands names on is part of its modules, not a cycle with them.
    graph = {s: [t for t in ts if not s.startswith(t + ".")] for s, ts in GRAPH.items()}
    assert not cycles(graph), "\n".join(" <-> ".join(c) for c in cycles(graph))


@pytest.mark.parametrize(
    ("graph", "expected"),
    [({"a": ["b"], "b": ["a"], "c": ["a"]}, [["a", "b"]]), ({"a": ["b"], "b": []}, [])],
)
def test_the_cycle_finder_finds_cycles(graph: dict[str, list[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_the_layer_rules_refuse_what_the_issue_named() -> None:
    assert not allowed("sync.server.api", "device.store.database")
    assert not allowed("device.runner", "sync.server.config")
    assert not allowed("core.errors", "device.errors")
    assert not allowed("fleet.pki", "sync.protocol")
    assert allowed("drills.chaos", "sync.server.ingest")
