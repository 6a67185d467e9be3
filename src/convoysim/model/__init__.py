"""The SimPy model of a convoy's march. It never reads files, prints or plots."""

from __future__ import annotations

import weakref

import numpy as np
import simpy

from convoysim.model.march import march_replication
from convoysim.model.plan import Plan, compile_plan
from convoysim.model.record import ACTIVITIES, END_REASONS, LOSS_CAUSES, ReplicationRecord
from convoysim.scenario.schema import Scenario

__all__ = [
    "ACTIVITIES",
    "END_REASONS",
    "LOSS_CAUSES",
    "Plan",
    "ReplicationRecord",
    "compile_plan",
    "replicate",
    "simulate",
]


def replicate(
    plan: Plan,
    rng: np.random.Generator,
    replication: int = 0,
    trace: bool = False,
    track: bool = False,
    env: simpy.Environment | None = None,
) -> ReplicationRecord:
    """One replication of a compiled plan with the generator it is given.

    `trace` keeps a plain-language event log, `track` the head's (time, km) path; both cost time
    per event and are off in Monte Carlo runs. `env`, a fresh SimPy environment (default: a plain
    one), is the teaching hook: an environment that records each event it processes shows the
    event list (`convoysim.runs.eventlog`).
    """
    return march_replication(plan, rng, replication, trace, track, env)


_compiled: dict[int, tuple[weakref.ref[Scenario], Plan]] = {}
"""Plans compiled by `simulate`, by scenario object, dropped when the scenario is."""


def plan_of(scenario: Scenario | Plan) -> Plan:
    """The scenario's compiled plan, compiled on its first use only (scenarios are frozen)."""
    if isinstance(scenario, Plan):
        return scenario
    key = id(scenario)
    hit = _compiled.get(key)
    if hit is not None and hit[0]() is scenario:
        return hit[1]
    plan = compile_plan(scenario)

    def forget(ref: weakref.ref[Scenario]) -> None:
        if _compiled.get(key, (None,))[0] is ref:
            del _compiled[key]

    _compiled[key] = (weakref.ref(scenario, forget), plan)
    return plan


def simulate(
    scenario: Scenario | Plan, seed: int | np.random.SeedSequence = 0, trace: bool = False
) -> ReplicationRecord:
    """One replication of a scenario; the same seed always gives the same record.

    Calling it in a loop over seeds costs one replication each: the plan is compiled once per
    scenario object."""
    return replicate(plan_of(scenario), np.random.default_rng(seed), 0, trace)
