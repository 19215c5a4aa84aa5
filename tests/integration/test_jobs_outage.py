"""The job dispatcher through a PostgreSQL outage: one warning when the database goes away, one
when it is back, no traceback in between, and jobs run again afterwards."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest

from adapters.storage.database import Database
from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.jobs import JobState
from tests.conftest import PG_ADMIN_DSN
from tests.fakes.replicate_fake import FakeReplicate
from tests.integration.jobs_harness import START, open_stack, wait_for_state, wait_until

pytestmark = pytest.mark.postgres

ANN = Identity("telegram", "1001")
RUNNER = "core.services.job_runner"


async def admin(statement: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def take_database_away(name: str) -> None:
    """No new connections, and the open ones cut, as when the server goes down."""
    await admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    await admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")


def runner_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == RUNNER and r.levelno >= logging.WARNING]


async def test_a_database_outage_logs_one_warning_going_and_one_coming_back(postgres_url, caplog):
    caplog.set_level(logging.WARNING)
    name = postgres_url.rsplit("/", 1)[1]
    fake = FakeReplicate()
    await fake.start()
    database = Database(postgres_url)
    await database.start()
    stack = await open_stack(
        database, fake, ManualClock(START), dispatch_interval_seconds=0.02, outage_max_wait_seconds=0.1
    )
    try:
        await stack.service.start()
        await take_database_away(name)
        try:
            await wait_until(lambda: any("is failing" in r.getMessage() for r in runner_records(caplog)))
            await asyncio.sleep(1.0)  # a dozen tries or more, each failing
        finally:
            await admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await wait_until(lambda: any("works again" in r.getMessage() for r in runner_records(caplog)))

        accepted = await stack.submit(ANN, seconds=5)
        await wait_for_state(stack.service, accepted.job_id, JobState.SUCCEEDED)
    finally:
        await stack.close()
        await database.close()
        await fake.stop()

    messages = [r.getMessage() for r in runner_records(caplog)]
    assert len(messages) == 2, messages
    assert messages[0].startswith("job dispatch is failing (")
    assert messages[1].startswith("job dispatch works again after ")
    assert all(r.exc_info is None for r in caplog.records), "no traceback during an outage"
