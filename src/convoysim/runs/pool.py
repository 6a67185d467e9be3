"""Where work runs: this process, local worker processes or a Dask cluster, behind one interface.

Every command that fans work out (run, sweep, calibrate, validate, compare) says where with an
executor (`LocalExecutor(workers)`, `DaskExecutor(scheduler, workers)`), opens a pool from it with
the value every task shares (a compiled plan, a calibration problem), and maps a function over a
list of tasks:

    with LocalExecutor(2).pool(shared=plan) as pool:
        for result in pool.map(simulate_block, blocks, on_result=advance):
            ...                                   # results in task order

`work(shared, task)` must be a module-level function (it is pickled to the workers); `shared` is
sent to each worker once. Results come back in task order whatever the backend, the number of
workers or the order in which tasks finish, so they are the same everywhere. `on_result(k, result)`
sees each result as soon as it finishes (in finishing order): progress bars, and checkpoints that
must keep every finished task. At most `IN_FLIGHT_PER_WORKER` tasks per worker are submitted ahead,
so a map over a million tasks holds few results in memory.

Leaving the pool's with-block early (Ctrl-C, SIGTERM, an error) cancels the tasks not started and
stops the workers without waiting for the ones they are running: an interrupted command ends within
about a second and keeps what had finished.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from convoysim.runs.cluster import CONNECT_TIMEOUT_S, ExecutorUnavailable, dask_client
from convoysim.runs.extras import require
from convoysim.runs.workerwatch import watch_parent

T = TypeVar("T")
R = TypeVar("R")

IN_FLIGHT_PER_WORKER = 4
"""Tasks submitted ahead per worker: enough to keep workers busy while the oldest is awaited, few
enough that finished results waiting their turn stay small in memory."""

MANAGER_END_S = 3.0
"""How long an abandoned process pool's manager thread may take to end once its workers are
stopped (it notices them gone and fails the pending tasks): well under a second when it goes well."""

Work = Callable[[Any, Any], Any]
"""`work(shared, task) -> result`, a module-level function."""
OnResult = Callable[[int, Any], None]
"""Called with a task's index and result as soon as it finishes."""

__all__ = ["DaskExecutor", "Executor", "ExecutorUnavailable", "LocalExecutor", "Pool", "IN_FLIGHT_PER_WORKER"]


class Pool(Protocol):
    """Workers ready to run tasks, from entering the with-block to leaving it."""

    name: str
    workers: int

    def __enter__(self) -> "Pool": ...

    def __exit__(self, *exc: object) -> None: ...

    def map(self, work: Work, tasks: Iterable[Any], on_result: OnResult | None = None) -> Iterator[Any]:
        """`work(shared, task)` for every task; results in task order."""
        ...


class Executor(Protocol):
    """Where work runs: a description (cheap, made from the command line) that opens pools."""

    name: str
    workers: int

    def pool(self, shared: Any = None) -> Pool: ...


@dataclass(frozen=True)
class LocalExecutor:
    """This process (one worker) or a pool of local worker processes started per with-block."""

    workers: int = 1
    name: ClassVar[str] = "local"

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")

    def pool(self, shared: Any = None) -> Pool:
        return SerialPool(shared) if self.workers == 1 else ProcessPool(shared, self.workers)


@dataclass(frozen=True)
class DaskExecutor:
    """A Dask distributed cluster: a running scheduler by address, or a LocalCluster of `workers`
    single-threaded workers started for the with-block (`processes=False`: threads of this process,
    light, for tests). Workers of a remote cluster need convoysim installed (the same version), and
    this one needs the `dask` extra."""

    scheduler: str | None = None
    workers: int = 2
    processes: bool = True
    name: ClassVar[str] = "dask"
    connect_timeout_s: ClassVar[float] = CONNECT_TIMEOUT_S

    def pool(self, shared: Any = None) -> Pool:
        require("distributed", "dask", "--executor dask")
        return DaskPool(shared, self)


def executor_from_options(executor: str, workers: int, scheduler: str | None = None) -> Executor:
    """The executor the command-line options `--executor`, `--workers` and `--scheduler` name."""
    return DaskExecutor(scheduler, workers) if executor == "dask" else LocalExecutor(workers)


class SerialPool:
    """Every task in this process, one after another: the reference the other pools must match."""

    name = "local"
    workers = 1

    def __init__(self, shared: Any = None):
        self.shared = shared

    def __enter__(self) -> "SerialPool":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, work: Work, tasks: Iterable[Any], on_result: OnResult | None = None) -> Iterator[Any]:
        for k, task in enumerate(tasks):
            result = work(self.shared, task)
            if on_result:
                on_result(k, result)
            yield result


def _in_order(
    submit: Callable[[Any], Any],
    wait_any: Callable[[list[Any]], Iterable[Any]],
    tasks: Iterable[Any],
    window: int,
    on_result: OnResult | None,
    unfinished: Callable[[list[Any]], None],
) -> Iterator[Any]:
    """Submit tasks (at most `window` submitted and not yet handed on), collect them as they finish,
    hand them on in task order. `unfinished(futures)` is told what was left when the map stops early."""
    pending: dict[Any, int] = {}
    ready: dict[int, Any] = {}
    todo = enumerate(tasks)
    following, more = 0, True
    try:
        while True:
            while more and len(pending) + len(ready) < window:
                item = next(todo, None)
                if item is None:
                    more = False
                else:
                    pending[submit(item[1])] = item[0]
            if following in ready:
                yield ready.pop(following)
                following += 1
                continue
            if not pending:
                return
            for future in wait_any(list(pending)):
                k = pending.pop(future)
                ready[k] = future.result()
                if on_result:
                    on_result(k, ready[k])
    finally:
        if pending:
            unfinished(list(pending))


