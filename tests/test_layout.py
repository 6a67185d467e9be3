"""The package's layout is its architecture: each stage imports only from the stages below it.

The test reads every module's imports (top-level and inside functions) with `ast`, so an upward
import fails here even if it is only executed by one command.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "convoysim"

STAGES = ["ground", "scenario", "model", "runs", "studies", "calibration", "figures", "commands"]
"""From the ground floor up. `studies` and `calibration` share a level: neither imports the other."""

LEVEL = {"ground": 0, "scenario": 1, "model": 2, "runs": 3, "studies": 4, "calibration": 4, "figures": 5,
         "commands": 6}

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


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
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


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_no_import_runs_upward(path: Path):
    upward = upward_imports(path.read_text(), module_name(path), path.name == "__init__.py")
    assert not upward, f"{module_name(path)} imports upward:\n" + "\n".join(upward)


@pytest.mark.parametrize(("module", "source", "caught"), [
    ("convoysim.model.march", "def f():\n    from convoysim.runs.compare import compare_run\n", True),
    ("convoysim.model.march", "from ..runs import compare\n", True),
    ("convoysim.runs.montecarlo", "import rich.progress\n", True),
    ("convoysim.studies.sweep", "from convoysim.calibration.abc import Population\n", True),
    ("convoysim.scenario.loading", "import convoysim\n", True),
    ("convoysim.scenario.loading", "from convoysim import simulate\n", True),
    ("convoysim.model.plan", "from convoysim import geo\n", False),
    ("convoysim.runs.compare", "from convoysim.model import simulate\nimport numpy\n", False),
    ("convoysim.commands.run", "import click\nfrom convoysim.figures import plot_directory\n", False),
])
def test_the_walker_tells_upward_from_downward(module: str, source: str, caught: bool):
    assert bool(upward_imports(source, module)) is caught


def test_public_api_is_importable_from_the_package_root():
    import convoysim

    for name in ("load_scenario", "simulate", "run_monte_carlo", "compare_run", "Scenario", "ScenarioError"):
        assert callable(getattr(convoysim, name)), name
