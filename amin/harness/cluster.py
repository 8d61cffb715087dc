"""A Dask client for the harness's sweeps (the report's cells, the adversary's tasks): one home for how a
`--dask` value becomes a client and how it is closed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

CONNECT_SECONDS = 10  # an unreachable scheduler address fails after this, in one line


@contextlib.contextmanager
def dask_client(dask: Any, workers: int) -> Iterator[Any]:
    """`dask` is a `distributed.Client` (used as is), "local" (a LocalCluster of `workers` single-threaded
    workers, closed afterwards) or a scheduler address (ValueError in one line when it cannot be reached)."""
    from distributed import Client, LocalCluster

    if isinstance(dask, Client):
        yield dask
        return
    cluster = None
    if dask == "local":
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(str(dask), timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError, ValueError) as e:  # an unreachable or malformed address
            raise ValueError(f"cannot reach the Dask scheduler at {dask!r}: {str(e).splitlines()[0]}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
