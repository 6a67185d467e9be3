"""The package's layout is its architecture: each stage imports only from the stages below it, and
inside a stage no two modules import each other, directly or around a longer circle.

The test reads every module's imports (top-level and inside functions) with `ast`, so an upward
import or a circle fails here even if it is only executed by one command.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "convoysim"

STAGES = ["ground", "scenario", "model", "runs", "studies", "calibration", "figures", "commands"]
"""From the ground floor up. `studies` and `calibration` share a level: neither imports the other."""

LEVEL = {"ground": 0, "scenario": 1, "model": 2, "runs": 3, "studies": 4, "calibration": 4, "figures": 5, "commands": 6}

TERMINAL_ONLY = ("click", "rich")
"""Libraries of the command line: nothing below `commands` may import them."""


def stage_of(module: str) -> str | None:
    """The stage of a `convoysim...` module name; None for the package root (which re-exports)."""
    parts = module.split(".")
    if parts[0] != "convoysim":
        raise ValueError(module)
    if len(parts) == 1 or parts[1] in ("__main__",):
        return None
    if parts[1] in ("geo", "timewindows"):
        return "ground"
    return parts[1]


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """The dotted name of a file of `package` (a folder named `convoysim`)."""
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Every module imported anywhere in the source, with its line."""
    found: list[tuple[int, str]] = []
    here = module.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name == "convoysim":  # `from convoysim import geo` names modules
                found.extend((node.lineno, f"convoysim.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, name))
    return found


def upward_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """The imports of `module` that reach a stage above its own, or a terminal library below commands."""
    own = stage_of(module)
    if own is None:
        return []
    upward = []
    for line, name in imports(source, module, is_package):
        top = name.split(".")[0]
        if top in TERMINAL_ONLY and own != "commands":
            upward.append(f"line {line}: {name} (terminal libraries belong to commands)")
        if top != "convoysim":
            continue
        target = stage_of(name)
        if target is None or target not in LEVEL:
            upward.append(f"line {line}: {name} (the package root re-exports; import the module itself)")
        elif LEVEL[target] > LEVEL[own] or (LEVEL[target] == LEVEL[own] and target != own):
            upward.append(f"line {line}: {name} ({target} is not below {own})")
    return upward


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_known_stage():
    unknown = [module_name(p) for p in MODULES if stage_of(module_name(p)) not in (None, *STAGES)]
    assert not unknown, f"modules outside the stages {STAGES}: {unknown}; add the stage to this test"


def test_every_stage_folder_is_a_regular_package():
    """All seven stage folders have an `__init__.py` (the README's Design notes say why), not a mix."""
    folders = sorted(p for p in PACKAGE.iterdir() if p.is_dir() and any(p.glob("*.py")))
    assert [p.name for p in folders if p.name in STAGES] == sorted(s for s in STAGES if s != "ground")
    missing = [f"{p.name}/" for p in folders if not (p / "__init__.py").is_file()]
    assert not missing, f"stage folders without an __init__.py (a docstring is enough): {missing}"


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_no_import_runs_upward(path: Path):
    upward = upward_imports(path.read_text(), module_name(path), path.name == "__init__.py")
    assert not upward, f"{module_name(path)} imports upward:\n" + "\n".join(upward)


@pytest.mark.parametrize(
    ("module", "source", "caught"),
    [
        ("convoysim.model.march", "def f():\n    from convoysim.runs.compare import compare_run\n", True),
        ("convoysim.model.march", "from ..runs import compare\n", True),
        ("convoysim.runs.montecarlo", "import rich.progress\n", True),
        ("convoysim.studies.sweep", "from convoysim.calibration.abc import Population\n", True),
        ("convoysim.scenario.loading", "import convoysim\n", True),
        ("convoysim.scenario.loading", "from convoysim import simulate\n", True),
        ("convoysim.model.plan", "from convoysim import geo\n", False),
        ("convoysim.runs.compare", "from convoysim.model import simulate\nimport numpy\n", False),
        ("convoysim.commands.run", "import click\nfrom convoysim.figures import plot_directory\n", False),
    ],
)
def test_the_walker_tells_upward_from_downward(module: str, source: str, caught: bool):
    assert bool(upward_imports(source, module)) is caught


# --- no circle inside a stage ------------------------------------------------------------------------
# A circle is an import path from a module back to itself through modules of its own stage: it is
# what made the lower modules of a stage unusable without the higher ones (and, with imports inside
# functions, it only shows when one command runs). Imports under `if TYPE_CHECKING:` are left out:
# they never run, so they cannot make a module depend on another at run time, and they let a lower
# module name a higher module's type in an annotation; the upward test above still reads them.

ALLOWED_LAZY_EDGES: dict[tuple[str, str], str] = {
    # ALLOW-LIST, deliberately EMPTY. At most ONE entry, ever: ("importer", "imported") -> why.
    # It may only name an import made inside a function (never at the top of a module), and only
    # once the developer who needs it has written the reason beside the import itself.
}
"""The one import inside a function that may close a circle, if it is ever documented."""


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _ImportWalker(ast.NodeVisitor):
    """Collects (line, dotted name, names imported from it, inside a function) of every import that
    can run: at the top, inside functions and classes, in any branch except `if TYPE_CHECKING:`."""

    def __init__(self, module: str, is_package: bool):
        self.here = module.split(".") if is_package else module.split(".")[:-1]
        self.depth = 0
        self.found: list[tuple[int, str, list[str], bool]] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        self.found.extend((node.lineno, alias.name, [], self.depth > 0) for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.here[: len(self.here) - (node.level - 1)]
            name = ".".join(base + ([node.module] if node.module else []))
        else:
            name = node.module or ""
        self.found.append((node.lineno, name, [a.name for a in node.names], self.depth > 0))


def stage_graph(package: Path, stage: str) -> dict[str, dict[str, list[tuple[int, bool]]]]:
    """importer -> imported -> [(line, inside a function)] for the modules of one stage of `package`.

    `from convoysim.figures import fitreport` imports the module `fitreport`; `from convoysim.figures
    import run_figures` imports the package's `__init__`. Importing a submodule also runs its
    package's `__init__`, but that is Python's doing, not an edge of the code, so it is not counted.
    """
    paths = {module_name(p, package): p for p in sorted(package.rglob("*.py"))}
    members = {m for m in paths if stage_of(m) == stage}
    graph: dict[str, dict[str, list[tuple[int, bool]]]] = {m: {} for m in members}
    for module in sorted(members):
        path = paths[module]
        walker = _ImportWalker(module, path.name == "__init__.py")
        walker.visit(ast.parse(path.read_text(), str(path)))
        for line, name, names, lazy in walker.found:
            targets = [f"{name}.{n}" for n in names if f"{name}.{n}" in members]
            if len(targets) < len(names) or not names:
                targets.append(name)  # names that are not modules come from `name` itself
            for target in targets:
                if target in members and target != module:
                    graph[module].setdefault(target, []).append((line, lazy))
    return graph


def circles(graph: dict[str, dict[str, list[tuple[int, bool]]]]) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan), each sorted, in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(groups)


def shortest_circle(graph: dict[str, dict[str, list[tuple[int, bool]]]], start: str, group: Iterable[str]) -> list[str]:
    """A shortest path from `start` back to itself inside `group` (breadth first)."""
    inside = set(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w not in inside:
                    continue
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, start]
                if w not in came_from:
                    came_from[w] = v
                    following.append(w)
        frontier = following
    raise ValueError(f"{start} is on no circle")


def describe_edge(graph: dict[str, dict[str, list[tuple[int, bool]]]], a: str, b: str) -> str:
    where = ", ".join(f"line {line}{' (inside a function)' if lazy else ''}" for line, lazy in graph[a][b])
    return f"{a} imports {b} at {where}"


def circle_report(graph: dict[str, dict[str, list[tuple[int, bool]]]]) -> list[str]:
    """One paragraph per circle: its modules, a shortest loop through it, and every import inside it."""
    out = []
    for group in circles(graph):
        loop = shortest_circle(graph, group[0], group)
        short = [m.rsplit(".", 1)[-1] for m in loop]
        edges = [describe_edge(graph, a, b) for a in group for b in sorted(graph[a]) if b in group]
        out.append(
            f"circle of {len(group)} modules: {' -> '.join(short)}\n  imports inside it:\n    " + "\n    ".join(edges)
        )
    return out


def without_allowed(
    graph: dict[str, dict[str, list[tuple[int, bool]]]], allowed: Iterable[tuple[str, str]]
) -> dict[str, dict[str, list[tuple[int, bool]]]]:
    """The graph less the allowed edges (each must exist and be made only inside functions)."""
    pruned = {m: dict(targets) for m, targets in graph.items()}
    for a, b in allowed:
        if a not in pruned:
            continue
        sites = pruned[a].pop(b, None)
        assert sites, f"ALLOWED_LAZY_EDGES names {a} -> {b}, which no longer exists: remove it"
        assert all(lazy for _, lazy in sites), f"the allowed edge {a} -> {b} must be an import inside a function"
    return pruned


@pytest.mark.parametrize("stage", STAGES)
def test_no_import_circle_inside_a_stage(stage: str):
    assert len(ALLOWED_LAZY_EDGES) <= 1, "at most one named lazy edge may close a circle"
    graph = without_allowed(stage_graph(PACKAGE, stage), ALLOWED_LAZY_EDGES)
    found = circle_report(graph)
    if found:
        pytest.fail(
            f"{len(found)} import circle(s) among the modules of {stage}/ (imports inside functions "
            "count; move the shared helper down instead):\n" + "\n".join(found),
            pytrace=False,
        )


def _write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "convoysim"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_the_circle_finder_catches_a_circle_closed_inside_a_function(tmp_path: Path):
    package = _write_package(
        tmp_path,
        {
            "runs/writing.py": "from convoysim.runs.timetext import stamp\n",
            "runs/timetext.py": "def stamp():\n    from convoysim.runs import reading\n",
            "runs/reading.py": "import json\n\nfrom .writing import write\n",
            "runs/chunks.py": "from convoysim.runs.timetext import stamp\nfrom convoysim.model import simulate\n",
            "model/__init__.py": "from convoysim.runs.chunks import rows\n",
        },
    )
    graph = stage_graph(package, "runs")
    assert circles(graph) == [["convoysim.runs.reading", "convoysim.runs.timetext", "convoysim.runs.writing"]]
    assert graph["convoysim.runs.timetext"] == {"convoysim.runs.reading": [(2, True)]}
    (report,) = circle_report(graph)
    assert report.startswith("circle of 3 modules: reading -> writing -> timetext -> reading")
    assert "convoysim.runs.timetext imports convoysim.runs.reading at line 2 (inside a function)" in report
    assert circles(stage_graph(package, "model")) == []  # an edge to another stage is not a circle
    assert circles(without_allowed(graph, [("convoysim.runs.timetext", "convoysim.runs.reading")])) == []
    with pytest.raises(AssertionError, match="inside a function"):
        without_allowed(graph, [("convoysim.runs.reading", "convoysim.runs.writing")])
    with pytest.raises(AssertionError, match="no longer exists"):
        without_allowed(graph, [("convoysim.runs.chunks", "convoysim.runs.reading")])


def test_the_circle_finder_reads_package_inits_and_leaves_out_type_checking(tmp_path: Path):
    package = _write_package(
        tmp_path,
        {
            "figures/__init__.py": "def run_figures():\n    from . import report\n",
            "figures/report.py": "from convoysim.figures import run_figures, fitreport\n",
            "figures/fitreport.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from convoysim.figures.report import Page\n"
                "else:\n    import convoysim.figures.html\n"
            ),
            "figures/html.py": "class A:\n    def f(self):\n        import convoysim.figures.fitreport as f\n",
            "scenario/schema.py": "from convoysim.scenario.schema import x\n",  # itself: not a circle of modules
        },
    )
    graph = stage_graph(package, "figures")
    assert graph["convoysim.figures.report"] == {
        "convoysim.figures": [(1, False)],
        "convoysim.figures.fitreport": [(1, False)],
    }
    assert "convoysim.figures.report" not in graph["convoysim.figures.fitreport"]
    assert circles(graph) == [
        ["convoysim.figures", "convoysim.figures.report"],
        ["convoysim.figures.fitreport", "convoysim.figures.html"],
    ]
    assert circles(stage_graph(package, "scenario")) == []


def test_public_api_is_importable_from_the_package_root():
    import convoysim

    for name in ("load_scenario", "simulate", "run_monte_carlo", "compare_run", "Scenario", "ScenarioError"):
        assert callable(getattr(convoysim, name)), name
