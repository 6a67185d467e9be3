"""convoysim: discrete-event Monte Carlo simulation of road convoys.

The package follows the one-way flow of the data: `scenario` (YAML to a validated Scenario) →
`model` (the SimPy processes) → `runs` (replications, comparison, run directories) → `studies`
(sweeps) and `calibration` → `figures` → `commands` (the CLI). The names below are the public API.
"""

from convoysim.model import ReplicationRecord, compile_plan, simulate
from convoysim.runs.compare import Comparison, compare_run
from convoysim.runs.montecarlo import MonteCarloRun, run_monte_carlo
from convoysim.scenario.loading import ScenarioError, load_scenario
from convoysim.scenario.schema import Scenario

__version__ = "0.1.0"

__all__ = [
    "Comparison",
    "MonteCarloRun",
    "ReplicationRecord",
    "Scenario",
    "ScenarioError",
    "compare_run",
    "compile_plan",
    "load_scenario",
    "run_monte_carlo",
    "simulate",
]
