"""Run directories: written atomically, so an interrupted run never leaves a file that looks complete.

Each file is written to a temporary name and renamed into place; a whole run is assembled in a
hidden `.<run-id>.partial` directory that is renamed to its final name only when every file is in.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from convoysim.runs.compare import Comparison
from convoysim.scenario.loading import ScenarioSource
from convoysim.model import ReplicationRecord
from convoysim.runs.montecarlo import MonteCarloRun

PACKAGES = ("convoysim", "simpy", "numpy", "scipy", "pydantic", "pyyaml")


def write_atomic(path: Path, text: str) -> None:
    """Write text so that `path` holds either its old content or all of the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process umask (mkstemp creates files 0600; results are meant to be shared)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def csv_text(rows: Iterable[Mapping[str, Any]], columns: list[str] | None = None) -> str:
    rows = list(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns or (list(rows[0]) if rows else []), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return value


def iso(start: datetime, hours: float) -> str:
    """A model time as an ISO date-time in UTC; empty for never, 'never' for +inf."""
    if math.isnan(hours):
        return ""
    if math.isinf(hours):
        return "never"
    return (start + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def milestone_rows(run: MonteCarloRun) -> list[dict[str, Any]]:
    plan = run.plan
    return [
        {"replication": r.replication, "waypoint": name, "arrival_h": h, "arrival_time": iso(plan.start, h),
         "departure_h": d}
        for r in run.records
        for name, h, d in zip(plan.names, r.arrival_h, r.departure_h)
    ]


def comparison_rows(run: MonteCarloRun, comparison: Comparison) -> list[dict[str, Any]]:
    start = run.plan.start
    return [
        {
            "waypoint": m.waypoint,
            "documented_earliest": iso(start, m.earliest_h),
            "documented_latest": iso(start, m.latest_h),
            "p10": iso(start, m.p10_h),
            "p50": iso(start, m.p50_h),
            "p90": iso(start, m.p90_h),
            "hit_rate": m.hit_rate,
            "percentile": m.percentile,
            "crps_h": m.crps_h,
            "pinned": m.pinned,
        }
        for m in comparison.milestones
    ]


def count_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """One row per documented count: the window, the simulated quantiles and the scores."""
    return [
        {"count": c.count, "where": c.where, "documented_low": c.low, "documented_high": c.high, "p10": c.p10,
         "p50": c.p50, "p90": c.p90, "hit_rate": c.hit_rate, "percentile": c.percentile, "rps": c.rps,
         "note": c.note, "source": c.source}
        for c in comparison.counts
    ]


def incident_rows(run: MonteCarloRun) -> list[dict[str, Any]]:
    start = run.plan.start
    return [
        {"replication": r.replication, "kind": kind, "t_h": t, "time": iso(start, t), "km": km, "vehicles_lost": lost}
        for r in run.records
        for kind, t, km, lost in r.incidents
    ]


def track_rows(tracks: Iterable[ReplicationRecord]) -> list[dict[str, Any]]:
    return [{"replication": r.replication, "t_h": t, "km": km} for r in tracks for t, km in (r.track or [])]


def vehicle_rows(run: MonteCarloRun) -> list[dict[str, Any]]:
    """One row per replication and vehicle destroyed, damaged, abandoned or left behind (arrivals intact are counted, not listed)."""
    start, roster = run.plan.start, run.plan.roster
    return [
        {"replication": r.replication, "vehicle": roster.ids[v], "type": roster.kinds[roster.kind[v]].name,
         "march_unit": roster.units[roster.unit[v]].name, "fate": fate, "cause": cause, "km": km, "t_h": t, "time": iso(start, t)}
        for r in run.records
        for v, fate, cause, t, km in r.fates
    ]


def unit_rows(tracks: Iterable[ReplicationRecord], run: MonteCarloRun) -> list[dict[str, Any]]:
    """Head and tail of every march unit at each change of its motion, for the tracked replications."""
    units = run.plan.roster.units
    return [{"replication": r.replication, "unit": u, "march_unit": units[u].name, "t_h": t, "head_km": head, "tail_km": tail}
            for r in tracks for u, t, head, tail in r.units]


VEHICLE_COLUMNS = ["replication", "vehicle", "type", "march_unit", "fate", "cause", "km", "t_h", "time"]
UNIT_COLUMNS = ["replication", "unit", "march_unit", "t_h", "head_km", "tail_km"]

MILESTONE_COLUMNS = ["replication", "waypoint", "arrival_h", "arrival_time", "departure_h"]
COMPARISON_COLUMNS = ["waypoint", "documented_earliest", "documented_latest", "p10", "p50", "p90", "hit_rate", "percentile", "crps_h",
                      "pinned"]

COUNT_COLUMNS = ["count", "where", "documented_low", "documented_high", "p10", "p50", "p90", "hit_rate", "percentile", "rps",
                 "note", "source"]


def safe_name(name: str) -> str:
    """A scenario or experiment name as one folder name: letters, digits, '-', '_' and '.' kept,
    anything else (a '/', '..', a drive letter) made '_', so a name can never lead outside `results/`."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".")[:100]
    return cleaned or "_"


def default_run_dir(root: Path, scenario_name: str, seed: int) -> Path:
    """`root/<scenario>/<UTC time>-seed<seed>`; write_run(unique=True) adds -2, -3 ... on a clash."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return root / safe_name(scenario_name) / f"{stamp}-seed{seed}"


def reserve_dir(path: Path) -> Path:
    """Create a new, empty directory at `path` (or `path`-2, -3 ... if taken) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate, k = path, 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            k += 1
            candidate = path.with_name(f"{path.name}-{k}")


def _place(partial: Path, out: Path, unique: bool) -> Path:
    """Rename the finished folder into place; a rename never lands on a folder that holds files,
    so two runs started in the same second cannot mix their files."""
    candidate, k = out, 1
    while True:
        try:
            os.rename(partial, candidate)
            return candidate
        except OSError as err:
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not unique:
                if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise FileExistsError(f"{candidate} already holds files; choose another --out") from None
                raise
            k += 1
            candidate = out.with_name(f"{out.name}-{k}")


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def write_run(out: Path, run: MonteCarloRun, comparison: Comparison, source: ScenarioSource | None,
              tracks: Iterable[ReplicationRecord] = (), extra_files: Mapping[str, str] | None = None,
              unique: bool = False) -> Path:
    """Write a run directory and return its path; nothing appears under `out` until it is complete.

    With `unique`, a name already taken gets a -2, -3 ... suffix instead of being an error.
    """
    if not unique and out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} already holds files; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    os.chmod(partial, 0o777 & ~_umask())
    try:
        records = [r.as_row() for r in run.records]
        write_atomic(partial / "replications.csv", csv_text(records))
        write_atomic(partial / "milestones.csv", csv_text(milestone_rows(run), MILESTONE_COLUMNS))
        write_atomic(partial / "comparison.csv", csv_text(comparison_rows(run, comparison), COMPARISON_COLUMNS))
        write_atomic(partial / "counts.csv", csv_text(count_rows(comparison), COUNT_COLUMNS))
        write_atomic(partial / "incidents.csv", csv_text(incident_rows(run), ["replication", "kind", "t_h", "time", "km", "vehicles_lost"]))
        tracks = list(tracks)
        write_atomic(partial / "tracks.csv", csv_text(track_rows(tracks), ["replication", "t_h", "km"]))
        write_atomic(partial / "units.csv", csv_text(unit_rows(tracks, run), UNIT_COLUMNS))
        write_atomic(partial / "vehicles.csv", csv_text(vehicle_rows(run), VEHICLE_COLUMNS))
        write_atomic(partial / "scenario.resolved.yaml", yaml.safe_dump(run.scenario.model_dump(mode="json", by_alias=True), sort_keys=False))
        if source is not None:
            for k, layer in enumerate(source.layers):
                write_atomic(partial / "sources" / f"{k}-{layer.path.name}", layer.text)
        manifest = {
            "scenario": run.scenario.name,
            "scenario_file": source.file if source else None,
            "scenario_sha256": source.sha256() if source else None,
            "seed": run.seed,
            "replications": run.replications,
            "workers": run.workers,
            "wall_time_s": round(run.wall_time_s, 3),
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "start": run.plan.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "horizon_h": run.plan.horizon_h,
            "waypoints": list(run.plan.names),
            "road_km": list(run.plan.road_km),
            "coverage": _finite(comparison.coverage),
            "mean_crps_h": _finite(comparison.mean_crps_h),
            "errors": sum(1 for r in run.records if r.error),
            "scores": comparison.summary(),
            "pinned_waypoints": [m.waypoint for m in comparison.milestones if m.pinned],
            "versions": package_versions(),
        }
        for name, text in (extra_files or {}).items():
            write_atomic(partial / name, text)
        write_atomic(partial / "manifest.json", json.dumps(manifest, indent=2, allow_nan=False, default=str) + "\n")
        return _place(partial, out, unique)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
