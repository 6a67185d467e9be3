"""A Dask cluster to run work on: a running scheduler by address, or a LocalCluster started for
the work and closed after it. Shared by sweeps and calibration, which both fan work out to it.

Workers of a remote cluster need convoysim installed (the same version).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from convoysim.runs.extras import require

CONNECT_TIMEOUT_S = 10


class ExecutorUnavailable(Exception):
    """The cluster to run on cannot be reached."""


class _NothingToCancel(logging.Filter):
    """Drops one harmless error `distributed` logs when Ctrl-C lands in a blocking call before that
    call's task has started: its clean-up callback then finds no task to cancel and fails with a
    NameError, logged through tornado with a traceback, although nothing was left running."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, NameError):
            return True
        frame = error.__traceback__
        while frame is not None and frame.tb_next is not None:
            frame = frame.tb_next
        code = frame.tb_frame.f_code if frame is not None else None
        return not (code is not None and code.co_name == "cancel" and "distributed" in code.co_filename)


def _quiet_distributed() -> None:
    """Nothing below CRITICAL from `distributed` in this process (here, or on a worker through `client.run`)."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


@contextmanager
def dask_client(
    scheduler: str | None, workers: int = 2, processes: bool = True, connect_timeout_s: float = CONNECT_TIMEOUT_S
) -> Iterator[tuple[Any, int]]:
    """A connected `distributed.Client` and the number of workers behind it.

    Without `scheduler`, a LocalCluster of `workers` single-threaded workers is started;
    `processes=False` runs them as threads of this process (light, for tests).
    """
    require("distributed", "dask", "--executor dask")
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client, cluster = Client(scheduler, timeout=connect_timeout_s), None
        except (OSError, TimeoutError, ValueError) as err:
            raise ExecutorUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
        workers = len(client.scheduler_info().get("workers", {})) or workers
    else:
        # No dashboard; the scheduler's health and metrics pages on any free port rather than 8787,
        # which another cluster may hold (distributed then warns on the terminal).
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"},
        )
        client = Client(cluster)
    callbacks, nothing_to_cancel = logging.getLogger("tornado.application"), _NothingToCancel()
    callbacks.addFilter(nothing_to_cancel)
    try:
        yield client, workers
    except BaseException:
        # Closed mid-task (an interrupt, an error): every worker would log the cancelled tasks and
        # broken connections, tens of lines, after the command has said what it kept.
        _quiet_distributed()
        try:
            client.run(_quiet_distributed)
        except Exception:  # a cluster already gone is quiet enough
            pass
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        callbacks.removeFilter(nothing_to_cancel)
