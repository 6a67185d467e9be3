"""A Monte Carlo run held in memory as the `RunData` the figures draw, so a notebook needs no run
directory: `time_distance_chart(run.figure_data())` works straight after `run_monte_carlo`.

The arrays are the same a run directory would give back (`load_run`), built from the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from convoysim.model import ReplicationRecord
from convoysim.runs.compare import Comparison, compare_run, comparison_rows
from convoysim.runs.frames import RecordedRun
from convoysim.runs.reading import Incidents, RunData, Window
from convoysim.scenario.schema import Scenario


class SimulatedRun(RecordedRun, Protocol):
    """A run held in memory (`montecarlo.MonteCarloRun`, which builds its figure data here)."""

    scenario: Scenario
    seed: int
    replications: int


def run_data(run: SimulatedRun, tracks: Sequence[ReplicationRecord], comparison: Comparison | None = None) -> RunData:
    """The run as figures see it; `tracks` are its first replications run again with their paths
    (`MonteCarloRun.figure_data` runs them)."""
    plan = run.plan
    comparison = comparison or compare_run(run)
    records = run.records
    incidents = [(r.replication, kind, t, km, lost) for r in records for kind, t, km, lost in r.incidents]
    columns = list(zip(*incidents)) if incidents else [[], [], [], [], []]
    tracks = {
        r.replication: (np.array([t for t, _ in r.track or []]), np.array([km for _, km in r.track or []]))
        for r in tracks
    }
    data = RunData(
        path=Path(f"<in memory: {run.scenario.name}>"),
        manifest={
            "scenario": run.scenario.name,
            "seed": run.seed,
            "replications": run.replications,
            "start": plan.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "horizon_h": plan.horizon_h,
            "waypoints": list(plan.names),
            "road_km": list(plan.road_km),
        },
        start=plan.start,
        horizon_h=plan.horizon_h,
        waypoints=list(plan.names),
        road_km=np.asarray(plan.road_km, dtype=float),
        arrivals_h=run.arrivals(),
        replications={
            name: np.array([float(row[name]) for row in rows], dtype=float)
            for rows in [[r.as_row() for r in records]]
            for name in rows[0]
            if name not in ("end_reason", "error")
        },
        comparison=comparison_rows(run, comparison),
        windows=[Window(m.waypoint, m.earliest_h, m.latest_h, m.hit_rate) for m in comparison.milestones],
        incidents=Incidents(
            replication=np.asarray(columns[0], dtype=int),
            kind=np.asarray(columns[1], dtype=str),
            t_h=np.asarray(columns[2], dtype=float),
            km=np.asarray(columns[3], dtype=float),
            vehicles_lost=np.asarray(columns[4], dtype=float),
        ),
        tracks=tracks,
        departures_h=np.array([r.departure_h for r in records], dtype=float),
    )
    data.__dict__["scenario"] = run.scenario  # cached properties, known already: no file to read
    data.__dict__["plan"] = plan
    return data
