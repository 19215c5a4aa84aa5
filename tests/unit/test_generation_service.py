"""`GenerationService` on the in-memory stores: a job is accepted with its cost held, refused
before anything is held, canceled with its credits given back; the job workers are not run."""

from __future__ import annotations

import pytest

from core.domain.identity import Identity
from core.domain.jobs import JobState
from core.domain.ledger import HoldState
from core.errors import AudioEmpty, InsufficientCredits, InvalidLength, JobFinished, JobNotFound, WalletFrozen
from tests.unit.memory_services import Services, services

ANN, BOB = Identity.parse("console:ann"), Identity.parse("console:bob")


async def submit(s: Services, who: Identity = ANN, seconds: int = 10, request_id: str = "r1", audio: bytes = b"hum"):
    return await s.generation.submit(
        who, audio, "warm piano", seconds, platform="console", reply_to={"chat": who.key}, request_id=request_id
    )


async def test_an_accepted_job_holds_its_cost_and_waits_in_the_queue():
    s = services()
    accepted = await submit(s)
    assert (accepted.cost, accepted.balance.held, accepted.balance.available, accepted.queue_position) == (2, 2, 8, 1)
    assert accepted.job.state == JobState.QUEUED
    hold = await s.stores.ledger.get_hold(accepted.job.hold_key)
    assert hold is not None and (hold.amount, hold.state) == (2, HoldState.HELD)
    assert [view.job.job_id for view in await s.generation.jobs(ANN)] == [accepted.job_id]


async def test_the_same_request_again_is_the_first_job_and_holds_nothing_more():
    s = services()
    first = await submit(s)
    again = await submit(s)
    assert (again.duplicate, again.job_id, again.balance.held) == (True, first.job_id, 2)


async def test_an_unaffordable_job_is_refused_before_anything_is_held():
    s = services()
    with pytest.raises(InsufficientCredits) as short:
        await submit(s, seconds=30, request_id="r1")
        await submit(s, seconds=30, request_id="r2")
        await submit(s, seconds=30, request_id="r3")
    assert (short.value.required, short.value.available) == (5, 0)
    assert (await s.balance(ANN)).held == 10
    assert len(s.stores.world.jobs) == 2


async def test_bad_lengths_and_empty_audio_are_refused_before_anything_is_held():
    s = services()
    with pytest.raises(InvalidLength):
        await submit(s, seconds=7)
    with pytest.raises(AudioEmpty):
        await submit(s, audio=b"")
    assert s.stores.world.holds == {} and s.stores.world.jobs == {}


async def test_a_frozen_wallet_starts_no_job():
    s = services()
    person = await s.wallets.person(ANN)
    await s.stores.ledger.set_frozen(person.wallet_id, True)
    with pytest.raises(WalletFrozen):
        await submit(s)


async def test_a_canceled_job_gives_its_credits_back_once():
    s = services()
    accepted = await submit(s)
    canceled = await s.generation.cancel(ANN, accepted.job_id)
    assert (canceled.released, canceled.balance.available, canceled.job.state) == (2, 10, JobState.CANCELED)
    assert [(job_id, type(error).__name__) for job_id, error, _ in s.notifier.failed_jobs] == [
        (accepted.job_id, "JobCanceled")
    ]
    with pytest.raises(JobFinished):
        await s.generation.cancel(ANN, accepted.job_id)
    assert await s.audit() == []


async def test_nobody_cancels_or_repeats_someone_elses_job():
    s = services()
    accepted = await submit(s)
    with pytest.raises(JobNotFound):
        await s.generation.cancel(BOB, accepted.job_id)
    with pytest.raises(JobNotFound):
        await s.generation.again(BOB, accepted.job_id, platform="console", reply_to={}, request_id="r2")


async def test_again_runs_a_new_job_on_the_same_recording_at_the_asked_length():
    s = services()
    first = await submit(s)
    again = await s.generation.again(ANN, first.job_id, seconds=30, platform="console", reply_to={}, request_id="r2")
    assert (again.job.source_job_id, again.cost, again.balance.held) == (first.job_id, 5, 7)
    assert await s.stores.jobs.clip(again.job_id) == await s.stores.jobs.clip(first.job_id)
