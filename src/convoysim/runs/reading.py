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
from datetime import datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from convoysim.model import Plan, compile_plan
from convoysim.scenario.loading import ScenarioError, clip, load_scenario
from convoysim.scenario.schema import EARLIEST_YEAR, LATEST_YEAR, MAX_HORIZON_DAYS, Scenario

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
    if not columns:
        raise RunDirError(path, "is empty (not even its header line): the file is damaged")
    return columns


def require_columns(file: Path, table: dict[str, list[str]], names: tuple[str, ...]) -> None:
    """A table missing a column its readers need is damaged: say which, before anything is drawn."""
    missing = [name for name in names if name not in table]
    if missing:
        raise RunDirError(file, f"no '{missing[0]}' column (columns: {', '.join(table)}); the file is damaged")


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


def column(file: Path, table: dict[str, list[str]], name: str, required: bool = True) -> np.ndarray:
    """One numeric column of a table; a missing column or a cell that is not a number is a RunDirError."""
    if name not in table:
        if required:
            raise RunDirError(file, f"no '{name}' column (columns: {', '.join(table) or 'none'})")
        return np.empty(0)
    try:
        return numbers(table[name])
    except ValueError:
        row = next(i for i, v in enumerate(table[name]) if not _is_number(v))
        raise RunDirError(file, f"row {row + 1}, column '{name}': {table[name][row]!r} is not a number") from None


def within(
    file: Path, table: dict[str, list[str]], name: str, values: np.ndarray, low: float, high: float
) -> np.ndarray:
    """`values` (a column of `table`) checked to lie in [low, high] where given (NaN: never happened)."""
    bad = ~np.isnan(values) & ((values < low - 1e-6) | (values > high + 1e-6))
    if bad.any():
        k = int(np.argmax(bad))
        raise RunDirError(
            file,
            f"row {k + 1}, column '{name}': {table[name][k]!r} is outside {low:g} to {high:g} "
            "(the run's clock or road); the file is damaged or from another run",
        )
    return values


def _is_number_column(values: list[str]) -> bool:
    return all(_is_number(v) for v in values)


def _is_number(text: str) -> bool:
    try:
        numbers([text])
        return True
    except ValueError:
        return False


def indices(file: Path, table: dict[str, list[str]], name: str, below: int) -> np.ndarray:
    """A column of replication (or point) numbers, each a whole number in [0, below)."""
    values = column(file, table, name)
    bad = ~np.isfinite(values) | (values < 0) | (values >= below) | (values != np.round(values))
    if bad.any():
        k = int(np.argmax(bad))
        raise RunDirError(
            file, f"row {k + 1}, column '{name}': {table[name][k]!r} is not a whole number from 0 to {below - 1}"
        )
    return values.astype(int)


def parse_time(text: Any, file: Path | str = "", what: str = "time") -> datetime:
    """An ISO date-time as written in run files; anything else is a RunDirError naming `what`."""
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00")) if isinstance(text, str) else None
    except ValueError:
        when = None
    if when is None:
        raise RunDirError(file, f"{what}: {clip(repr(text))} is not an ISO date-time")
    if not EARLIEST_YEAR <= when.year <= LATEST_YEAR:  # as a scenario's dates; hours added to it must stay dates
        raise RunDirError(
            file, f"{what}: the year {when.year} is outside {EARLIEST_YEAR} to {LATEST_YEAR}; the file is damaged"
        )
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)  # run files are in UTC


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
    except RecursionError:
        raise RunDirError(file, "nests too deeply to be a manifest; the file is damaged") from None
    if not isinstance(data, dict):
        raise RunDirError(file, "not a JSON object")
    return data


