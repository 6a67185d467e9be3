"""Sweeps: evaluating every point of an experiment's design, checkpointing as points finish, and
writing the sweep directory.

Three pieces, each swappable: the design says which points (`convoysim.studies.designs`), an executor says
where they run (`LocalExecutor`: this process or local worker processes; `DaskExecutor`: a Dask
cluster; both from `convoysim.runs.pool`),
and a `CheckpointStore` keeps each finished point on disk, so a sweep that is killed resumes where
it stopped. Every point runs replications 0..n-1 with `replication_stream(seed, r)` (common random
numbers), and every point is computed on its own, so results never depend on the executor, the
number of workers or the order in which points finish.

A sweep directory holds:
  manifest.json  what was run, with which seed, packages, executor and time
  experiment.yaml  the experiment file as written, with its comments
  points.csv     the design: one row per point with the values it sets
  runs.csv       one row per point and replication with every output
  summary.csv    one row per point: mean, sd, p10, p50, p90 of each chosen output
  sobol.csv      Saltelli designs: first-order and total Sobol indices per output and parameter
  .checkpoint/   finished points, one JSON line each, appended as they finish (kept, so running the
                 same command again recomputes nothing and rewrites the same files)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from convoysim.model import ReplicationRecord, compile_plan
from convoysim.runs import identity
from convoysim.runs.chunks import row_lines
from convoysim.runs.compare import quantiles
from convoysim.runs.durable import naming
from convoysim.runs.files import csv_text, package_versions, write_atomic
from convoysim.runs.lock import WriterLock
from convoysim.runs.montecarlo import run_replications
from convoysim.runs.pool import (  # noqa: F401 - the executors re-exported for sweep users
    DaskExecutor,
    Executor,
    ExecutorUnavailable,
    LocalExecutor,
)
from convoysim.scenario.schema import Scenario
from convoysim.studies.designs import DesignPoints, design_points
from convoysim.studies.experiments import LoadedExperiment, output_names
from convoysim.studies.sensitivity import SOBOL_COLUMNS, sobol_rows

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas

CHECKPOINT_DIR = ".checkpoint"
CHECKPOINT_FORMAT = 2
"""Bumped whenever a checkpoint line's content changes, so an old checkpoint is never mixed in."""
VOLATILE_MANIFEST_KEYS = ("created", "wall_time_s", "executor", "workers", "versions")
"""Manifest entries that say how and when a sweep ran, not what it found; they differ between runs."""


class SweepMismatch(Exception):
    """The output folder holds the checkpoint of a different experiment (or different levels)."""


# --- one point ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointTask:
    """What a worker needs to evaluate one design point and tidy its results."""

    point: int
    scenario: Scenario
    settings: dict[str, float]
    value_columns: tuple[str, ...]
    """The design's value columns, in points.csv order (a point may not set all of them)."""
    outputs: tuple[str, ...]
    """The outputs summary.csv and sobol.csv summarise."""
    seed: int
    replications: int


@dataclass
class PointResult:
    """A finished point as it is checkpointed: one JSON line, built in the worker.

    Its runs.csv rows are already formatted (so the main process only joins text), and its
    summary.csv row and Sobol means are already computed.
    """

    point: int
    line: str


def run_columns(waypoints: Sequence[str]) -> list[str]:
    """runs.csv's columns after the point's values: every output, then why the replication ended."""
    return ["replication", *output_names(tuple(waypoints)), "end_reason", "error"]


def run_row(record: ReplicationRecord, waypoints: Sequence[str], columns: Sequence[str] | None = None) -> list[Any]:
    """A replication's outputs in `run_columns` order (`columns`, if given, is that list, computed
    once by the caller): arrivals, incidents, then its record row."""
    row = record.as_row()
    values = {f"arrival_h.{w}": h for w, h in zip(waypoints, record.arrival_h)}
    values["incidents"] = len(record.incidents)
    values.update(row)
    return [values.get(c, math.nan) for c in (columns or run_columns(waypoints))]


