"""Fixtures the job tests share: a manual clock and a fake Replicate reading the same time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.clock import ManualClock
from tests.fakes.replicate_fake import FakeReplicate
from tests.integration.jobs_harness import START, simulated_seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeReplicate]:
    server = FakeReplicate(clock=simulated_seconds(clock))
    await server.start()
    yield server
    await server.stop()
