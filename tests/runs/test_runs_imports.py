"""The floor of runs/ (files.py, durable.py and timetext.py) sits below every writer and reader.
(Circles inside every stage are tests/test_layout.py's.)"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "convoysim"


def stage_imports(folder: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same folder it imports anywhere (top level, functions, TYPE_CHECKING)."""
    stage = folder.name
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    found: dict[str, set[str]] = {}
    for name in modules:
        edges = set()
        for node in ast.walk(ast.parse((folder / f"{name}.py").read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for imported in names:
                parts = imported.split(".")
                if parts[:2] == ["convoysim", stage] and len(parts) > 2 and parts[2] in modules:
                    edges.add(parts[2])
        found[name] = edges - {name}
    return found


def test_the_floor_of_runs_imports_almost_nothing_from_runs():
    edges = stage_imports(PACKAGE / "runs")
    assert edges["files"] <= {"durable"} and edges["durable"] == set() and edges["timetext"] == set()
    assert {"files"} <= edges["writing"] and "writing" not in edges["partial"] | edges["timetext"]