def evaluate_point(task: PointTask) -> PointResult:
    """Compile the point's scenario once, run its replications on the common streams, and tidy them."""
    plan = compile_plan(task.scenario)
    records = run_replications(plan, task.seed, range(task.replications))
    columns = run_columns(plan.names)
    values = {c: task.settings.get(c, math.nan) for c in task.value_columns}
    rows = [{"point": task.point, **values, **dict(zip(columns, run_row(r, plan.names, columns)))} for r in records]
    header = ["point", "replication", *task.value_columns, *columns[1:]]
    runs_text = row_lines(rows, header)
    horizon_h = task.scenario.horizon_days * 24.0
    entry = {
        "point": task.point,
        "summary": summary_row(task, rows),
        "censored_means": {
            o: float(np.mean([horizon_h if math.isnan(float(r[o])) else float(r[o]) for r in rows]))
            for o in task.outputs
        },
        "errors": sum(1 for r in records if r.error),
        "runs_header": header,
        "runs_csv": runs_text,
    }
    entry["digest"] = entry_digest(entry)
    return PointResult(task.point, json.dumps(entry, separators=(",", ":")) + "\n")


ENTRY_KEYS = {
    "point": int,
    "summary": dict,
    "censored_means": dict,
    "errors": int,
    "runs_header": list,
    "runs_csv": str,
}
"""What every checkpoint line holds, with its type."""


