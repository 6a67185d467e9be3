"""Run directories: written atomically, so an interrupted run never leaves a file that looks complete.

Each file is written to a temporary name and renamed into place; a whole run is assembled in a
hidden `.<run-id>.partial` directory that is renamed to its final name only when every file is in.
A long run streams into that directory block by block (`RunDirectory`), in replication order, so
its records never have to be held in memory all at once.
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
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from convoysim.runs.chunks import (
    UNIT_COLUMNS,
    VEHICLE_COLUMNS,
    unit_lines,
    INCIDENT_COLUMNS,
    MILESTONE_COLUMNS,
    TRACK_COLUMNS,
    RunChunk,
    cell,
    format_chunk,
    header,
    iso,
    track_lines,
)
from convoysim.runs.compare import Comparison
from convoysim.scenario.loading import ScenarioSource
from convoysim.model import ReplicationRecord
from convoysim.runs.montecarlo import MonteCarloRun, StreamedRun

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
    return cell(value) if isinstance(value, float) else value


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


def finite_or_none(value: float) -> float | None:
    """JSON has no inf or NaN: a score that is not finite is written as null."""
    return value if math.isfinite(value) else None


def run_identity(run: MonteCarloRun | StreamedRun, source: ScenarioSource | None) -> dict[str, Any]:
    """What was run: the keys a run manifest and a validation report share."""
    return {
        "scenario": run.scenario.name,
        "scenario_file": source.file if source else None,
        "scenario_sha256": source.sha256() if source else None,
        "seed": run.seed,
        "replications": run.replications,
    }


WRITTEN_BLOCK = 1000
"""Records formatted at a time when an in-memory run is written."""

STREAMED_FILES = {"replications.csv": None, "milestones.csv": MILESTONE_COLUMNS, "incidents.csv": INCIDENT_COLUMNS,
                  "vehicles.csv": VEHICLE_COLUMNS}
"""The files that grow block by block, with their columns (replications.csv's come from the records)."""


class RunDirectory:
    """A run directory being written: blocks of replications are appended, in order, to files in a
    hidden partial folder, which `finish` renames into place once every file is complete. Leaving
    the with-block without finishing (an error, Ctrl-C) removes the partial folder.

    With `unique`, a name already taken gets a -2, -3 ... suffix instead of being an error.
    """

    def __init__(self, out: Path, unique: bool = False):
        if not unique and out.exists() and any(out.iterdir()):
            raise FileExistsError(f"{out} already holds files; choose another --out")
        self.out, self.unique = out, unique
        out.parent.mkdir(parents=True, exist_ok=True)
        self.partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
        os.chmod(self.partial, 0o777 & ~_umask())
        self._files = {name: (self.partial / name).open("w", encoding="utf-8", newline="") for name in STREAMED_FILES}
        self._next = 0
        self.errors = 0

    def __enter__(self) -> "RunDirectory":
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    def add(self, chunk: RunChunk) -> None:
        """Append the next block of replications (blocks must come in replication order)."""
        if chunk.first != self._next:
            raise ValueError(f"replication {chunk.first} arrived, but {self._next} comes next")
        if self._next == 0:
            for name, columns in STREAMED_FILES.items():
                self._files[name].write(header(columns or chunk.replication_columns))
        self._files["replications.csv"].write(chunk.replications_csv)
        self._files["milestones.csv"].write(chunk.milestones_csv)
        self._files["incidents.csv"].write(chunk.incidents_csv)
        self._files["vehicles.csv"].write(chunk.vehicles_csv)
        self._next += chunk.count
        self.errors += chunk.errors

    def finish(self, run: MonteCarloRun | StreamedRun, comparison: Comparison, source: ScenarioSource | None,
               tracks: Iterable[ReplicationRecord] = (), extra_files: Mapping[str, str] | None = None) -> Path:
        """Write the files that need the whole run, then move the directory into place."""
        if self._next != run.replications:
            raise ValueError(f"{self._next} of {run.replications} replications were written")
        for fh in self._files.values():
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
        partial = self.partial
        write_atomic(partial / "comparison.csv", csv_text(comparison_rows(run, comparison), COMPARISON_COLUMNS))
        write_atomic(partial / "counts.csv", csv_text(count_rows(comparison), COUNT_COLUMNS))
        tracks = list(tracks)
        write_atomic(partial / "tracks.csv", header(TRACK_COLUMNS) + track_lines(tracks))
        write_atomic(partial / "units.csv", header(UNIT_COLUMNS) + unit_lines(run.plan, tracks))
        write_atomic(partial / "scenario.resolved.yaml", yaml.safe_dump(run.scenario.model_dump(mode="json", by_alias=True), sort_keys=False))
        if source is not None:
            for k, layer in enumerate(source.layers):
                write_atomic(partial / "sources" / f"{k}-{layer.path.name}", layer.text)
        for name, text in (extra_files or {}).items():
            write_atomic(partial / name, text)
        write_atomic(partial / "manifest.json", json.dumps(run_manifest(run, comparison, source, self.errors), indent=2,
                                                           allow_nan=False, default=str) + "\n")
        placed = _place(partial, self.out, self.unique)
        self.partial = None
        return placed

    def abort(self) -> None:
        """Remove the partial folder, unless the directory was finished."""
        for fh in self._files.values():
            fh.close()
        if self.partial is not None:
            shutil.rmtree(self.partial, ignore_errors=True)
            self.partial = None


def run_manifest(run: MonteCarloRun | StreamedRun, comparison: Comparison, source: ScenarioSource | None,
                 errors: int) -> dict[str, Any]:
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
    }


def write_run(out: Path, run: MonteCarloRun, comparison: Comparison, source: ScenarioSource | None,
              tracks: Iterable[ReplicationRecord] = (), extra_files: Mapping[str, str] | None = None,
              unique: bool = False) -> Path:
    """Write a run directory and return its path; nothing appears under `out` until it is complete.

    With `unique`, a name already taken gets a -2, -3 ... suffix instead of being an error.
    """
    with RunDirectory(out, unique) as directory:
        for a in range(0, len(run.records), WRITTEN_BLOCK):
            directory.add(format_chunk(run.plan, run.records[a:a + WRITTEN_BLOCK]))
        return directory.finish(run, comparison, source, tracks, extra_files)
