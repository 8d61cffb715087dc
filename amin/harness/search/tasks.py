"""Running search tasks (issue 12): in this process, on local worker processes, or on a Dask cluster.

A task is a dict naming its kind ("final": search one (target, alpha) and measure what it found; "alpha": search
only; "cell": one cell of the regime map) and its parameters; each result names its task."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from amin.harness.search.adversary import PROFILES, search_alpha
from amin.harness.search.finalise import finalise_alpha
from amin.harness.search.regime import search_cell


# --- running tasks: in this process, on local processes, or on a Dask cluster --------------------------------
def run_task(params: dict[str, Any]) -> dict[str, Any]:
    """One search task (module level, so that worker processes and Dask can import it): "alpha" searches one
    (target, alpha), "final" also measures what it found (seed statistics, OPT bracket), "cell" is one cell
    of the regime map."""
    kind = params["kind"]
    if kind == "final":
        out = finalise_alpha(params)
    elif kind == "alpha":
        out = search_alpha(params["target"], params["alpha_inverse"], PROFILES[params["profile"]], params["seed"])
    elif kind == "cell":
        out = search_cell(params)
    else:
        raise ValueError(f"unknown task kind {kind!r}")
    out["task"] = dict(params)  # results arrive in completion order: each names its task
    return out


def map_tasks(
    tasks: Sequence[dict[str, Any]], *, workers: int = 1, dask: Any = None, desc: str = "search"
) -> Iterator[dict[str, Any]]:
    """Yield each task's result as it finishes, with a progress bar. `dask` is None, "local" (a LocalCluster
    of `workers` single-threaded workers), a scheduler address, or a `distributed.Client` (the same choices
    as the report's backends, amin/harness/report/backends.py)."""
    from tqdm import tqdm

    bar = tqdm(total=len(tasks), desc=desc, unit="task", disable=None, dynamic_ncols=True)
    try:
        for result in _results(tasks, workers, dask):
            bar.update(1)
            yield result
    finally:
        bar.close()


def _results(tasks: Sequence[dict[str, Any]], workers: int, dask: Any) -> Iterator[dict[str, Any]]:
    if dask is not None:
        from distributed import as_completed

        from amin.harness.cluster import dask_client

        with dask_client(dask, workers) as client:
            futures = client.map(run_task, list(tasks), pure=False)
            for future in as_completed(futures):
                yield future.result()
    elif workers <= 1:
        for t in tasks:
            yield run_task(t)
    else:
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        with ProcessPoolExecutor(max_workers=workers) as pool:
            pending = {pool.submit(run_task, t) for t in tasks}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield f.result()
