"""A Dask cluster to run work on: a running scheduler by address, or a LocalCluster started for
the work and closed after it. Shared by sweeps and calibration, which both fan work out to it.

Workers of a remote cluster need convoysim installed (the same version).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from convoysim.runs.extras import require

CONNECT_TIMEOUT_S = 10


class ExecutorUnavailable(Exception):
    """The cluster to run on cannot be reached."""


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
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=None)
        client = Client(cluster)
    try:
        yield client, workers
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
