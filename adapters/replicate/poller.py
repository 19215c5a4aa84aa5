"""Poll a prediction until it finishes or a deadline passes.

Webhooks are retried only briefly, so every job also has a poller. It keeps polling however long
the prediction stays `processing` (unlike `replicate.async_run`, which gives up after its 60 s
wait window, replicate-python #385) and stops only at our own deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from core.domain.generation import PredictionStatus
from core.errors import GenerationFailed, GenerationTimedOut
from core.ports import MusicGenerator

logger = logging.getLogger(__name__)


async def wait_for_prediction(
    generator: MusicGenerator,
    prediction_id: str,
    *,
    deadline_seconds: float,
    interval_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> PredictionStatus:
    """Return the finished status (succeeded, failed or canceled).

    Past `deadline_seconds` (measured with `clock` from this call), cancel the prediction and
    raise `GenerationTimedOut`. A retryable error while polling (5xx, network) is logged and
    polling goes on; a final one (404, 401) is raised.
    """
    deadline = clock() + deadline_seconds
    polls = 0
    while True:
        polls += 1
        try:
            status = await generator.status(prediction_id)
        except GenerationFailed as error:
            if not error.retryable:
                raise
            logger.warning("polling prediction %s failed, will retry: %s", prediction_id, error)
        else:
            if status.state.finished:
                logger.info("prediction %s %s after %d polls", prediction_id, status.state, polls)
                return status
        remaining = deadline - clock()
        if remaining <= 0:
            logger.warning("prediction %s passed its %ss deadline", prediction_id, deadline_seconds)
            try:
                await generator.cancel(prediction_id)
            except GenerationFailed as error:  # best effort: the timeout is the news
                logger.warning("cancel of prediction %s failed: %s", prediction_id, error)
            raise GenerationTimedOut(detail=f"{prediction_id} unfinished after {deadline_seconds}s")
        await sleep(min(interval_seconds, remaining))
