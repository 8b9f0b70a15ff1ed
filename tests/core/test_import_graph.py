"""The rooms and their arrows: imports point down (definitions → monitors → core;
resources → core), nothing imports in a circle, and the core never imports Dagster."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("monitoring_assets", "resources", "sensors")


def module_graph(root: Path = ROOT) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Project modules -> project modules they import, and -> top-level packages they import."""
    mods: dict[str, Path] = {}
    for pkg in PACKAGES:
        for p in (root / pkg).rglob("*.py"):
            rel = p.relative_to(root).with_suffix("")
            name = ".".join(rel.parts).removesuffix(".__init__")
            mods[name] = p
    graph: dict[str, set[str]] = {m: set() for m in mods}
    tops: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for n in names:
                tops[m].add(n.split(".")[0])
                if n in mods and n != m:
                    graph[m].add(n)
    return graph, tops


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def upward(graph: dict[str, set[str]], tops: dict[str, set[str]]) -> list[str]:
    """Every import that points up a level."""
    bad = []
    for m, deps in sorted(graph.items()):
        core = m.startswith("monitoring_assets.core")
        for d in sorted(deps):
            if core and not d.startswith("monitoring_assets.core"):
                bad.append(f"{m} -> {d} (the core imports only the core)")
            if (
                m.startswith("resources")
                and d.startswith("monitoring_assets")
                and not (d.startswith("monitoring_assets.core"))
            ):
                bad.append(f"{m} -> {d} (resources import only the core)")
            if m.startswith("monitoring_assets.monitors") and d.startswith(
                ("monitoring_assets.definitions", "sensors")
            ):
                bad.append(f"{m} -> {d} (monitors do not import definitions or sensors)")
        if core and "dagster" in tops[m]:
            bad.append(f"{m} imports dagster")
    return bad


def test_no_cycles():
    graph, _ = module_graph()
    assert cycles(graph) == []


def test_no_upward_imports_and_a_dagster_free_core():
    graph, tops = module_graph()
    assert upward(graph, tops) == []


@pytest.mark.parametrize(
    "edges, expected",
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_cycle_finder_finds_cycles(edges, expected):
    assert cycles(edges) == expected


def test_upward_finder_flags_a_core_module_importing_dagster_or_resources():
    graph = {"monitoring_assets.core.x": {"resources.warehouse"}, "resources.warehouse": set()}
    tops = {"monitoring_assets.core.x": {"dagster", "resources"}, "resources.warehouse": set()}
    bad = upward(graph, tops)
    assert any("imports dagster" in b for b in bad)
    assert any("resources.warehouse" in b for b in bad)
