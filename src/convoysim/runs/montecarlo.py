"""Replications, their random streams, and where they run.

Replication i always draws from `SeedSequence(seed, spawn_key=(i,))`, the i-th child of the run's
seed, so its numbers do not depend on how work is split between processes or in what order it
finishes. Results are always returned in replication order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from convoysim.model import Plan, ReplicationRecord, compile_plan, replicate
from convoysim.model.march import new_record
from convoysim.runs.chunks import RunChunk, format_chunk
from convoysim.runs.counts import CountWindow, count_windows
from convoysim.runs.pool import Executor, LocalExecutor
from convoysim.scenario.schema import Scenario

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas

    from convoysim.runs.reading import RunData

TRACKED_REPLICATIONS = 50
"""Replications whose head path is kept for time-distance charts, as `convoysim run` keeps."""

Progress = Callable[[int], None]
"""Called with the number of replications just completed."""


def replication_stream(seed: int, replication: int) -> np.random.Generator:
    """The generator of one replication: the same for a given (seed, index) on any worker."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication,)))


def run_replications(
    plan: Plan, seed: int, replications: Iterable[int], trace: bool = False, track: bool = False
) -> list[ReplicationRecord]:
    """Run the given replications in this process; a replication that raises is recorded, not fatal.

    Re-running replication i with `trace` or `track` on reproduces it exactly, with its log or path.
    """
    out = []
    for i in replications:
        try:
            out.append(replicate(plan, replication_stream(seed, i), i, trace, track))
        except Exception as err:  # noqa: BLE001 - one broken replication must not kill the batch
            import traceback

            record = new_record(plan, i, False)
            record.end_reason = "error"
            record.error = f"{type(err).__name__}: {err} | {traceback.format_exc(limit=3).splitlines()[-2].strip()}"
            out.append(record)
    return out


