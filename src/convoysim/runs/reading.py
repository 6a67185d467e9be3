"""Reading run and sweep directories back into arrays, for figures, reports and notebooks.

`results.py` writes a run directory; this module reads one (and the sweep directories of
`convoysim sweep`) without re-running anything. Everything is plain numpy arrays and dicts, so a
notebook user gets the same data the figures are drawn from. Times stay in model hours since the
run's start; `start` converts them to dates at the edge.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from convoysim.scenario.loading import ScenarioError, load_scenario
from convoysim.model import Plan, compile_plan
from convoysim.scenario.schema import Scenario

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas


class RunDirError(Exception):
    """A run or sweep directory that cannot be read, naming the file and the reason."""

    def __init__(self, file: Path | str, reason: str):
        self.file, self.reason = str(file), reason
        super().__init__(f"{file}: {reason}")


def read_table(path: Path) -> dict[str, list[str]]:
    """A CSV file as columns of strings; a missing file is a RunDirError, not a traceback."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            columns: dict[str, list[str]] = {name: [] for name in reader.fieldnames or []}
            for row in reader:
                for name in columns:
                    columns[name].append(row.get(name) or "")
    except FileNotFoundError:
        raise RunDirError(path, "missing") from None
    except (OSError, csv.Error, UnicodeDecodeError) as err:
        raise RunDirError(path, f"cannot read: {err}") from None
    return columns


def numbers(values: list[str]) -> np.ndarray:
    """CSV cells as floats: empty is NaN (never happened), 'inf'/'never' is +inf."""
    out = np.empty(len(values))
    for i, v in enumerate(values):
        v = v.strip()
        if v == "":
            out[i] = math.nan
        elif v in ("never", "inf"):
            out[i] = math.inf
        elif v in ("True", "False"):
            out[i] = float(v == "True")
        else:
            out[i] = float(v)
    return out


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_manifest(path: Path) -> dict[str, Any]:
    file = path / "manifest.json"
    if not path.is_dir():
        raise RunDirError(path, "not a directory")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunDirError(file, "missing: not a run or sweep directory") from None
    except (OSError, ValueError) as err:
        raise RunDirError(file, f"cannot read: {err}") from None
    if not isinstance(data, dict):
        raise RunDirError(file, "not a JSON object")
    return data


def is_sweep(path: Path) -> bool:
    """A sweep directory's manifest says `"kind": "sweep"`; a run's manifest has no kind."""
    return read_manifest(path).get("kind") == "sweep"


@dataclass(frozen=True)
class Window:
    """A documented arrival window, in model hours."""

    waypoint: str
    earliest_h: float
    latest_h: float
    hit_rate: float


@dataclass(frozen=True)
class Incidents:
    replication: np.ndarray
    kind: np.ndarray
    t_h: np.ndarray
    km: np.ndarray
    vehicles_lost: np.ndarray


@dataclass
class RunData:
    """Everything a run directory holds, as arrays (hours since `start`, km from the first waypoint)."""

    path: Path
    manifest: dict[str, Any]
    start: datetime
    horizon_h: float
    waypoints: list[str]
    road_km: np.ndarray
    arrivals_h: np.ndarray
    """n_replications x n_waypoints; NaN where the head never arrived."""
    replications: dict[str, np.ndarray]
    """Numeric columns of replications.csv (booleans as 0/1)."""
    comparison: list[dict[str, str]]
    """Rows of comparison.csv as written (ISO dates)."""
    windows: list[Window]
    incidents: Incidents
    tracks: dict[int, tuple[np.ndarray, np.ndarray]]
    """(t_h, km) of the head for each tracked replication."""
    sources: list[tuple[str, str]] = field(default_factory=list)
    """(file name, original YAML text with its comments), nearest layer first."""
    departures_h: np.ndarray | None = None
    """Like `arrivals_h`, the head leaving each waypoint; None for a directory written without it."""

    @property
    def name(self) -> str:
        return str(self.manifest.get("scenario", self.path.name))

    def date(self, hours: float) -> datetime:
        return self.start + timedelta(hours=hours)

    @cached_property
    def scenario(self) -> Scenario:
        """The resolved scenario the run used; a file that no longer validates is a RunDirError."""
        file = self.path / "scenario.resolved.yaml"
        if not file.is_file():
            raise RunDirError(file, "missing")
        try:
            return load_scenario(file)
        except ScenarioError as err:
            raise RunDirError(file, f"does not validate: {err.reason}") from None

    @cached_property
    def plan(self) -> Plan:
        """The compiled plan: interpolated waypoint coordinates for maps."""
        return compile_plan(self.scenario)


