"""Running independent member chunks: joblib threads here, or a Dask cluster via joblib's dask backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from joblib import Parallel, delayed, parallel_backend

T = TypeVar("T")
BACKENDS = ("joblib", "dask")


def run_chunks(
    fn: Callable[..., T],
    tasks: Sequence[tuple[Any, ...]],
    *,
    backend: str = "joblib",
    n_jobs: int = -1,
    scheduler: Any = None,
) -> list[T]:
    """``[fn(*t) for t in tasks]``, in parallel, results in task order.

    ``joblib`` runs threads (numpy releases the GIL in the heavy loops, and nothing is copied);
    ``dask`` sends the same calls to a ``dask.distributed`` cluster: ``scheduler`` is its
    address, a ``distributed.Client``, or None to use the current client.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "joblib":
        if len(tasks) == 1 or n_jobs == 1:
            return [fn(*t) for t in tasks]
        return list(Parallel(n_jobs=n_jobs, prefer="threads")(delayed(fn)(*t) for t in tasks))
    try:
        from distributed import Client, get_client
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise RuntimeError(
            "backend 'dask' needs dask.distributed: pip install 'imis-tier[dask]'"
        ) from exc
    owned = None
    if isinstance(scheduler, Client):
        client = scheduler
    elif scheduler is not None:
        client = owned = Client(scheduler)
    else:
        try:
            client = get_client()
        except ValueError as exc:
            raise RuntimeError(
                "backend 'dask' needs a scheduler address (--scheduler) or a running Client"
            ) from exc
    try:
        with parallel_backend("dask", client=client):
            return list(Parallel()(delayed(fn)(*t) for t in tasks))
    finally:
        if owned is not None:
            owned.close()
