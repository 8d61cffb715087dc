"""Running cells: in this process, on local worker processes, or on a Dask cluster, with a progress bar.

Finished cells go to the store one by one as they complete, so an interrupted run
loses at most the cells that were in flight.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from amin.harness.report import cells as cells_module
from amin.harness.report.grid import Cell
from amin.harness.report.store import ResultStore


@dataclass(frozen=True)
class RunStats:
    """What one sweep did: cells computed now, cells reused from the store, cells that raised."""

    computed: int
    reused: int
    errors: int


def safe_run_cell(params: dict[str, Any]) -> dict[str, Any]:
    """run_cell, but an unexpected exception becomes an "error" record (retried on the next run) instead of
    ending the sweep: the message is kept so the report can show it."""
    try:
        return cells_module.run_cell(params)
    except Exception as e:  # noqa: BLE001 - any failure of one cell must not lose the others
        cell = Cell.from_params(params)
        return {
            "key": cell.key,
            "params": cell.params(),
            "status": "error",
            "metrics": {"reason": f"{type(e).__name__}: {e}".splitlines()[0], "traceback": traceback.format_exc()},
            "seconds": None,
            "engine": cells_module.default_engine(),
            "code": cells_module.code_fingerprint(),
        }


def run_cells(
    cells: Sequence[Cell],
    store: ResultStore,
    *,
    workers: int = 1,
    dask: Any = None,
    desc: str = "cells",
    progress: bool = True,
) -> RunStats:
    """Compute every cell not already done in `store`. `dask` is None, a scheduler address, "local", or a
    `distributed.Client`."""
    engine, code = cells_module.default_engine(), cells_module.code_fingerprint()
    todo = [c for c in dict.fromkeys(cells) if not store.done(c.key, engine, code)]
    reused = len(set(cells)) - len(todo)
    errors = 0
    bar = tqdm(total=len(todo), desc=desc, unit="cell", disable=not progress or not todo, dynamic_ncols=True)
    try:
        for record in _results(todo, workers, dask):
            store.add(record)
            errors += record["status"] == "error"
            bar.update(1)
    finally:
        bar.close()
    return RunStats(computed=len(todo), reused=reused, errors=errors)


def _results(todo: Sequence[Cell], workers: int, dask: Any) -> Iterator[dict[str, Any]]:
    if not todo:
        return
    if dask is not None:
        yield from _dask_results(todo, workers, dask)
    elif workers <= 1:
        for cell in todo:
            yield safe_run_cell(cell.params())
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            pending: set[Future[dict[str, Any]]] = {pool.submit(safe_run_cell, c.params()) for c in todo}
            try:
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for f in finished:
                        yield f.result()
            except BaseException:
                for f in pending:
                    f.cancel()
                raise


def _dask_results(todo: Sequence[Cell], workers: int, dask: Any) -> Iterator[dict[str, Any]]:
    from distributed import as_completed

    from amin.harness.cluster import dask_client

    with dask_client(dask, workers) as client:
        futures = client.map(safe_run_cell, [c.params() for c in todo], key=[f"amin-cell-{c.key}" for c in todo])
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            client.cancel(futures)
            raise