_shared: Any = None
"""In a worker process: the value every task of its pool shares (set once, when the worker starts)."""


def _start_worker(shared: Any, main_pid: int, stop: Any) -> None:
    """A worker leaves signals to the main process (which stops it through `stop`) and ends with it."""
    global _shared
    _shared = shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    watch_parent(main_pid, stop=stop)


def _call_in_worker(work: Work, task: Any) -> Any:
    return work(_shared, task)


def _let_go_of_results(results: Any) -> None:
    """Close this process's copy of the workers' result pipe, so that the pool's manager thread sees
    the pipe end once the stopped workers are gone.

    A worker stopped while it was sending a result leaves half a message in the pipe; the manager
    thread, reading it, would wait for the rest for ever, because this process still holds a writing
    end, and the interpreter joins that thread at exit: the command hung after saying what it kept.
    With every writing end closed, the read fails, the pool counts itself broken and the thread ends.
    This process never writes results, so the end is not needed. (`results` is the pool's private
    `_result_queue`, so named from Python 3.9 to 3.13; if a later Python renames it, nothing is done.)"""
    writer = getattr(results, "_writer", None)
    if writer is not None:
        writer.close()


class ProcessPool:
    """Local worker processes, started when the with-block is entered and stopped when it is left."""

    name = "local"

    def __init__(self, shared: Any, workers: int):
        self.shared, self.workers = shared, workers
        self._pool: Any = None
        self._stop: Any = None
        self._abandoned = False

    def __enter__(self) -> "ProcessPool":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor  # with its logging and threads: only for a pool

        self._stop = multiprocessing.Event()
        self._pool = ProcessPoolExecutor(
            self.workers, initializer=_start_worker, initargs=(self.shared, os.getpid(), self._stop)
        )
        return self

    def __exit__(self, exc_type: object = None, *exc: object) -> None:
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        if exc_type is None and not self._abandoned:
            pool.shutdown(wait=True)
            return
        self._stop.set()  # workers exit now, mid-task; nothing they run would be kept
        # Not cancel_futures: the broken pool fails every pending future itself, and on Python 3.11
        # failing one already cancelled raises InvalidStateError in the pool's manager thread.
        # concurrent.futures' own names, Python 3.9 to 3.13; shutdown drops them, so taken first
        results = getattr(pool, "_result_queue", None)
        manager = getattr(pool, "_executor_manager_thread", None)
        pool.shutdown(wait=False)
        _let_go_of_results(results)
        if manager is not None:
            # The manager thread closes its wake-up pipe as it ends; Python 3.11's exit hook, waking
            # it at that moment, writes to the closed pipe and prints a traceback. Once the stopped
            # workers are gone it ends within a moment: wait for that, not for the workers' tasks.
            manager.join(timeout=MANAGER_END_S)

    def map(self, work: Work, tasks: Iterable[Any], on_result: OnResult | None = None) -> Iterator[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        assert self._pool is not None, "use the pool in a with-block"
        pool = self._pool

        def abandon(futures: list[Any]) -> None:  # stopping the workers (on leaving the pool) ends them all
            self._abandoned = True

        return _in_order(
            lambda task: pool.submit(_call_in_worker, work, task),
            lambda futures: wait(futures, return_when=FIRST_COMPLETED).done,
            tasks,
            IN_FLIGHT_PER_WORKER * self.workers,
            on_result,
            abandon,
        )


class DaskPool:
    """Tasks on a Dask cluster; the shared value is scattered to every worker once."""

    name = "dask"

    def __init__(self, shared: Any, executor: DaskExecutor):
        self.shared, self.executor, self.workers = shared, executor, executor.workers
        self._connection: Any = None
        self._client: Any = None
        self._scattered: Any = None

    def __enter__(self) -> "DaskPool":
        self._connection = dask_client(
            self.executor.scheduler, self.executor.workers, self.executor.processes, self.executor.connect_timeout_s
        )
        self._client, self.workers = self._connection.__enter__()
        try:
            if self.shared is not None:
                self._scattered = self._client.scatter(self.shared, broadcast=True)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, exc_type: Any = None, exc: Any = None, traceback: Any = None) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            self._client = self._scattered = None
            connection.__exit__(exc_type, exc, traceback)  # an interrupted cluster is quieted as it closes

    def map(self, work: Work, tasks: Iterable[Any], on_result: OnResult | None = None) -> Iterator[Any]:
        from distributed import wait

        assert self._client is not None, "use the pool in a with-block"
        client, shared = self._client, self._scattered

        def abandon(futures: list[Any]) -> None:
            client.cancel(futures)

        return _in_order(
            lambda task: client.submit(work, shared, task, pure=False),
            lambda futures: wait(futures, return_when="FIRST_COMPLETED").done,
            tasks,
            IN_FLIGHT_PER_WORKER * max(1, self.workers),
            on_result,
            abandon,
        )
