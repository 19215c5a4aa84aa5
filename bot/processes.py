"""The worker processes (recordings decoded, local audio rendered) and their lifetime: none of
them outlives the bot.

A pool worker is a child of the forkserver, which ends when the bot does; a worker whose parent
went away (the bot was killed with SIGKILL) notices within a second and ends too. A graceful stop
ends the workers at once and terminates one still busy after a short wait, then stops the
forkserver, which lets the resource tracker end as well."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import forkserver, resource_tracker
from typing import TypeVar, cast

logger = logging.getLogger(__name__)

T = TypeVar("T")

HELPERS_WAIT_SECONDS = 2.0
_M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter
LARGE_BLOCK_BYTES = 128 * 1024


def return_large_blocks() -> None:
    """Ask glibc to give every block of 128 kB or more (an upload, a decoded or rendered clip)
    its own mapping, handed back to the system when freed. By default the threshold rises to
    the largest block freed so far (up to 32 MB), and later blocks that size are carved from the
    heap, which keeps their memory after they are freed: a process that has handled one big
    upload would hold tens of MB more from then on. Elsewhere than glibc this does nothing."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES)


def start_worker() -> None:
    """Pool initializer: large blocks go back to the system when freed, and the worker ends
    as soon as its parent is gone."""
    return_large_blocks()
    watch_parent()


def watch_parent() -> None:
    """End this worker as soon as its parent is gone."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def worker_pool(processes: int) -> ProcessPoolExecutor:
    """`forkserver` because forking a process that runs threads (the database writer) is unsafe;
    it also starts workers from a bare interpreter, so each loads only what its work needs."""
    return ProcessPoolExecutor(
        processes, mp_context=multiprocessing.get_context("forkserver"), initializer=start_worker
    )


async def stop_pool(pool: ProcessPoolExecutor, wait_seconds: float = 2.0) -> None:
    """End the pool's workers (terminating one still busy after `wait_seconds`), then the
    forkserver and the resource tracker the pool started."""
    # The executor keeps its processes private; they are plain `multiprocessing` processes.
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + wait_seconds
    for worker in workers:
        await asyncio.to_thread(worker.join, max(deadline - time.monotonic(), 0.0))
        if worker.is_alive():
            logger.warning("worker process %s still busy at stop: terminating it", worker.pid)
            worker.terminate()
            await asyncio.to_thread(worker.join, 1.0)
    await asyncio.to_thread(pool.shutdown, wait=True)
    # Stopping the resource tracker waits for it to end, and it ends only once every process
    # sharing it has: when the bot has children of its own (a benchmark's, a test's), that is
    # later. So the stop runs aside, and the bot's own stop waits on it only briefly.
    stopper = threading.Thread(target=stop_helpers, name="stop-helpers", daemon=True)
    stopper.start()
    await asyncio.to_thread(stopper.join, HELPERS_WAIT_SECONDS)
    if stopper.is_alive():
        logger.info("the resource tracker is shared with another process: it ends with that one")


def stop_helpers() -> None:
    """Stop the forkserver and the resource tracker now rather than at interpreter exit: a
    process still waiting on our standard output keeps a pipeline (`... | tee`) open."""
    # Both are module singletons with a `_stop()` that multiprocessing's own tests use.
    for helper in (forkserver._forkserver, resource_tracker._resource_tracker):
        stop = getattr(helper, "_stop", None)
        if stop is not None:
            try:
                stop()
            except (OSError, TypeError):  # TypeError: a helper whose process is already gone has no pid
                logger.debug("stopping %s failed", type(helper).__name__, exc_info=True)


class WorkerLanes:
    """One worker pool, two lanes: `urgent` (a recording someone waits on to be answered) and
    `background` (rendering local audio). At most one task per worker is handed to the pool at
    a time; the others wait here, urgent ones first. Why: the pool's own queue is first come,
    first served, and a voice note's first reply waited there behind the renders sent before it.
    A worker idles for one hand-over between two tasks."""

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool
        workers: int = pool._max_workers  # type: ignore[attr-defined]  # the executor keeps its size private
        self.workers = workers
        self._free = workers
        self._waiting: tuple[deque[_Task], deque[_Task]] = (deque(), deque())
        self._lock = threading.Lock()
        self.urgent: Executor = _Lane(self, 0)
        self.background: Executor = _Lane(self, 1)

    def submit(self, lane: int, task: _Task) -> None:
        with self._lock:
            self._waiting[lane].append(task)
        self._dispatch()

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if self._free == 0:
                    return
                lane = self._waiting[0] or self._waiting[1]
                if not lane:
                    return
                task = lane.popleft()
                self._free -= 1
            if not task.outer.set_running_or_notify_cancel():  # cancelled while it waited
                self._release()
                continue
            try:
                inner = self.pool.submit(task.fn, *task.args, **task.kwargs)
            except BaseException as error:  # the pool was shut down, or broke
                task.outer.set_exception(error)
                self._release()
                continue
            inner.add_done_callback(functools.partial(self._done, task.outer))

    def _release(self) -> None:
        with self._lock:
            self._free += 1

    def _done(self, outer: Future[object], inner: Future[object]) -> None:
        self._release()
        if inner.cancelled():
            outer.set_exception(CancelledError())
        elif (error := inner.exception()) is not None:
            outer.set_exception(error)
        else:
            outer.set_result(inner.result())
        self._dispatch()


@dataclass(frozen=True)
class _Task:
    outer: Future[object]
    fn: Callable[..., object]
    args: tuple[object, ...]
    kwargs: dict[str, object]


class _Lane(Executor):
    """An `Executor` view of one lane (what `run_in_executor` and the intake take)."""

    def __init__(self, lanes: WorkerLanes, index: int) -> None:
        self._lanes = lanes
        self._index = index

    def submit(self, fn: Callable[..., T], /, *args: object, **kwargs: object) -> Future[T]:
        outer: Future[T] = Future()
        self._lanes.submit(self._index, _Task(cast("Future[object]", outer), fn, args, kwargs))
        return outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing: the pool is stopped by its owner (`stop_pool`)."""
