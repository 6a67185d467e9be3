"""Replications, their random streams, and where they run.

Replication i always draws from `SeedSequence(seed, spawn_key=(i,))`, the i-th child of the run's
seed, so its numbers do not depend on how work is split between processes or in what order it
finishes. Results are always returned in replication order.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from convoysim.model import Plan, ReplicationRecord, compile_plan, replicate
from convoysim.model.march import new_record
from convoysim.runs.chunks import RunChunk, format_chunk
from convoysim.runs.counts import CountWindow, count_windows
from convoysim.scenario.schema import Scenario
from convoysim.runs.workerwatch import watch_parent

if TYPE_CHECKING:  # pragma: no cover - typing only
    from concurrent.futures import Future

    import pandas

    from convoysim.runs.reading import RunData

Progress = Callable[[int], None]
"""Called with the number of replications just completed."""


def replication_stream(seed: int, replication: int) -> np.random.Generator:
    """The generator of one replication: the same for a given (seed, index) on any worker."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(replication,)))


def run_replications(plan: Plan, seed: int, replications: Iterable[int], trace: bool = False,
                     track: bool = False) -> list[ReplicationRecord]:
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


_worker_plan: Plan | None = None
_worker_windows: Sequence[CountWindow] = ()


def _init_worker(plan: Plan, main_pid: int, windows: Sequence[CountWindow] = ()) -> None:
    global _worker_plan, _worker_windows
    _worker_plan, _worker_windows = plan, windows
    watch_parent(main_pid)


def _run_in_worker(seed: int, block: range) -> list[ReplicationRecord]:
    assert _worker_plan is not None, "worker started without a plan"
    return run_replications(_worker_plan, seed, block)


def _chunk_in_worker(seed: int, block: range) -> RunChunk:
    assert _worker_plan is not None, "worker started without a plan"
    return format_chunk(_worker_plan, run_replications(_worker_plan, seed, block), _worker_windows)


IN_FLIGHT_PER_WORKER = 4
"""Blocks submitted ahead per worker when streaming: enough to keep workers busy while the parent
waits for the oldest, few enough that finished blocks waiting their turn stay small in memory."""


class SerialExecutor:
    """Runs every replication in this process; the reference the others must match."""

    def stream(self, plan: Plan, seed: int, blocks: Sequence[range], progress: Progress | None,
               windows: Sequence[CountWindow] = ()) -> Iterator[RunChunk]:
        for block in blocks:
            yield format_chunk(plan, run_replications(plan, seed, block), windows)
            if progress:
                progress(len(block))

    def run(self, plan: Plan, seed: int, blocks: Sequence[range], progress: Progress | None) -> list[ReplicationRecord]:
        out: list[ReplicationRecord] = []
        for block in blocks:
            out.extend(run_replications(plan, seed, block))
            if progress:
                progress(len(block))
        return out


class ProcessPoolExecutorRunner:
    """Runs blocks of replications on local worker processes, started only when a run starts."""

    def __init__(self, workers: int):
        self.workers = workers

    def run(self, plan: Plan, seed: int, blocks: Sequence[range], progress: Progress | None) -> list[ReplicationRecord]:
        from concurrent.futures import ProcessPoolExecutor, as_completed  # with its logging and multiprocessing: only for a pool

        results: dict[int, list[ReplicationRecord]] = {}
        with ProcessPoolExecutor(self.workers, initializer=_init_worker, initargs=(plan, os.getpid())) as pool:
            futures = {pool.submit(_run_in_worker, seed, block): k for k, block in enumerate(blocks)}
            try:
                for future in as_completed(futures):
                    k = futures[future]
                    results[k] = future.result()
                    if progress:
                        progress(len(blocks[k]))
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return [record for k in range(len(blocks)) for record in results[k]]


    def stream(self, plan: Plan, seed: int, blocks: Sequence[range], progress: Progress | None,
               windows: Sequence[CountWindow] = ()) -> Iterator[RunChunk]:
        """Blocks as formatted chunks, in replication order, with a bounded number in flight."""
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(self.workers, initializer=_init_worker, initargs=(plan, os.getpid(), tuple(windows))) as pool:
            pending: deque[tuple[range, Future[RunChunk]]] = deque()
            todo = iter(blocks)
            try:
                while True:
                    while len(pending) < IN_FLIGHT_PER_WORKER * self.workers:
                        block = next(todo, None)
                        if block is None:
                            break
                        pending.append((block, pool.submit(_chunk_in_worker, seed, block)))
                    if not pending:
                        return
                    block, future = pending.popleft()
                    yield future.result()
                    if progress:
                        progress(len(block))
            except BaseException:
                for _, future in pending:
                    future.cancel()
                raise


def executor_for(workers: int) -> SerialExecutor | ProcessPoolExecutorRunner:
    return SerialExecutor() if workers <= 1 else ProcessPoolExecutorRunner(workers)


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

    def figure_data(self, tracked: int = 50) -> "RunData":
        """The run as the figure functions take it, without writing a run directory."""
        from convoysim.runs.inmemory import run_data

        return run_data(self, tracked=tracked)


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
) -> MonteCarloRun:
    """Run a scenario's replications (default: the scenario's montecarlo section)."""
    n, s = _size_and_seed(scenario, replications, seed, workers)
    plan = compile_plan(scenario)
    started = time.perf_counter()
    records = executor_for(workers).run(plan, s, chunks(n, workers), progress)
    return MonteCarloRun(scenario, plan, s, records, workers, time.perf_counter() - started)


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
) -> StreamedRun:
    """Like `run_monte_carlo`, but each block of replications goes to `sink` as formatted run
    directory lines (in replication order) instead of being kept: memory does not grow with the
    number of records, incidents and rows, and workers send back text instead of records.

    With `so_far` (an interrupted run's first replications, same scenario, seed and size), only the
    replications after them run; the result is the one an uninterrupted run gives, on any workers."""
    n, s = _size_and_seed(scenario, replications, seed, workers)
    plan = compile_plan(scenario)
    windows = count_windows(scenario, plan.road_km)
    arrivals = np.empty((n, len(plan.names)), dtype=float)
    counts = np.empty((n, len(windows)), dtype=int)
    arrived = errors = 0
    first_error = ""
    start, before_s = 0, 0.0
    if so_far is not None:
        start, before_s = so_far.replications, so_far.wall_time_s
        if start > n or so_far.arrivals_h.shape != (start, arrivals.shape[1]) or so_far.counts.shape != (start, counts.shape[1]):
            raise ValueError(f"the kept replications ({so_far.arrivals_h.shape}, {so_far.counts.shape}) are not the first "
                             f"of this run ({n} x {arrivals.shape[1]} arrivals, {counts.shape[1]} counts)")
        arrivals[:start], counts[:start] = so_far.arrivals_h, so_far.counts
        arrived, errors, first_error = so_far.arrived, so_far.errors, so_far.first_error
    started = time.perf_counter()
    for chunk in executor_for(workers).stream(plan, s, chunks(n, workers, start), progress, windows):
        arrivals[chunk.first:chunk.first + chunk.count] = chunk.arrivals_h
        counts[chunk.first:chunk.first + chunk.count] = chunk.counts
        arrived += chunk.arrived
        errors += chunk.errors
        first_error = first_error or chunk.first_error
        sink(chunk)
    return StreamedRun(scenario, plan, s, n, workers, before_s + time.perf_counter() - started, arrivals, arrived, errors,
                       counts, first_error)
