"""The expired-hold sweep racing a job's own end, on SQLite and PostgreSQL: jobs whose worker
is about to conclude them (deliver → capture, or fail → release) while the backstop (the ledger's
sweep, then ending the jobs whose hold it expired, as `JobRunner.sweep` does) runs past their
hold's expiry. Each job ends once, and its credits are charged once or given back once, never
both: the wallet ends at 10 − 2 (charged) or 10 (given back), nothing held, the books balanced.

A capture that comes after the sweep expired the hold is a late charge (the ledger's contract:
charged when the balance still allows it); so a delivered job may be charged with its hold
EXPIRED, but then the sweep gave the 2 back first and the wallet still pays 2 once."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from adapters.storage.jobs import SqlJobStore
from adapters.storage.ledger import SqlLedgerStore
from core.clock import ManualClock
from core.domain.generation import PreparedClip
from core.domain.identity import Identity
from core.domain.jobs import UNFINISHED, Concluded, JobState, NewJob
from core.domain.ledger import HoldState
from core.services.wallets import WalletService
from tests.integration.jobs_harness import RULES, START, spends

PAST_EXPIRY = START + dt.timedelta(minutes=30)
CLIP = PreparedClip(audio=b"RIFF-not-really-a-wav", sample_rate=32_000, seconds=1.5)
JOBS = 6


@pytest.fixture
def jobs(database) -> SqlJobStore:
    return SqlJobStore(database, SqlLedgerStore(database))


async def started_jobs(jobs: SqlJobStore, state: JobState) -> list[tuple[str, int]]:
    """`JOBS` jobs of 2 credits, one per person (10 credits each), moved on to `state`; their
    holds expire at START + 10 min. Returns (job id, wallet id) pairs."""
    wallets = WalletService(jobs.ledger, RULES, ManualClock(START))
    made = []
    for n in range(JOBS):
        identity = Identity("console", f"p{n}")
        person = await wallets.person(identity)
        job_id = f"job{n}"
        new = NewJob(
            job_id=job_id,
            request_key=f"{identity.key}:r{n}",
            person_id=person.person_id,
            wallet_id=person.wallet_id,
            identity=identity.key,
            platform="console",
            reply_to={},
            style="piano",
            seconds=10,
            cost=2,
            seed=n,
            deadline_at=START + dt.timedelta(minutes=5),
            hold_expires_at=START + dt.timedelta(minutes=10),
        )
        await jobs.create(new, CLIP, now=START)
        moved = await jobs.advance(
            job_id, frozenset({JobState.QUEUED}), state, now=START, worker_id="w", lease_until=PAST_EXPIRY
        )
        assert moved is not None and moved.state == state
        made.append((job_id, person.wallet_id))
    return made


async def backstop(jobs: SqlJobStore) -> tuple[int, list[Concluded]]:
    """The sweep's part: release the expired holds, then end the jobs whose hold it expired."""
    released = await jobs.ledger.sweep_expired_holds(now=PAST_EXPIRY)
    ended = []
    for job in await jobs.with_expired_holds():
        concluded = await jobs.conclude(
            job.job_id, UNFINISHED, JobState.EXPIRED, now=PAST_EXPIRY, error="generation_timed_out"
        )
        if concluded is not None:
            ended.append(concluded)
    return released, ended


async def race(jobs: SqlJobStore, made: list[tuple[str, int]], target: JobState, source: JobState):
    """Every job's own conclusion, with the backstop started in the middle of them; the last
    job's worker is slower still and comes only after the backstop is done (its clip arrives
    after the job was ended: it must not be charged)."""
    backstop_done = asyncio.Event()

    async def own_end(job_id: str, *, late: bool = False) -> Concluded | None:
        if late:
            await backstop_done.wait()
        error = None if target == JobState.SUCCEEDED else "delivery_failed"
        return await jobs.conclude(job_id, frozenset({source}), target, now=PAST_EXPIRY, error=error)

    async def backstop_then_signal() -> tuple[int, list[Concluded]]:
        try:
            return await backstop(jobs)
        finally:
            backstop_done.set()

    half = len(made) // 2
    results = await asyncio.gather(
        *[own_end(job_id) for job_id, _ in made[:half]],
        backstop_then_signal(),
        *[own_end(job_id) for job_id, _ in made[half:-1]],
        own_end(made[-1][0], late=True),
    )
    own = results[:half] + results[half + 1 :]
    released, ended = results[half]
    assert made[-1][0] in {c.job.job_id for c in ended}  # the late worker found its job ended
    return dict(zip([job_id for job_id, _ in made], own, strict=True)), released, ended


async def test_a_delivery_racing_the_sweep_is_charged_once_or_given_back_once(jobs, database):
    made = await started_jobs(jobs, JobState.DELIVERING)
    own, released, ended = await race(jobs, made, JobState.SUCCEEDED, JobState.DELIVERING)
    by_backstop = {c.job.job_id: c for c in ended}
    expired_holds = 0
    for job_id, wallet in made:
        job = await jobs.get(job_id)
        hold = await jobs.ledger.get_hold(f"hold:{job_id}")
        balance = await jobs.ledger.balance(wallet)
        assert job is not None and hold is not None
        expired_holds += hold.state == HoldState.EXPIRED
        assert (own[job_id] is None) == (job_id in by_backstop)  # exactly one of the two ended it
        if job.state == JobState.SUCCEEDED:  # delivered: charged 2, once
            assert own[job_id] is not None and own[job_id].charged == 2
            assert hold.state in (HoldState.CAPTURED, HoldState.EXPIRED)
            assert (balance.available, balance.held, await spends(database, job_id)) == (8, 0, 1)
        else:  # the backstop ended it first: the sweep gave the 2 back, nothing charged
            assert job.state == JobState.EXPIRED and hold.state == HoldState.EXPIRED
            assert by_backstop[job_id].released == 0  # given back by the sweep, not twice
            assert (balance.available, balance.held, await spends(database, job_id)) == (10, 0, 0)
    assert released == expired_holds  # the sweep released exactly the holds it expired
    assert await jobs.ledger.audit() == []


async def test_a_failure_racing_the_sweep_gives_the_credits_back_once(jobs):
    made = await started_jobs(jobs, JobState.RUNNING)
    own, released, ended = await race(jobs, made, JobState.FAILED, JobState.RUNNING)
    by_backstop = {c.job.job_id: c for c in ended}
    expired_holds = 0
    for job_id, wallet in made:
        job = await jobs.get(job_id)
        hold = await jobs.ledger.get_hold(f"hold:{job_id}")
        assert job is not None and hold is not None
        expired_holds += hold.state == HoldState.EXPIRED
        assert (own[job_id] is None) == (job_id in by_backstop)
        assert job.state == (JobState.FAILED if own[job_id] is not None else JobState.EXPIRED)
        given_back_by_the_job = own[job_id].released if own[job_id] is not None else 0
        given_back_by_the_sweep = 2 if hold.state == HoldState.EXPIRED else 0
        assert hold.state in (HoldState.RELEASED, HoldState.EXPIRED)
        assert given_back_by_the_job + given_back_by_the_sweep == 2  # once, by one of them
        balance = await jobs.ledger.balance(wallet)
        assert (balance.available, balance.held) == (10, 0)
    assert released == expired_holds
    assert await jobs.ledger.audit() == []
