"""convoysim: discrete-event Monte Carlo simulation of road convoys."""

from convoysim.loading import ScenarioError, load_scenario
from convoysim.model import ReplicationRecord, compile_plan, simulate
from convoysim.montecarlo import MonteCarloRun, run_monte_carlo
from convoysim.scenario import Scenario

__version__ = "0.1.0"

__all__ = [
    "MonteCarloRun",
    "ReplicationRecord",
    "Scenario",
    "ScenarioError",
    "compile_plan",
    "load_scenario",
    "run_monte_carlo",
    "simulate",
]
