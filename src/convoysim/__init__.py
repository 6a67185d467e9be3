"""convoysim: discrete-event Monte Carlo simulation of road convoys.

The package follows the one-way flow of the data: `scenario` (YAML to a validated Scenario) →
`model` (the SimPy processes) → `runs` (replications, comparison, run directories) → `studies`
(sweeps) and `calibration` → `figures` → `commands` (the CLI). The names below are the public API;
each is imported on first use, so `convoysim --help` does not build the model to print its help.
"""

from __future__ import annotations

TYPE_CHECKING = False
"""typing.TYPE_CHECKING without importing typing: the `convoysim` program quiets Ctrl-C only once
this package is imported (`commands/entry.py`), so it must import next to nothing."""

__version__ = "0.1.0"

_PUBLIC = {
    "Comparison": "convoysim.runs.compare",
    "MonteCarloRun": "convoysim.runs.montecarlo",
    "ReplicationRecord": "convoysim.model",
    "Scenario": "convoysim.scenario.schema",
    "ScenarioError": "convoysim.scenario.loading",
    "compare_run": "convoysim.runs.compare",
    "compile_plan": "convoysim.model",
    "load_run": "convoysim.runs.reading",
    "load_scenario": "convoysim.scenario.loading",
    "load_sweep": "convoysim.runs.reading",
    "run_monte_carlo": "convoysim.runs.montecarlo",
    "simulate": "convoysim.model",
}

__all__ = sorted(_PUBLIC)

if TYPE_CHECKING:
    from typing import Any

    from convoysim.model import ReplicationRecord, compile_plan, simulate
    from convoysim.runs.compare import Comparison, compare_run
    from convoysim.runs.montecarlo import MonteCarloRun, run_monte_carlo
    from convoysim.runs.reading import load_run, load_sweep
    from convoysim.scenario.loading import ScenarioError, load_scenario
    from convoysim.scenario.schema import Scenario


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'convoysim' has no attribute '{name}'")
    from importlib import import_module  # here, not at the top: see TYPE_CHECKING

    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
