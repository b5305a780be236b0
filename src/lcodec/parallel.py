"""Run independent per-item jobs (RD points, INR fits, corpus encodes) in parallel (DESIGN.md §7).

Why an executor of our own: sweeps must stream results back as each item finishes (so rows reach
the JSONL file and a crash loses nothing), the same code must run inline for debugging, in a local
process pool by default, and on a Ray cluster when a user has one, without callers knowing which.

    with get_executor("local", jobs=2) as ex:
        for result in ex.map_unordered(work, items):   # yields as items finish, in any order
            ...

``work`` must be a picklable top-level function; an exception it raises propagates to the caller
(callers that want "record the error and go on" catch inside ``work``).
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from lcodec.errors import CodecUnavailableError, UsageError

T = TypeVar("T")
R = TypeVar("R")
EXECUTORS = ("local", "ray")


class Executor:
    """Base: run ``fn`` over items, yielding results as they finish. Used as a context manager."""

    name = "inline"

    def __init__(self, jobs: int = 1) -> None:
        if jobs < 1:
            raise UsageError(f"jobs must be at least 1, got {jobs}")
        self.jobs = jobs

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        for item in items:
            yield fn(item)

    def close(self) -> None:
        """Release workers (nothing to do inline)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _init_worker() -> None:
    # Each process gets its share of the cores: torch would otherwise start one thread per core in
    # every worker and the pool would run slower than one process.
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


class LocalExecutor(Executor):
    """A local process pool ("spawn": safe with torch and ffmpeg threads); inline when ``jobs == 1``.

    At most ``jobs`` items are in flight, so a long list of items is submitted lazily.
    """

    name = "local"

    def __init__(self, jobs: int = 1) -> None:
        super().__init__(jobs)
        self._pool: ProcessPoolExecutor | None = None

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self.jobs == 1:
            yield from super().map_unordered(fn, items)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_worker)
        pending: set[Future[R]] = set()
        source = iter(items)
        for item in source:
            pending.add(self._pool.submit(fn, item))
            if len(pending) >= self.jobs:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class RayExecutor(Executor):
    """Items as Ray tasks (``pip install 'lcodec[ray]'``); joins a running cluster when
    ``RAY_ADDRESS`` is set, else starts a local one. ``jobs`` bounds the tasks in flight."""

    name = "ray"

    def __init__(self, jobs: int = 1) -> None:
        super().__init__(jobs)
        try:
            import ray
        except ImportError as exc:
            raise CodecUnavailableError("the Ray executor needs ray: pip install 'lcodec[ray]'") from exc
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True, log_to_driver=False,
                     include_dashboard=False)
            self._started = True

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        ray = self._ray
        remote = ray.remote(fn)
        pending: list[Any] = []
        for item in items:
            pending.append(remote.remote(item))
            if len(pending) >= self.jobs:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False


def get_executor(name: str = "local", jobs: int = 1) -> Executor:
    """The executor called ``name`` ("local" or "ray") running ``jobs`` items at a time."""
    if name == "local":
        return LocalExecutor(jobs)
    if name == "ray":
        return RayExecutor(jobs)
    raise UsageError(f"unknown executor {name!r} (use one of {', '.join(EXECUTORS)})")
