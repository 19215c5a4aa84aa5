"""`MusicGenerator` backed by the local melody synthesizer (no token, tests, demos, benches).

Predictions run as background tasks; the CPU work goes to `executor` (the bot's worker
processes, so the bot process neither holds the GIL nor the memory of a render) or, without
one, to a thread; at most `max_workers` at a time, so a burst of jobs queues instead of blocking
the event loop or thrashing the cores. State lives in this process only: after a restart every id
is unknown and reports FAILED, which the job runner treats like any failed prediction (hold
released).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol

from core.domain.generation import GenerationRequest, PredictionState, PredictionStatus
from core.errors import GenerationFailed, OutputUnavailable
from core.ports import SubmissionNote

logger = logging.getLogger(__name__)

UNKNOWN_PREDICTION = "unknown prediction"


class Renderer(Protocol):
    """The shape of `render_request`: the request in, the encoded result out (CPU work, run in a
    worker process or thread; for a process it must pickle, i.e. be a module-level function)."""

    def __call__(self, request: GenerationRequest, /) -> bytes: ...


def render_music(request: GenerationRequest) -> bytes:
    """`render_request`, imported where it runs: the synthesizer (numpy, PyAV) loads in the
    worker process, not in the bot process that sends the request."""
    from adapters.localsynth.render import render_request

    return render_request(request)


@dataclass
class _Prediction:
    id: str
    created: float
    state: PredictionState = PredictionState.PROCESSING
    rendering: bool = False
    finished_at: float | None = None
    output: bytes | None = None
    error: str | None = None
    task: asyncio.Task[None] | None = None


class LocalSynthGenerator:
    """Async submit/status/cancel/download over the in-process synthesizer.

    Memory stays bounded: an output is dropped once downloaded, after `keep_seconds`, or when
    more than `max_outputs` are waiting; finished records (no audio) are kept for
    `record_seconds`, at most `max_records` of them.
    """

    compute_micros_per_second = 0  # runs on the bot's own machine

    def __init__(
        self,
        *,
        extra_latency_seconds: float = 0.0,
        max_workers: int | None = None,
        max_seconds: float = 60.0,
        keep_seconds: float = 900.0,
        max_outputs: int = 128,
        record_seconds: float = 3600.0,
        max_records: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        render: Renderer = render_music,
        executor: Executor | None = None,
    ) -> None:
        # Benchmarks set this to stand in for model time without burning CPU.
        self.extra_latency_seconds = extra_latency_seconds
        self.max_workers = max_workers or os.cpu_count() or 2
        self.max_seconds = max_seconds
        self.keep_seconds = keep_seconds
        self.max_outputs = max_outputs
        self.record_seconds = record_seconds
        self.max_records = max_records
        self._clock = clock
        self._render = render
        self._executor = executor
        self._predictions: dict[str, _Prediction] = {}
        self._finished: collections.deque[str] = collections.deque()  # in finishing order
        self._outputs: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None

    # --- MusicGenerator ------------------------------------------------------------------

    async def submit(
        self, request: GenerationRequest, *, webhook_url: str | None, before_create: SubmissionNote | None = None
    ) -> str:
        if not 0 < request.seconds <= self.max_seconds:
            raise GenerationFailed("invalid_request", f"length {request.seconds} s is outside (0, {self.max_seconds}]")
        if request.clip is not None and not request.clip.audio:
            raise GenerationFailed("invalid_request", "empty input clip")
        self._evict()
        prediction = _Prediction(id=f"local-{uuid.uuid4().hex}", created=self._clock())
        self._predictions[prediction.id] = prediction
        # No webhooks here: the job runner's poller sees the result through status().
        prediction.task = asyncio.get_running_loop().create_task(self._run(prediction, request), name=prediction.id)
        logger.info(
            "local prediction %s for job %s: %s, %d s",
            prediction.id,
            request.job_id,
            request.style,
            request.seconds,
        )
        return prediction.id

    async def find(self, ref: str, *, since: dt.datetime | None = None) -> list[PredictionStatus]:
        """Local predictions end with the process, and `submit` never notes one: none to find."""
        return []

    async def status(self, prediction_id: str) -> PredictionStatus:
        self._evict()
        prediction = self._predictions.get(prediction_id)
        if prediction is None:
            return PredictionStatus(prediction_id, PredictionState.FAILED, error=UNKNOWN_PREDICTION)
        succeeded = prediction.state is PredictionState.SUCCEEDED
        return PredictionStatus(
            prediction_id,
            prediction.state,
            output_url=f"local://{prediction_id}" if succeeded else None,
            error=prediction.error,
        )

    async def cancel(self, prediction_id: str) -> None:
        prediction = self._predictions.get(prediction_id)
        if prediction is None or prediction.state.finished:
            return
        self._finish(prediction, PredictionState.CANCELED)
        # A render already in its thread or process cannot be interrupted (and keeps its worker slot
        # until done); its result is dropped. Queued or latency-waiting ones stop now.
        if prediction.task is not None and not prediction.rendering:
            prediction.task.cancel()
        logger.info("local prediction %s canceled", prediction_id)

    async def download(self, status: PredictionStatus, *, max_bytes: int) -> bytes:
        prediction = self._predictions.get(status.prediction_id)
        if prediction is None or prediction.output is None:
            raise OutputUnavailable(detail=f"no output held for {status.prediction_id} (expired or downloaded)")
        size = len(prediction.output)
        if size > max_bytes:
            raise OutputUnavailable(detail=f"output is {size} bytes, over the {max_bytes} byte limit")
        output = prediction.output
        self._drop_output(prediction)
        return output

    # --- helpers for tests and shutdown --------------------------------------------------

    async def wait(self, prediction_id: str, max_wait: float | None = None) -> PredictionStatus:
        """Wait until the prediction finishes (or `max_wait` seconds pass); return its status."""
        prediction = self._predictions.get(prediction_id)
        if prediction is not None and prediction.task is not None:
            await asyncio.wait({prediction.task}, timeout=max_wait)
        return await self.status(prediction_id)

    async def aclose(self) -> None:
        """Cancel every running prediction and wait for their tasks to end."""
        tasks = [p.task for p in self._predictions.values() if p.task is not None]
        for prediction in list(self._predictions.values()):
            if not prediction.state.finished:
                self._finish(prediction, PredictionState.CANCELED)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def running(self) -> int:
        return sum(1 for p in self._predictions.values() if not p.state.finished)

    @property
    def held_output_bytes(self) -> int:
        return sum(len(self._predictions[pid].output or b"") for pid in self._outputs)

    # --- internals -----------------------------------------------------------------------

    async def _run(self, prediction: _Prediction, request: GenerationRequest) -> None:
        try:
            async with self._worker_slots():
                if prediction.state.finished:
                    return  # canceled while queued
                prediction.rendering = True
                try:
                    output = await self._rendered(request)
                finally:
                    prediction.rendering = False
            remaining = self.extra_latency_seconds - (self._clock() - prediction.created)
            if remaining > 0 and not prediction.state.finished:
                await asyncio.sleep(remaining)
        except asyncio.CancelledError:
            if not prediction.state.finished:
                self._finish(prediction, PredictionState.CANCELED)
            raise
        except Exception as exc:
            logger.exception("local prediction %s failed", prediction.id)
            if not prediction.state.finished:
                self._finish(prediction, PredictionState.FAILED, error=f"{type(exc).__name__}: {exc}")
            return
        finally:
            prediction.task = None
        if prediction.state.finished:
            return  # canceled while rendering: drop the result
        self._finish(prediction, PredictionState.SUCCEEDED, output=output)

    async def _rendered(self, request: GenerationRequest) -> bytes:
        if self._executor is None:
            return await asyncio.to_thread(self._render, request)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._render, request)

    def _worker_slots(self) -> asyncio.Semaphore:
        # A semaphore belongs to one event loop; tests may reuse a generator across loops.
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots_loop is not loop:
            self._slots, self._slots_loop = asyncio.Semaphore(self.max_workers), loop
        return self._slots

    def _finish(
        self,
        prediction: _Prediction,
        state: PredictionState,
        *,
        output: bytes | None = None,
        error: str | None = None,
    ) -> None:
        prediction.state = state
        prediction.finished_at = self._clock()
        prediction.error = error
        prediction.output = output
        self._finished.append(prediction.id)
        if output is not None:
            self._outputs[prediction.id] = None
        self._evict()

    def _drop_output(self, prediction: _Prediction) -> None:
        prediction.output = None
        self._outputs.pop(prediction.id, None)

    def _evict(self) -> None:
        now = self._clock()
        while self._outputs:
            oldest = self._predictions[next(iter(self._outputs))]
            expired = (oldest.finished_at or now) < now - self.keep_seconds
            if not expired and len(self._outputs) <= self.max_outputs:
                break
            logger.info("dropping undownloaded output of %s", oldest.id)
            self._drop_output(oldest)
        while self._finished:
            oldest = self._predictions[self._finished[0]]
            expired = (oldest.finished_at or now) < now - self.record_seconds
            if not expired and len(self._finished) <= self.max_records:
                break
            self._finished.popleft()
            self._drop_output(oldest)
            del self._predictions[oldest.id]