def _run_manifest(path: Path, manifest: dict[str, Any]) -> tuple[datetime, float, list[str], np.ndarray]:
    """The manifest fields a run is drawn from, each checked for its type: start, horizon, waypoints, road km."""
    file = path / "manifest.json"
    for key in ("start", "horizon_h", "waypoints", "road_km"):
        if key not in manifest:
            raise RunDirError(file, f"no '{key}': not a run manifest")
    start = parse_time(manifest["start"], file, "start")
    horizon = manifest["horizon_h"]
    if not _is_real(horizon) or not 0 < horizon <= MAX_HORIZON_H:
        raise RunDirError(
            file, f"horizon_h: {clip(repr(horizon))} is not a positive number of hours up to {MAX_HORIZON_H:g}"
        )
    waypoints = manifest["waypoints"]
    if not isinstance(waypoints, list) or len(waypoints) < 2 or not all(isinstance(w, str) for w in waypoints):
        raise RunDirError(file, "waypoints: not a list of two or more names")
    road_km = manifest["road_km"]
    if (
        not isinstance(road_km, list)
        or len(road_km) != len(waypoints)
        or not all(_is_real(x) and math.isfinite(x) for x in road_km)
        or any(b < a for a, b in zip(road_km, road_km[1:]))
    ):
        raise RunDirError(file, "road_km: not a list of increasing kilometres, one per waypoint")
    n = manifest.get("replications")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise RunDirError(file, f"replications: {n!r} is not a positive whole number")
    return start, float(horizon), waypoints, np.asarray(road_km, dtype=float)


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


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
    columns: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    """(t_h, head km of the first march unit, tail km of the last) for each tracked replication,
    from units.csv (empty for run directories written before march units existed)."""

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
        raise RunDirError(
            file, f"has {rows} rows but the manifest says {what}, so {expected} rows (truncated, or from another run?)"
        )


def manifest_replications(manifest: dict[str, Any]) -> int | None:
    """The manifest's replication count, or None when it has none (an older or hand-made directory)."""
    n = manifest.get("replications")
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def _milestones(
    path: Path, waypoints: list[str], replications: int | None = None, horizon_h: float = math.inf
) -> tuple[np.ndarray, np.ndarray | None]:
    """Arrival hours, and departure hours when the file has them (older runs do not), as
    replications x waypoints; NaN where the head never got there (or never left)."""
    table = read_table(path / "milestones.csv")
    check_rows(
        path / "milestones.csv",
        table,
        None if replications is None else replications * len(waypoints),
        f"{replications} replications x {len(waypoints)} waypoints",
    )
    file = path / "milestones.csv"
    rows = len(next(iter(table.values()), []))
    limit = replications if replications is not None else rows
    reps = indices(file, table, "replication", max(limit, 1)) if rows else np.empty(0, dtype=int)

    def hours_of(name: str) -> np.ndarray:
        hours = column(file, table, name) if rows else np.empty(0)
        if rows:
            within(file, table, name, hours, 0.0, horizon_h)
        return hours

    arrival = hours_of("arrival_h")
    departure = hours_of("departure_h") if "departure_h" in table else None
    if rows and "waypoint" not in table:
        raise RunDirError(file, "no 'waypoint' column")
    index = {w: i for i, w in enumerate(waypoints)}
    n = int(reps.max()) + 1 if len(reps) else 0

    def grid(hours: np.ndarray) -> np.ndarray:
        out = np.full((n, len(waypoints)), np.nan)
        for r, w, h in zip(reps, table.get("waypoint", []), hours):
            if w in index:
                out[r, index[w]] = h
        return out

    return grid(arrival), (grid(departure) if departure is not None else None)


MAX_HORIZON_H = MAX_HORIZON_DAYS * 24.0
"""The longest horizon a scenario may have, in hours: a manifest beyond it is damaged."""

COMPARISON_READ = ("waypoint", "documented_earliest", "documented_latest", "p10", "p50", "p90")
REPLICATIONS_READ = ("replication", "end_h")
"""Columns the figures and the report read from comparison.csv and replications.csv."""
SOBOL_READ = ("output", "parameter", "S1", "ST")


