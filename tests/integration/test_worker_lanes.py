"""The worker processes' two lanes: a recording someone waits on goes ahead of renders queued
before it, no more tasks are handed to the pool than it has workers, and errors and
cancellations reach the caller."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest

from bot.processes import WorkerLanes, stop_pool
from tests.integration.worker_lane_tasks import fails, started_after


@pytest.fixture
def lanes() -> Iterator[WorkerLanes]:
    pool = ProcessPoolExecutor(1)
    pool.submit(started_after, 0).result()  # the worker is up before the clock starts
    yield WorkerLanes(pool)
    asyncio.run(stop_pool(pool))


async def test_an_urgent_task_starts_before_the_background_ones_that_were_waiting(lanes):
    loop = asyncio.get_running_loop()
    renders = [loop.run_in_executor(lanes.background, started_after, 0.2) for _ in range(3)]
    await asyncio.sleep(0.05)  # the first render is running, two wait
    decode = loop.run_in_executor(lanes.urgent, started_after, 0.0)
    first, second, third = await asyncio.gather(*renders)
    urgent = await decode
    assert first < urgent < second < third


async def test_no_more_tasks_are_handed_to_the_pool_than_it_has_workers(lanes):
    loop = asyncio.get_running_loop()
    waiting = [loop.run_in_executor(lanes.background, started_after, 0.1) for _ in range(4)]
    await asyncio.sleep(0.02)
    assert len(lanes.pool._pending_work_items) == 1  # type: ignore[attr-defined]
    starts = await asyncio.gather(*waiting)
    assert all(b - a >= 0.09 for a, b in zip(starts, starts[1:], strict=False))  # one after another


async def test_an_error_in_the_worker_reaches_the_caller_and_the_lane_goes_on(lanes):
    loop = asyncio.get_running_loop()
    with pytest.raises(ValueError, match="refused in the worker"):
        await loop.run_in_executor(lanes.urgent, fails)
    assert await loop.run_in_executor(lanes.urgent, started_after, 0.0) > 0


async def test_a_task_cancelled_while_it_waits_never_runs(lanes):
    running = lanes.background.submit(started_after, 0.2)
    waiting = lanes.background.submit(started_after, 0.0)
    assert waiting.cancel()
    after = lanes.background.submit(started_after, 0.0)
    assert after.result(timeout=5) >= running.result(timeout=5)
    assert waiting.cancelled()
