"""Inside runs/ and calibration/, imports run one way: no two modules import each other, not even
from inside a function or for type checking only (the floor, files.py and timetext.py, sits below
every writer and reader)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "convoysim"


def stage_imports(folder: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same folder it imports anywhere (top level, functions, TYPE_CHECKING)."""
    stage = folder.name
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    found: dict[str, set[str]] = {}
    for name in modules:
        edges = set()
        for node in ast.walk(ast.parse((folder / f"{name}.py").read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for imported in names:
                parts = imported.split(".")
                if parts[:2] == ["convoysim", stage] and len(parts) > 2 and parts[2] in modules:
                    edges.add(parts[2])
        found[name] = edges - {name}
    return found


def cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import cycle, as the modules along it; [] when there is none."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        path.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[module] = 2
        path.pop()
        return []

    for module in sorted(edges):
        if module not in state and (found := visit(module)):
            return found
    return []


def test_the_walker_finds_a_cycle_through_a_lazy_import():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("stage", ["runs", "calibration", "studies"])
def test_no_import_cycle_inside_the_stage(stage):
    edges = stage_imports(PACKAGE / stage)
    assert len(edges) > 3
    assert cycle(edges) == [], " -> ".join(cycle(edges))


def test_the_floor_of_runs_imports_almost_nothing_from_runs():
    edges = stage_imports(PACKAGE / "runs")
    assert edges["files"] <= {"durable"} and edges["durable"] == set() and edges["timetext"] == set()
    assert {"files"} <= edges["writing"] and "writing" not in edges["partial"] | edges["timetext"]
