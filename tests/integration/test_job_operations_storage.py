"""The job store's side of the priced operations, on SQLite and PostgreSQL (and, through
`tests/unit/test_memory_job_operations_keep_the_sql_contract.py`, on the in-memory stores): a job
without a recording, its operation, text and voice kept; a delivered clip kept with the capture
and only then; kept clips purged with the inputs; the figures per operation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from adapters.storage.jobs import SqlJobStore
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.stats import SqlStatsStore
from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.jobs import JobState, NewJob
from core.domain.pricing import PackTable, Pricing
from core.domain.rewards import Window
from core.domain.rules import CreditRules
from core.domain.stats import OperationStats
from core.services.wallets import WalletService
from tests.fakes.memory import MemoryStores

START = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC)
RULES = CreditRules(pricing=Pricing({5: 1}), packs=PackTable(()))
DELIVERING = frozenset({JobState.DELIVERING})


class Stores:
    def __init__(self, database: Any) -> None:
        if isinstance(database, MemoryStores):
            self.ledger: Any = database.ledger
            self.jobs: Any = database.jobs
            self.stats: Any = database.stats
        else:
            self.ledger = SqlLedgerStore(database)
            self.jobs = SqlJobStore(database, self.ledger)
            self.stats = SqlStatsStore(database)
        self.clock = ManualClock(START)
        self.wallets = WalletService(self.ledger, RULES, self.clock)
        self.count = 0

    async def job(self, operation: str, *, text: str | None = None, voice: str | None = None, cost: int = 1) -> str:
        person = await self.wallets.person(Identity("telegram", "3001"))
        self.count += 1
        job_id = f"op{self.count:04d}"
        now = self.clock.now()
        new = NewJob(
            job_id=job_id,
            request_key=f"telegram:3001:{job_id}",
            person_id=person.person_id,
            wallet_id=person.wallet_id,
            identity="telegram:3001",
            platform="console",
            reply_to={},
            style=voice or "lofi",
            seconds=5,
            cost=cost,
            seed=1,
            deadline_at=now + dt.timedelta(minutes=10),
            hold_expires_at=now + dt.timedelta(minutes=20),
            operation=operation,
            text=text,
            voice=voice,
        )
        await self.jobs.create(new, None, now=now)
        return job_id

    async def deliver(self, job_id: str, output: bytes | None = None, target: JobState = JobState.SUCCEEDED) -> Any:
        now = self.clock.now()
        for source, step in ((JobState.QUEUED, JobState.SUBMITTED), (JobState.SUBMITTED, JobState.RUNNING)):
            await self.jobs.advance(job_id, frozenset({source}), step, now=now, worker_id="w", lease_until=now)
        await self.jobs.advance(
            job_id, frozenset({JobState.RUNNING}), JobState.DELIVERING, now=now, worker_id="w", lease_until=now
        )
        return await self.jobs.conclude(job_id, DELIVERING, target, now=now, output=output)


@pytest.fixture
def stores(database) -> Stores:
    return Stores(database)


async def test_a_job_without_a_recording_keeps_its_operation_text_and_voice(stores):
    job_id = await stores.job("speech", text="hello there", voice="male")
    job = await stores.jobs.get(job_id)
    assert (job.operation, job.text, job.voice, job.style) == ("speech", "hello there", "male", "male")
    assert await stores.jobs.clip(job_id) is None
    balance = await stores.ledger.balance(job.wallet_id)
    assert (balance.available, balance.held) == (9, 1)


async def test_the_clip_is_kept_with_the_capture_and_only_then(stores):
    kept = await stores.job("prompt")
    concluded = await stores.deliver(kept, output=b"mp3 bytes")
    assert concluded.charged == 1 and await stores.jobs.output(kept) == b"mp3 bytes"
    failed = await stores.job("prompt")
    assert (await stores.deliver(failed, output=b"never", target=JobState.FAILED)).released == 1
    assert await stores.jobs.output(failed) is None
    late = await stores.jobs.conclude(kept, DELIVERING, JobState.SUCCEEDED, now=stores.clock.now(), output=b"x")
    assert late is None and await stores.jobs.output(kept) == b"mp3 bytes"  # a repeat changes nothing


async def test_kept_clips_are_purged_with_the_inputs(stores):
    job_id = await stores.job("music")
    await stores.deliver(job_id, output=b"clip")
    assert await stores.jobs.purge_inputs(before=START - dt.timedelta(hours=1)) == 0
    assert await stores.jobs.output(job_id) == b"clip"
    assert await stores.jobs.purge_inputs(before=START + dt.timedelta(hours=1)) == 1
    assert await stores.jobs.output(job_id) is None


async def test_the_figures_count_jobs_deliveries_failures_and_credits_per_operation(stores):
    await stores.deliver(await stores.job("speech", text="a", voice="female", cost=2))
    await stores.deliver(await stores.job("speech", text="b", voice="female"), target=JobState.FAILED)
    await stores.deliver(await stores.job("voicetag", text="c", voice="male"), target=JobState.EXPIRED)
    await stores.job("prompt")  # still queued
    window = Window("today", START - dt.timedelta(hours=12), START + dt.timedelta(hours=11))
    figures = await stores.stats.window_stats(window, cheapest_clip=1)
    assert figures.by_operation == (
        OperationStats("prompt", jobs=1, succeeded=0, failed=0, credits=0),
        OperationStats("speech", jobs=2, succeeded=1, failed=1, credits=2),
        OperationStats("voicetag", jobs=1, succeeded=0, failed=1, credits=0),
    )
