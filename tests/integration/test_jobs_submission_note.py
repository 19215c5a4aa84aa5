"""The note a job keeps of what was sent for its prediction (`submission_ref`), saved before the
prediction is created: the SQL store and the in-memory fake keep it alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.storage.database import Database
from adapters.storage.jobs import SqlJobStore
from adapters.storage.ledger import SqlLedgerStore
from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.jobs import JobState, NewJob
from core.services.wallets import WalletService
from tests.fakes.memory import MemoryStores
from tests.integration.jobs_harness import RULES, START
from tests.integration.test_jobs_hold_sweep import CLIP

SUBMITTED = frozenset({JobState.SUBMITTED})
LEASE = START + dt.timedelta(minutes=2)


@pytest.fixture(params=["sqlite", "memory"])
async def stores(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[tuple[Any, Any]]:
    if request.param == "memory":
        memory = MemoryStores()
        yield memory.jobs, memory.ledger
        return
    async with Database(sqlite_url) as database:
        ledger = SqlLedgerStore(database)
        yield SqlJobStore(database, ledger), ledger


async def submitted_job(jobs: Any, ledger: Any) -> str:
    person = await WalletService(ledger, RULES, ManualClock(START)).person(Identity("console", "ann"))
    new = NewJob(
        job_id="j1",
        request_key="console:ann:r1",
        person_id=person.person_id,
        wallet_id=person.wallet_id,
        identity="console:ann",
        platform="console",
        reply_to={},
        style="piano",
        seconds=10,
        cost=2,
        seed=7,
        deadline_at=START + dt.timedelta(minutes=5),
        hold_expires_at=START + dt.timedelta(minutes=10),
    )
    await jobs.create(new, CLIP, now=START)
    (claimed,) = await jobs.claim(worker_id="w", slots=1, global_limit=4, per_person=2, now=START, lease_until=LEASE)
    assert claimed.state == JobState.SUBMITTED and claimed.submission_ref is None
    return str(claimed.job_id)


async def test_the_note_is_kept_through_later_steps_and_only_while_submitted(stores):
    jobs, ledger = stores
    job_id = await submitted_job(jobs, ledger)
    noted = await jobs.advance(
        job_id, SUBMITTED, JobState.SUBMITTED, now=START, worker_id="w", lease_until=LEASE, submission_ref="file:1"
    )
    assert noted is not None and (noted.state, noted.submission_ref) == (JobState.SUBMITTED, "file:1")
    assert await jobs.awaiting_prediction("file:1") == [job_id] and await jobs.awaiting_prediction("file:2") == []

    running = await jobs.advance(
        job_id, SUBMITTED, JobState.RUNNING, now=START, worker_id="w", lease_until=LEASE, prediction_id="p1"
    )
    assert running is not None and (running.prediction_id, running.submission_ref) == ("p1", "file:1")
    assert await jobs.awaiting_prediction("file:1") == []  # its prediction is known now
    late = await jobs.advance(
        job_id, SUBMITTED, JobState.SUBMITTED, now=START, worker_id="w", lease_until=LEASE, submission_ref="file:2"
    )
    assert late is None  # no longer submitting: a note changes nothing
    kept = await jobs.get(job_id)
    assert kept is not None and kept.submission_ref == "file:1"
