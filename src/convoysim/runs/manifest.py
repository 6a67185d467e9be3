"""What a run was: its identity (shared by run manifests, validation reports and resumes) and its
manifest.json."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from convoysim.runs import identity
from convoysim.runs.compare import Comparison
from convoysim.runs.files import finite_or_none, package_versions
from convoysim.runs.montecarlo import MonteCarloRun, StreamedRun
from convoysim.scenario.loading import ScenarioSource


def run_identity(run: MonteCarloRun | StreamedRun, source: ScenarioSource | None) -> dict[str, Any]:
    """What was run: the keys a run manifest and a validation report share."""
    return {
        "scenario": run.scenario.name,
        "scenario_file": source.file if source else None,
        "scenario_sha256": source.sha256() if source else None,
        "seed": run.seed,
        "replications": run.replications,
    }


def command_identity(source: ScenarioSource, seed: int, replications: int) -> dict[str, Any]:
    """What decides a streamed run's results: a partial folder left by a run with another identity
    is started over, never resumed into a mix of two runs."""
    return {
        "scenario_sha256": source.sha256(),
        "seed": seed,
        "replications": replications,
        "versions": package_versions(),
        "code": identity.code_sha256(),
    }


def run_manifest(
    run: MonteCarloRun | StreamedRun,
    comparison: Comparison,
    source: ScenarioSource | None,
    errors: int,
    resumed_from: Iterable[int] = (),
) -> dict[str, Any]:
    """The run's manifest; `resumed_from` lists the replications at which an interrupted run was
    resumed (its files are those of an uninterrupted run: only this, the wall time, the workers and
    the creation time tell them apart)."""
    return {
        **run_identity(run, source),
        "workers": run.workers,
        "wall_time_s": round(run.wall_time_s, 3),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "start": run.plan.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "horizon_h": run.plan.horizon_h,
        "waypoints": list(run.plan.names),
        "road_km": list(run.plan.road_km),
        "coverage": finite_or_none(comparison.coverage),
        "mean_crps_h": finite_or_none(comparison.mean_crps_h),
        "errors": errors,
        "scores": comparison.summary(),
        "pinned_waypoints": [m.waypoint for m in comparison.milestones if m.pinned],
        "versions": package_versions(),
        "resumed_from": list(resumed_from),
    }