def chunks(n: int, workers: int, start: int = 0) -> list[range]:
    """Contiguous blocks of replications `start` to n - 1, several per worker so the progress bar
    moves smoothly."""
    size = max(1, min(250, (n - start) // (workers * 8) or 1))
    return [range(a, min(n, a + size)) for a in range(start, n, size)]


@dataclass(frozen=True)
class Replications:
    """What every block of a run's replications shares: sent to each worker once."""

    plan: Plan
    seed: int
    windows: tuple[CountWindow, ...] = ()


def records_of(run: Replications, block: range) -> list[ReplicationRecord]:
    """A block's records (pool work)."""
    return run_replications(run.plan, run.seed, block)


def chunk_of(run: Replications, block: range) -> RunChunk:
    """A block as run directory lines (pool work): workers send back text, not records."""
    return format_chunk(run.plan, run_replications(run.plan, run.seed, block), run.windows)


def _advancing(blocks: Sequence[range], progress: Progress | None) -> Callable[[int, object], None] | None:
    return (lambda k, _: progress(len(blocks[k]))) if progress else None


class BlockRunner:
    """Blocks of replications on an executor, as records in replication order."""

    def __init__(self, executor: Executor):
        self.executor = executor

    def run(self, plan: Plan, seed: int, blocks: Sequence[range], progress: Progress | None) -> list[ReplicationRecord]:
        with self.executor.pool(Replications(plan, seed)) as pool:
            return [r for block in pool.map(records_of, blocks, _advancing(blocks, progress)) for r in block]


def executor_for(workers: int) -> BlockRunner:
    """Blocks of replications on `workers` local processes (this one alone for 1)."""
    return BlockRunner(LocalExecutor(workers))


@dataclass
class MonteCarloRun:
    scenario: Scenario
    plan: Plan
    seed: int
    records: list[ReplicationRecord]
    workers: int
    wall_time_s: float

    @property
    def replications(self) -> int:
        return len(self.records)

    @property
    def arrived(self) -> int:
        """Replications that reached the last waypoint (as `StreamedRun.arrived`)."""
        return sum(r.arrived for r in self.records)

    @property
    def errors(self) -> int:
        return sum(1 for r in self.records if r.error)

    @property
    def first_error(self) -> str:
        """The first failed replication's error, '' when none failed."""
        return next((r.error for r in self.records if r.error), "")

    def arrivals(self) -> np.ndarray:
        """Arrival hours, one row per replication and one column per waypoint (NaN: never)."""
        return np.array([r.arrival_h for r in self.records], dtype=float)

    def to_frame(self, tz: str | None = "UTC") -> "pandas.DataFrame":
        """One row per replication (replications.csv's columns, arrivals as UTC datetimes; `tz=None`:
        naive datetimes in UTC, which Excel accepts); needs pandas."""
        from convoysim.runs.frames import replications_frame

        return replications_frame(self, tz)

    def milestones_frame(self, tz: str | None = "UTC") -> "pandas.DataFrame":
        """One row per replication and waypoint, arrival in hours and as a UTC datetime; needs pandas."""
        from convoysim.runs.frames import milestones_frame

        return milestones_frame(self, tz)

    def figure_data(self, tracked: int = TRACKED_REPLICATIONS) -> "RunData":
        """The run as the figure functions take it, without writing a run directory; the first
        `tracked` replications are run again to keep their paths for time-distance charts."""
        from convoysim.runs.inmemory import run_data  # with the reading side: only when asked

        tracks = run_replications(self.plan, self.seed, range(min(tracked, len(self.records))), track=True)
        return run_data(self, tracks)


def _size_and_seed(scenario: Scenario, replications: int | None, seed: int | None, workers: int) -> tuple[int, int]:
    """The run's replications and seed (the scenario's montecarlo section by default), checked."""
    n = replications if replications is not None else scenario.montecarlo.replications
    s = seed if seed is not None else scenario.montecarlo.seed
    if n <= 0:
        raise ValueError(f"replications must be positive, got {n}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return n, s


def run_monte_carlo(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> MonteCarloRun:
    """Run a scenario's replications (default: the scenario's montecarlo section) on `workers` local
    processes, or on `executor` (a Dask cluster, say); the records do not depend on where."""
    executor = executor or LocalExecutor(workers)
    n, s = _size_and_seed(scenario, replications, seed, executor.workers)
    plan = compile_plan(scenario)
    started = time.perf_counter()
    blocks = chunks(n, executor.workers)
    with executor.pool(Replications(plan, s)) as pool:
        records = [r for block in pool.map(records_of, blocks, _advancing(blocks, progress)) for r in block]
    return MonteCarloRun(scenario, plan, s, records, pool.workers, time.perf_counter() - started)


@dataclass
class StreamedRun:
    """A run whose records went to a sink block by block as they finished; it keeps only what the
    comparison and the summary need (the arrival matrix, the documented counts' matrix, two totals and
    the first error), about 100 bytes a replication."""

    scenario: Scenario
    plan: Plan
    seed: int
    replications: int
    workers: int
    wall_time_s: float
    arrivals_h: np.ndarray
    arrived: int
    errors: int
    counts: np.ndarray
    """One row per replication, one column per documented count (`counts.count_matrix`)."""
    first_error: str = ""

    def arrivals(self) -> np.ndarray:
        """Arrival hours, one row per replication and one column per waypoint (NaN: never)."""
        return self.arrivals_h


@dataclass
class StreamedSoFar:
    """The first `replications` of an interrupted streamed run, as `stream_monte_carlo` keeps them:
    enough to go on from replication `replications` and end with the run an uninterrupted one gives."""

    replications: int
    arrivals_h: np.ndarray
    counts: np.ndarray
    arrived: int
    errors: int
    first_error: str
    wall_time_s: float
    """Time already spent on these replications, added to the resumed run's wall time."""


def stream_monte_carlo(
    scenario: Scenario,
    sink: Callable[[RunChunk], None],
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    so_far: StreamedSoFar | None = None,
    executor: Executor | None = None,
) -> StreamedRun:
    """Like `run_monte_carlo`, but each block of replications goes to `sink` as formatted run
    directory lines (in replication order) instead of being kept: memory does not grow with the
    number of records, incidents and rows, and workers send back text instead of records.

    With `so_far` (an interrupted run's first replications, same scenario, seed and size), only the
    replications after them run; the result is the one an uninterrupted run gives, on any workers
    (`workers` local processes, or `executor`)."""
    executor = executor or LocalExecutor(workers)
    n, s = _size_and_seed(scenario, replications, seed, executor.workers)
    plan = compile_plan(scenario)
    windows = count_windows(scenario, plan.road_km)
    arrivals = np.empty((n, len(plan.names)), dtype=float)
    counts = np.empty((n, len(windows)), dtype=int)
    arrived = errors = 0
    first_error = ""
    start, before_s = 0, 0.0
    if so_far is not None:
        start, before_s = so_far.replications, so_far.wall_time_s
        if (
            start > n
            or so_far.arrivals_h.shape != (start, arrivals.shape[1])
            or so_far.counts.shape != (start, counts.shape[1])
        ):
            raise ValueError(
                f"the kept replications ({so_far.arrivals_h.shape}, {so_far.counts.shape}) are not the first "
                f"of this run ({n} x {arrivals.shape[1]} arrivals, {counts.shape[1]} counts)"
            )
        arrivals[:start], counts[:start] = so_far.arrivals_h, so_far.counts
        arrived, errors, first_error = so_far.arrived, so_far.errors, so_far.first_error
    started = time.perf_counter()
    blocks = chunks(n, executor.workers, start)
    with executor.pool(Replications(plan, s, tuple(windows))) as pool:
        for chunk in pool.map(chunk_of, blocks, _advancing(blocks, progress)):
            arrivals[chunk.first : chunk.first + chunk.count] = chunk.arrivals_h
            counts[chunk.first : chunk.first + chunk.count] = chunk.counts
            arrived += chunk.arrived
            errors += chunk.errors
            first_error = first_error or chunk.first_error
            sink(chunk)
    return StreamedRun(
        scenario,
        plan,
        s,
        n,
        pool.workers,
        before_s + time.perf_counter() - started,
        arrivals,
        arrived,
        errors,
        counts,
        first_error,
    )