def load_run(path: Path | str) -> RunData:
    """Read a run directory written by `convoysim run` (or `results.write_run`)."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest.get("kind") == "sweep":
        raise RunDirError(path, "is a sweep directory, not a run directory")
    start, horizon_h, waypoints, road_km = _run_manifest(path, manifest)

    comparison_file = path / "comparison.csv"
    comparison_table = read_table(comparison_file)
    rows = [dict(zip(comparison_table, values)) for values in zip(*comparison_table.values())]
    require_columns(comparison_file, comparison_table, COMPARISON_READ)
    hit_rates = column(comparison_file, comparison_table, "hit_rate", required=False)
    windows = [
        Window(
            row["waypoint"],
            (parse_time(row["documented_earliest"], comparison_file, f"row {k + 1}") - start).total_seconds() / 3600.0,
            (parse_time(row["documented_latest"], comparison_file, f"row {k + 1}") - start).total_seconds() / 3600.0,
            float(hit_rates[k]) if len(hit_rates) else math.nan,
        )
        for k, row in enumerate(rows)
    ]
    for k, row in enumerate(rows):  # the simulated quantiles the report reads: a date, or 'never'
        for key in ("p10", "p50", "p90"):
            if row[key] not in ("", "never"):
                parse_time(row[key], comparison_file, f"row {k + 1}, column '{key}'")
    n_reps = manifest_replications(manifest)
    rep_file = path / "replications.csv"
    rep_table = read_table(rep_file)
    require_columns(rep_file, rep_table, REPLICATIONS_READ)
    check_rows(rep_file, rep_table, n_reps, f"{n_reps} replications")
    reps = {name: column(rep_file, rep_table, name) for name in rep_table if name not in ("end_reason", "error")}
    n_rows = n_reps or len(next(iter(rep_table.values()), [])) or 1

    inc_file = path / "incidents.csv"
    inc = read_table(inc_file)
    incidents = Incidents(
        replication=indices(inc_file, inc, "replication", n_rows) if "replication" in inc else np.empty(0, dtype=int),
        kind=np.asarray(inc.get("kind", []), dtype=str),
        t_h=within(inc_file, inc, "t_h", column(inc_file, inc, "t_h", required=False), 0.0, horizon_h),
        km=within(inc_file, inc, "km", column(inc_file, inc, "km", required=False), 0.0, float(road_km[-1])),
        vehicles_lost=column(inc_file, inc, "vehicles_lost", required=False),
    )

    trk_file = path / "tracks.csv"
    trk = read_table(trk_file)
    t_rep = indices(trk_file, trk, "replication", n_rows) if "replication" in trk else np.empty(0, dtype=int)
    t_h, t_km = (
        column(trk_file, trk, "t_h", required=bool(len(t_rep))),
        column(trk_file, trk, "km", required=bool(len(t_rep))),
    )
    within(trk_file, trk, "t_h", t_h, 0.0, horizon_h)
    within(trk_file, trk, "km", t_km, 0.0, float(road_km[-1]))
    tracks = {int(r): (t_h[t_rep == r], t_km[t_rep == r]) for r in np.unique(t_rep)}

    arrivals_h, departures_h = _milestones(path, waypoints, n_reps, horizon_h)
    return RunData(
        path=path,
        manifest=manifest,
        start=start,
        horizon_h=horizon_h,
        waypoints=waypoints,
        road_km=road_km,
        arrivals_h=arrivals_h,
        replications=reps,
        comparison=rows,
        windows=windows,
        incidents=incidents,
        tracks=tracks,
        sources=_sources(path),
        departures_h=departures_h,
        columns=_columns(path / "units.csv", n_rows, horizon_h, float(road_km[-1])),
    )


def _columns(
    file: Path, n_rows: int, horizon_h: float, total_km: float
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The column's extent over time: head of the first march unit and tail of the last, on one time grid
    (none for run directories written before march units existed)."""
    if not file.exists():
        return {}
    table = read_table(file)
    if not table.get("replication"):
        return {}
    rep, unit = indices(file, table, "replication", n_rows), indices(file, table, "unit", 10**6)
    t_h = within(file, table, "t_h", column(file, table, "t_h"), 0.0, horizon_h)
    head = within(file, table, "head_km", column(file, table, "head_km"), 0.0, total_km)
    tail = within(file, table, "tail_km", column(file, table, "tail_km"), 0.0, total_km)
    out = {}
    for r in np.unique(rep):
        mine = rep == r
        first, last = mine & (unit == 0), mine & (unit == unit[mine].max())
        if not first.any():
            raise RunDirError(file, f"replication {r} has no row for its first march unit")
        grid = np.unique(t_h[mine])
        out[int(r)] = (grid, np.interp(grid, t_h[first], head[first]), np.interp(grid, t_h[last], tail[last]))
    return out