def check_rows(file: Path, table: dict[str, list[str]], expected: int | None, what: str) -> None:
    """A table whose row count disagrees with the manifest is truncated or foreign: say so, do not draw it.

    `expected` is None when the manifest does not say how many replications ran (nothing to check).
    """
    rows = len(next(iter(table.values()), []))
    if expected is not None and rows != expected:
        raise RunDirError(file, f"has {rows} rows but the manifest says {what}, so {expected} rows "
                                "(truncated, or from another run?)")


def manifest_replications(manifest: dict[str, Any]) -> int | None:
    """The manifest's replication count, or None when it has none (an older or hand-made directory)."""
    n = manifest.get("replications")
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def _milestones(path: Path, waypoints: list[str], replications: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Arrival hours (and departure hours, when the file has them) as replications x waypoints."""
    table = read_table(path / "milestones.csv")
    check_rows(path / "milestones.csv", table, None if replications is None else replications * len(waypoints),
               f"{replications} replications x {len(waypoints)} waypoints")
    reps = numbers(table.get("replication", [])).astype(int)
    index = {w: i for i, w in enumerate(waypoints)}
    n = int(reps.max()) + 1 if len(reps) else 0

    def grid(column: str) -> np.ndarray:
        out = np.full((n, len(waypoints)), np.nan)
        for r, w, h in zip(reps, table["waypoint"], numbers(table[column])):
            if w in index:
                out[r, index[w]] = h
        return out

    return grid("arrival_h") if "arrival_h" in table else np.full((n, len(waypoints)), np.nan), \
        (grid("departure_h") if "departure_h" in table else None)


def load_run(path: Path | str) -> RunData:
    """Read a run directory written by `convoysim run` (or `results.write_run`)."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest.get("kind") == "sweep":
        raise RunDirError(path, "is a sweep directory, not a run directory")
    for key in ("start", "horizon_h", "waypoints", "road_km"):
        if key not in manifest:
            raise RunDirError(path / "manifest.json", f"no '{key}': not a run manifest")
    start = parse_time(manifest["start"])
    waypoints = list(manifest["waypoints"])

    comparison_table = read_table(path / "comparison.csv")
    rows = [dict(zip(comparison_table, values)) for values in zip(*comparison_table.values())]
    windows = [
        Window(row["waypoint"], (parse_time(row["documented_earliest"]) - start).total_seconds() / 3600.0,
               (parse_time(row["documented_latest"]) - start).total_seconds() / 3600.0,
               float(row["hit_rate"]) if row.get("hit_rate") else math.nan)
        for row in rows
    ]
    n_reps = manifest_replications(manifest)
    rep_table = read_table(path / "replications.csv")
    check_rows(path / "replications.csv", rep_table, n_reps, f"{n_reps} replications")
    reps = {name: numbers(col) for name, col in rep_table.items() if name not in ("end_reason", "error")}

    inc = read_table(path / "incidents.csv")
    incidents = Incidents(
        replication=numbers(inc.get("replication", [])).astype(int),
        kind=np.asarray(inc.get("kind", []), dtype=str),
        t_h=numbers(inc.get("t_h", [])),
        km=numbers(inc.get("km", [])),
        vehicles_lost=numbers(inc.get("vehicles_lost", [])),
    )

    trk = read_table(path / "tracks.csv")
    t_rep = numbers(trk.get("replication", [])).astype(int)
    t_h, t_km = numbers(trk.get("t_h", [])), numbers(trk.get("km", []))
    tracks = {int(r): (t_h[t_rep == r], t_km[t_rep == r]) for r in np.unique(t_rep)}

    sources_dir = path / "sources"
    sources = [(f.name, f.read_text(encoding="utf-8")) for f in sorted(sources_dir.iterdir()) if f.is_file()] \
        if sources_dir.is_dir() else []
    arrivals_h, departures_h = _milestones(path, waypoints, n_reps)
    return RunData(
        path=path, manifest=manifest, start=start, horizon_h=float(manifest["horizon_h"]), waypoints=waypoints,
        road_km=np.asarray(manifest["road_km"], dtype=float), arrivals_h=arrivals_h,
        replications=reps, comparison=rows, windows=windows, incidents=incidents, tracks=tracks, sources=sources,
        departures_h=departures_h,
    )


@dataclass
class SweepData:
    """A sweep directory: the design points, per-point summaries and (optionally) Sobol indices."""

    path: Path
    manifest: dict[str, Any]
    parameters: list[str]
    points: dict[str, np.ndarray]
    """Parameter path -> value at each point, in point order."""
    summary: dict[str, np.ndarray]
    """`<output>_<stat>` -> value at each point, in the same order as `points`."""
    outputs: list[str]
    sobol: list[dict[str, Any]] = field(default_factory=list)
    """Rows of sobol.csv with numeric S1, S1_conf, ST, ST_conf."""

    @property
    def name(self) -> str:
        """The experiment's name (`convoysim sweep` writes it as "experiment"), else the scenario's."""
        m = self.manifest
        return str(m.get("name") or m.get("experiment") or m.get("scenario") or self.path.name)

    def stat(self, output: str, stat: str) -> np.ndarray:
        return self.summary[f"{output}_{stat}"]

    @property
    def start(self) -> datetime | None:
        """The scenario's start (sweeps written before it was recorded have none)."""
        return parse_time(self.manifest["start"]) if self.manifest.get("start") else None

    def to_frame(self) -> "pandas.DataFrame":
        """Points and their summaries, one row per point, arrival statistics also as UTC datetimes."""
        from convoysim.runs.frames import sweep_frame

        rows = [{**{p: v[i] for p, v in self.points.items()}, **{k: v[i] for k, v in self.summary.items()}}
                for i in range(len(next(iter(self.points.values()), [])))]
        return sweep_frame(rows, self.start)


STATS = ("mean", "sd", "p10", "p50", "p90")


def load_sweep(path: Path | str) -> SweepData:
    """Read a sweep directory (points.csv, summary.csv, optional sobol.csv, manifest with kind sweep)."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest.get("kind") != "sweep":
        raise RunDirError(path / "manifest.json", "not a sweep manifest (no \"kind\": \"sweep\")")
    pts = read_table(path / "points.csv")
    if "point" not in pts:
        raise RunDirError(path / "points.csv", "no 'point' column")
    parameters = [c for c in pts if c != "point"]
    try:
        point_ids = numbers(pts["point"]).astype(int)
        points = {p: numbers(pts[p]) for p in parameters}
    except ValueError as err:
        raise RunDirError(path / "points.csv", f"non-numeric value: {err}") from None
    summ = read_table(path / "summary.csv")
    if "point" not in summ:
        raise RunDirError(path / "summary.csv", "no 'point' column")
    try:
        order = {int(float(p)): i for i, p in enumerate(summ["point"])}
        rows = [order[p] for p in point_ids]
    except (KeyError, ValueError):
        raise RunDirError(path / "summary.csv", "its points do not match points.csv") from None
    summary = {}
    for name, col in summ.items():
        if name == "point":
            continue
        try:
            summary[name] = numbers(col)[rows]
        except ValueError:
            continue
    outputs = [name[:-5] for name in summary if name.endswith("_mean")]
    sobol: list[dict[str, Any]] = []
    if (path / "sobol.csv").is_file():
        sob = read_table(path / "sobol.csv")
        for values in zip(*sob.values()):
            row: dict[str, Any] = dict(zip(sob, values))
            for key in ("S1", "S1_conf", "ST", "ST_conf"):
                row[key] = float(row[key]) if row.get(key) else math.nan
            sobol.append(row)
    return SweepData(path=path, manifest=manifest, parameters=parameters, points=points, summary=summary,
                     outputs=outputs, sobol=sobol)
