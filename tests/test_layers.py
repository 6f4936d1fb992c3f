"""The house in order: imports run one way, from the wiring down to the model and storage.

Every import counts (at the top, inside a function, or for type checking only): a cycle of
meaning is a cycle whatever mypy needs. docs/ARCHITECTURE.md describes the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
# Each module's layer, by its longest listed prefix; a module may import only from its own
# layer or those below. A new module must be placed here (see docs/ARCHITECTURE.md).
LAYERS: dict[str, int] = {
    # 0: the model of a message and the settings
    "bot": 0, "bot.model": 0, "bot.config": 0, "bot.workdays": 0, "bot.periods": 0,
    "bot.charts": 0, "bot.cancel": 0, "bot.heap": 0,
    # 1: storage
    "storage": 1, "bot.runlock": 1,
    # 2: reading Chinese text, ranking experts (pure functions over their data files)
    "bot.text": 2,
    # 3: domain services over the store, and the Platform protocol the outbox sends through
    "bot.matching": 3, "bot.roster": 3, "bot.roster_cells": 3, "bot.loaders": 3,
    "bot.lexicon_admin": 3, "bot.stored_vectors": 3,
    "bot.exports": 3, "bot.cases": 3, "bot.exports_booklet": 3, "bot.templates": 3,
    "bot.platforms.base": 3, "bot.outbox": 3, "bot.fallback": 3, "bot.lease": 3,
    "bot.group_commit": 3,
    # 4: the core that handles one message, and the handler API (Router, Context)
    "bot.router": 4, "bot.core": 4,
    # 5: the handlers
    "handlers": 5,
    # 6: the platforms and the web server, over the core
    "bot.platforms": 6, "bot.web": 6,
    # 7: the wiring and the command line
    "bot.app": 7, "bot.scheduler": 7, "bot.cli": 7, "bot.cli_args": 7, "bot.__main__": 7,
}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an imported name lives in (a package's attribute: the package)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(path: Path) -> set[str]:
    """The project modules `path` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            target = _resolve(name)
            if target is not None:
                found.add(target)
    return found


GRAPH = {m: _imports(p) - {m} for m, p in MODULES.items()}


def _layer(module: str) -> int:
    if module == "bot":
        return LAYERS["bot"]
    best = max((p for p in LAYERS if p != "bot" and (module == p or module.startswith(p + "."))),
               key=len, default=None)
    assert best is not None, f"{module} is in no layer: place it in tests/test_layers.py"
    return LAYERS[best]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_module_imports_another_that_imports_it_back() -> None:
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert _cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_go_down(module: str) -> None:
    mine = _layer(module)
    upward = sorted(t for t in GRAPH[module] if _layer(t) > mine)
    assert upward == [], f"{module} (layer {mine}) imports from above: {upward}"


def test_only_the_command_line_builds_the_app() -> None:
    assert sorted(m for m, deps in GRAPH.items() if "bot.app" in deps) == ["bot.cli"]


def test_the_core_knows_no_platform() -> None:
    for module in ("bot.core", "bot.router", "bot.outbox"):
        named = {t for t in GRAPH[module] if t.startswith("bot.platforms.")}
        assert named <= {"bot.platforms.base"}, module