def _sources(path: Path) -> list[tuple[str, str]]:
    """The scenario files a run was made from, as written; text that is not UTF-8 is a RunDirError."""
    folder = path / "sources"
    if not folder.is_dir():
        return []
    out = []
    for file in sorted(folder.iterdir()):
        if file.is_file():
            try:
                out.append((file.name, file.read_text(encoding="utf-8")))
            except UnicodeDecodeError as err:
                raise RunDirError(file, f"is not UTF-8 text (byte {err.start})") from None
    return out


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
        return (
            parse_time(self.manifest["start"], self.path / "manifest.json", "start")
            if self.manifest.get("start")
            else None
        )

    def to_frame(self) -> "pandas.DataFrame":
        """Points and their summaries, one row per point, arrival statistics also as UTC datetimes."""
        from convoysim.runs.frames import sweep_frame

        rows = [
            {**{p: v[i] for p, v in self.points.items()}, **{k: v[i] for k, v in self.summary.items()}}
            for i in range(len(next(iter(self.points.values()), [])))
        ]
        return sweep_frame(rows, self.start)


STATS = ("mean", "sd", "p10", "p50", "p90")


def load_sweep(path: Path | str) -> SweepData:
    """Read a sweep directory (points.csv, summary.csv, optional sobol.csv, manifest with kind sweep)."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest.get("kind") != "sweep":
        raise RunDirError(path / "manifest.json", 'not a sweep manifest (no "kind": "sweep")')
    pts = read_table(path / "points.csv")
    if "point" not in pts:
        raise RunDirError(path / "points.csv", "no 'point' column")
    parameters = [c for c in pts if c != "point"]
    if not parameters:
        raise RunDirError(path / "points.csv", "has no parameter columns, only 'point'; the file is damaged")
    n_points = len(pts["point"])
    point_ids = indices(path / "points.csv", pts, "point", max(n_points, 1))
    if len(set(point_ids.tolist())) != n_points:
        raise RunDirError(path / "points.csv", "a point number appears twice")
    points = {p: column(path / "points.csv", pts, p) for p in parameters}
    summ = read_table(path / "summary.csv")
    if "point" not in summ:
        raise RunDirError(path / "summary.csv", "no 'point' column")
    try:
        order = {int(float(p)): i for i, p in enumerate(summ["point"])}
        rows = [order[p] for p in point_ids]
    except (KeyError, ValueError):
        raise RunDirError(path / "summary.csv", "its points do not match points.csv") from None
    summary = {}
    for name in summ:
        if name == "point":
            continue
        if name.endswith(tuple(f"_{stat}" for stat in STATS)) or name in ("replications", "errors"):
            summary[name] = column(path / "summary.csv", summ, name)[rows]
        elif _is_number_column(summ[name]):
            summary[name] = numbers(summ[name])[rows]
    outputs = [name[:-5] for name in summary if name.endswith("_mean")]
    sobol: list[dict[str, Any]] = []
    if (path / "sobol.csv").is_file():
        sob = read_table(path / "sobol.csv")
        require_columns(path / "sobol.csv", sob, SOBOL_READ)
        for values in zip(*sob.values()):
            row: dict[str, Any] = dict(zip(sob, values))
            for key in ("S1", "S1_conf", "ST", "ST_conf"):
                try:
                    row[key] = float(row[key]) if row.get(key) else math.nan
                except ValueError:
                    raise RunDirError(
                        path / "sobol.csv", f"row {len(sobol) + 1}, column '{key}': {row[key]!r} is not a number"
                    ) from None
            sobol.append(row)
    return SweepData(
        path=path,
        manifest=manifest,
        parameters=parameters,
        points=points,
        summary=summary,
        outputs=outputs,
        sobol=sobol,
    )