def entry_digest(entry: dict[str, Any]) -> str:
    """SHA-256 of a checkpoint entry's content (all but the digest), so an edited line is recomputed, not trusted."""
    return hashlib.sha256(
        json.dumps({k: v for k, v in entry.items() if k != "digest"}, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def valid_entry(entry: Any) -> bool:
    """Whether a checkpoint line is one this version wrote and nobody changed."""
    return (
        isinstance(entry, dict)
        and all(isinstance(entry.get(k), t) and not isinstance(entry.get(k), bool) for k, t in ENTRY_KEYS.items())
        and entry["point"] >= 0
        and entry.get("digest") == entry_digest(entry)
    )


def statistics(values: np.ndarray, arrival: bool) -> dict[str, float]:
    """Mean, sd and 10/50/90th percentiles of one output at one point.

    For arrivals, a replication that never arrives is left out of mean and sd, counts as later than
    any time in the percentiles (as in comparison.csv), and `reached` gives the share that arrived.
    """
    x = np.asarray(values, dtype=float)
    kept = x[~np.isnan(x)]
    mean = float(np.mean(kept)) if len(kept) else math.nan
    sd = float(np.std(kept, ddof=1)) if len(kept) > 1 else math.nan
    p10, p50, p90 = quantiles(x)
    out = {"mean": mean, "sd": sd, "p10": p10, "p50": p50, "p90": p90}
    if arrival:
        out["reached"] = float(len(kept) / len(x)) if len(x) else math.nan
    return out


def summary_row(task: PointTask, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """summary.csv's row for one point: its values, then statistics of each chosen output."""
    summary: dict[str, Any] = {
        "point": task.point,
        **{c: task.settings.get(c, math.nan) for c in task.value_columns},
        "replications": len(rows),
        "errors": sum(1 for r in rows if r.get("error")),
    }
    for output in task.outputs:
        stats = statistics(np.array([float(r[output]) for r in rows]), output.startswith("arrival_h."))
        summary.update({f"{output}_{k}": v for k, v in stats.items()})
    return summary


# --- where points run --------------------------------------------------------------------------
# Points run on a `convoysim.runs.pool` executor: `LocalExecutor(workers)` (this process or local
# worker processes) or `DaskExecutor(scheduler, workers)`.


def _evaluate(_: None, task: PointTask) -> PointResult:
    """One point as pool work (points share nothing but what their task carries)."""
    return evaluate_point(task)


# --- checkpoints -------------------------------------------------------------------------------

SYNC_EVERY_S = 1.0
"""How often appended points are forced to disk. Each line reaches the operating system as soon as
its point finishes, so killing the sweep loses nothing; only a machine crash can lose the points
of the last second, which are then computed again."""


class CheckpointStore:
    """Finished points, one JSON line each, appended as they finish and synced about once a second.

    A kill can cut the last line short; such a line is dropped (and cut off the file) on the next
    start, and that point is computed again. A point already stored is never stored twice.
    """

    def __init__(self, folder: Path, fingerprint: str):
        self.folder, self.fingerprint = folder, fingerprint
        self.header = folder / "sweep.json"
        self.lines = folder / "points.jsonl"
        self._appending: Any = None
        self._synced = 0.0

    def load(self) -> dict[int, dict[str, Any]]:
        """Points finished so far, by point; starts an empty store if there is none.

        A line that is not a complete, unchanged entry (see `valid_entry`) is dropped and its point
        computed again; a cut last line is also cut off the file.
        """
        if not self.header.exists():
            if self.lines.exists() and self.lines.stat().st_size:
                raise SweepMismatch(
                    f"{self.header} is missing but {self.lines} holds finished points; restore it, "
                    "or delete the folder to start again"
                )
            self.folder.mkdir(parents=True, exist_ok=True)
            self.lines.unlink(missing_ok=True)
            write_atomic(
                self.header,
                json.dumps(
                    {"fingerprint": self.fingerprint, "format": CHECKPOINT_FORMAT, "code": identity.code_sha256()}
                )
                + "\n",
            )
            return {}
        try:
            saved = json.loads(self.header.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            saved = None
        if not isinstance(saved, dict):
            raise SweepMismatch(f"{self.header} is damaged (not a JSON object); delete the folder to start again")
        if saved.get("format") != CHECKPOINT_FORMAT:
            raise SweepMismatch(
                f"{self.folder.parent} holds a checkpoint of another convoysim version; "
                "choose another --out, or delete that folder to start again"
            )
        if saved.get("fingerprint") != self.fingerprint:
            raise SweepMismatch(
                f"{self.folder.parent} holds a sweep of a different experiment (or of this one before it "
                "was changed); choose another --out, or delete that folder to start again"
            )
        if saved.get("code") != identity.code_sha256():
            raise SweepMismatch(
                f"{self.header}: {identity.CODE_CHANGED}; choose another --out, or delete that folder to start again"
            )
        done: dict[int, dict[str, Any]] = {}
        good = 0
        if self.lines.exists():
            with self.lines.open("rb") as fh:
                for raw in fh:
                    if not raw.endswith(b"\n"):
                        break
                    good += len(raw)
                    try:
                        entry = json.loads(raw)
                    except (ValueError, UnicodeDecodeError):
                        continue
                    if valid_entry(entry):
                        done.setdefault(entry["point"], entry)
            if good < self.lines.stat().st_size:
                with self.lines.open("r+b") as fh:
                    fh.truncate(good)
        return done

    def add(self, result: PointResult) -> None:
        if self._appending is None:
            self._appending = self.lines.open("ab")
        fh = self._appending
        with naming(self.lines):  # a full disk names the checkpoint
            fh.write(result.line.encode())
            fh.flush()
            if time.monotonic() - self._synced >= SYNC_EVERY_S:
                os.fsync(fh.fileno())
                self._synced = time.monotonic()

    def close(self) -> None:
        """Sync and close the file points are appended to (if any were)."""
        if self._appending is not None:
            fh, self._appending = self._appending, None
            with naming(self.lines), fh:
                fh.flush()
                os.fsync(fh.fileno())


# --- a whole sweep -----------------------------------------------------------------------------


@dataclass
class Sweep:
    """An experiment with its design drawn and every point's scenario built (so checked)."""

    loaded: LoadedExperiment
    points: DesignPoints
    scenarios: list[Scenario]

    @property
    def replications(self) -> int:
        return self.loaded.experiment.replications

    def tasks(self, skip: Iterable[int] = ()) -> list[PointTask]:
        done = set(skip)
        columns, outputs = tuple(self.points.columns()), tuple(self.loaded.outputs)
        return [
            PointTask(i, sc, self.points.settings[i], columns, outputs, self.loaded.seed, self.replications)
            for i, sc in enumerate(self.scenarios)
            if i not in done
        ]


def prepare_sweep(loaded: LoadedExperiment) -> Sweep:
    """Draw the design and build every point's scenario; a rejected level raises ExperimentError.

    Each parameter's own levels (or range ends) are tried alone first, so an error names the
    parameter at fault; then every point is built, which catches combinations the scenario rejects.
    """
    for name, p in loaded.experiment.parameters.items():
        levels = p.grid() if p.levels is not None or p.count is not None else [p.value(p.low), p.value(p.high)]  # type: ignore[arg-type]
        for k, level in enumerate(levels):
            settings = {name: level, **{path: float(v[k]) for path, v in p.also.items()}}
            loaded.scenario_at(settings, ("parameters", name))
    points = design_points(loaded.experiment, loaded.seed)
    scenarios = [loaded.scenario_at(settings, ("parameters",)) for settings in points.settings]
    return Sweep(loaded, points, scenarios)


Progress = Callable[[int], None]


@dataclass
class SweepOutcome:
    out: Path
    points: int
    resumed: int
    """Points that were already in the checkpoint when this run started."""
    wall_time_s: float
    errors: int
    summary: list[dict[str, Any]]
    """summary.csv's rows."""
    sobol: list[dict[str, Any]]
    """sobol.csv's rows (empty unless the design is saltelli)."""
    start: datetime | None = None
    """The scenario's start, to turn arrival hours into dates."""
    executor: str = "local"
    workers: int = 1
    """Where the points ran: the executor's name and its workers (a running scheduler's own count)."""

    def to_frame(self) -> "pandas.DataFrame":
        """summary.csv as a DataFrame, one row per point, arrival statistics also as UTC datetimes."""
        from convoysim.runs.frames import sweep_frame

        return sweep_frame(self.summary, self.start)


def run_sweep(
    sweep: Sweep,
    out: Path,
    executor: Executor,
    progress: Progress | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> SweepOutcome:
    """Evaluate the points not yet checkpointed under `out`, then write the sweep's files.

    `on_start(done, total)` is called once the checkpoint is read; `progress(k)` as points finish.
    Raises FolderInUse while another process writes the same sweep.
    """
    refuse_foreign_folder(out)
    with WriterLock(out / CHECKPOINT_DIR, "sweep"):
        return _run_sweep(sweep, out, executor, progress, on_start)


def _run_sweep(
    sweep: Sweep, out: Path, executor: Executor, progress: Progress | None, on_start: Callable[[int, int], None] | None
) -> SweepOutcome:
    store = CheckpointStore(out / CHECKPOINT_DIR, sweep.loaded.fingerprint())
    done = {p: entry for p, entry in store.load().items() if p < len(sweep.points)}
    if on_start:
        on_start(len(done), len(sweep.points))
    started = time.perf_counter()
    todo = sweep.tasks(skip=done)
    workers = executor.workers

    def keep(_: int, result: PointResult) -> None:  # as each point finishes, so an interruption keeps it
        if result.point not in done:
            store.add(result)
            done[result.point] = {}
            if progress:
                progress(1)

    try:
        if todo:
            with executor.pool() as pool:
                workers = pool.workers
                for _ in pool.map(_evaluate, todo, keep):
                    pass
    finally:
        store.close()
    wall = time.perf_counter() - started
    finished = store.load()
    errors, summary, sobol = write_sweep(out, sweep, finished, executor.name, workers, wall)
    return SweepOutcome(
        out,
        len(sweep.points),
        len(sweep.points) - len(todo),
        wall,
        errors,
        summary,
        sobol,
        sweep.loaded.base.start,
        executor.name,
        workers,
    )


def checkpointed(sweep: Sweep, out: Path) -> int:
    """Points the checkpoint under `out` holds: what an interrupted sweep kept (0 when it has none)."""
    if not (out / CHECKPOINT_DIR / "sweep.json").is_file():
        return 0
    try:
        kept = CheckpointStore(out / CHECKPOINT_DIR, sweep.loaded.fingerprint()).load()
    except (SweepMismatch, OSError):
        return 0
    return sum(1 for p in kept if p < len(sweep.points))


# --- the sweep directory -----------------------------------------------------------------------


def refuse_foreign_folder(out: Path) -> None:
    """A sweep writes only into an empty folder or one of its own (with a checkpoint or a sweep
    manifest); a run folder or a user's folder is never overwritten."""
    if out.exists() and not out.is_dir():
        raise SweepMismatch(f"{out} is a file, not a folder; choose another --out")
    if not out.is_dir() or not any(out.iterdir()) or (out / CHECKPOINT_DIR).is_dir():
        return
    try:
        kind = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError, RecursionError):
        kind = None
    if kind != "sweep":
        raise SweepMismatch(f"{out} holds files that are not a sweep's; choose another --out (an empty or new folder)")


def manifest(sweep: Sweep, executor: str, workers: int, wall_time_s: float, errors: int) -> dict[str, Any]:
    loaded, exp = sweep.loaded, sweep.loaded.experiment
    versions = package_versions()
    for name in ("salib", "dask", "distributed"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "kind": "sweep",
        "experiment": exp.name,
        "question": exp.question.strip(),
        "experiment_file": loaded.file,
        "fingerprint": loaded.fingerprint(),
        "scenario": loaded.base.name,
        "start": loaded.base.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scenario_file": loaded.source.file,
        "scenario_sha256": loaded.source.sha256(),
        "design": exp.design.model_dump(mode="json"),
        "parameters": {k: v.model_dump(mode="json", exclude_defaults=True) for k, v in exp.parameters.items()},
        "outputs": loaded.outputs,
        "points": len(sweep.points),
        "replications": exp.replications,
        "seed": loaded.seed,
        "common_random_numbers": "every point runs replications 0..n-1 on replication_stream(seed, r)",
        "errors": errors,
        "files": [
            "experiment.yaml",
            "points.csv",
            "runs.csv",
            "summary.csv",
            *(["sobol.csv"] if exp.design.kind == "saltelli" else []),
        ],
        "executor": executor,
        "workers": workers,
        "wall_time_s": round(wall_time_s, 3),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions,
    }


def write_sweep(
    out: Path, sweep: Sweep, finished: dict[int, dict[str, Any]], executor: str, workers: int, wall_time_s: float
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """Write the sweep's files from the checkpoint (each atomically).

    Returns the number of failed replications, the summary rows and the Sobol rows.
    """
    entries = [finished[p] for p in range(len(sweep.points))]
    errors = sum(e["errors"] for e in entries)
    write_atomic(out / "experiment.yaml", sweep.loaded.text)
    write_atomic(out / "points.csv", csv_text(sweep.points.rows(), ["point", *sweep.points.columns()]))
    header = csv_text([], entries[0]["runs_header"]) if entries else ""
    write_atomic(out / "runs.csv", header + "".join(e["runs_csv"] for e in entries))
    summary = [e["summary"] for e in entries]
    write_atomic(out / "summary.csv", csv_text(summary))
    design = sweep.loaded.experiment.design
    rows: list[dict[str, Any]] = []
    if design.kind == "saltelli":
        means = {o: [e["censored_means"][o] for e in entries] for o in sweep.loaded.outputs}
        rows = sobol_rows(
            sweep.loaded.experiment.parameters, means, design.second_order, design.bootstrap, sweep.loaded.seed
        )
        write_atomic(out / "sobol.csv", csv_text(rows, SOBOL_COLUMNS))
    write_atomic(
        out / "manifest.json",
        json.dumps(manifest(sweep, executor, workers, wall_time_s, errors), indent=2, allow_nan=False, default=str)
        + "\n",
    )
    return errors, summary, rows
