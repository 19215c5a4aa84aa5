"""A restart between every pair of job steps: the process dies there (the tripwire freezes it),
a fresh service over the same database and the same fake Replicate takes over, and the job ends
with its credits either captured with a delivered clip or released, never both, never neither.
Then the backstops: orphans of another worker, queued jobs past their deadline, expired holds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from adapters.audio import PyAVIntake
from adapters.storage.database import Database
from adapters.storage.jobs import SqlJobStore
from adapters.storage.ledger import SqlLedgerStore
from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.jobs import TERMINAL, JobState
from core.domain.ledger import HoldState
from core.services.generation import GenerationService
from core.services.wallets import WalletService
from tests.fakes.replicate_fake import PROCESSING_FOREVER, FakeReplicate
from tests.integration.jobs_harness import (
    HUM,
    RULES,
    START,
    Life,
    RecordingNotifier,
    fast_settings,
    hold_state,
    replicate_for,
    spends,
    wait_for_state,
    wait_until,
)

# Store reads are not steps: a process dying before or after a read leaves the same state as
# dying at the next step.
NOT_STEPS = {
    "get",
    "find_by_request",
    "find_by_prediction",
    "awaiting_prediction",
    "clip",
    "position",
    "queued",
    "unfinished_of",
    "recent_of",
    "overdue",
    "with_expired_holds",
    "renew",
    "purge_inputs",
}
# Steps of a job only when they returned it (a claim or an adoption that found nothing is not).
WHEN_FOUND = {"store.claim", "store.adopt"}


@dataclass
class Tripwire:
    """Counts the steps a job takes through the store, the generator and the notifier; at the
    chosen one (`before` or `after` it runs) the whole process freezes, as if it had died."""

    target: tuple[str, int, str] | None = None  # (step, occurrence, "before" | "after")
    trace: list[str] = field(default_factory=list)
    fired: asyncio.Event = field(default_factory=asyncio.Event)
    _counts: dict[str, int] = field(default_factory=dict)

    def wrap(self, name: str, obj: Any) -> Any:
        return _Proxy(self, name, obj)

    async def step(self, step: str, call: Any) -> Any:
        if self.fired.is_set():
            await _forever()
        if step in WHEN_FOUND:
            result = await call()
            if result:
                await self._mark(step, "after")
            return result
        await self._mark(step, "before")
        result = await call()
        await self._mark(step, "after", count=False)
        return result

    async def _mark(self, step: str, when: str, count: bool = True) -> None:
        if when == "before" or step in WHEN_FOUND:
            self._counts[step] = self._counts.get(step, 0) + 1
            if self.target is None:
                self.trace.append(step)
        if self.target == (step, self._counts.get(step, 0), when):
            self.fired.set()
            await _forever()


class _Proxy:
    def __init__(self, wire: Tripwire, name: str, obj: Any) -> None:
        self._wire, self._name, self._obj = wire, name, obj

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._obj, attr)
        if not callable(value) or attr.startswith("_") or attr in NOT_STEPS or not asyncio.iscoroutinefunction(value):
            return value

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._wire.step(f"{self._name}.{attr}", lambda: value(*args, **kwargs))

        return call


async def _forever() -> None:
    await asyncio.Event().wait()


async def start_life(
    generator: Any,
    db_url: str,
    clock: ManualClock,
    wire: Tripwire | None = None,
    worker_id: str = "main",
    start: bool = True,
) -> Life:
    """A fresh process: its own database connections, service and notifier. The Replicate client
    is shared between lives only because building one costs ~0.2 s of TLS setup; it keeps no
    job state (Replicate does)."""
    database = Database(db_url)
    await database.start()
    ledger = SqlLedgerStore(database)
    notifier = RecordingNotifier()
    store: Any = SqlJobStore(database, ledger)
    engine: Any = generator
    delivery: Any = notifier
    if wire is not None:
        store, engine, delivery = (
            wire.wrap("store", store),
            wire.wrap("generator", engine),
            wire.wrap("notifier", notifier),
        )
    service = GenerationService(
        store=store,
        ledger=ledger,
        wallets=WalletService(ledger, RULES, clock),
        intake=PyAVIntake(),
        generator=engine,
        rules=RULES,
        clock=clock,
        settings=fast_settings(worker_id=worker_id),
        notifier=delivery,
    )
    if start:
        await service.start()
    return Life(database, service, notifier, generator)


@pytest.fixture
async def replicate(fake: FakeReplicate) -> AsyncIterator[Any]:
    generator = replicate_for(fake)
    yield generator
    await generator.aclose()


async def run_one_job(
    replicate: Any, db_url: str, clock: ManualClock, wire: Tripwire, who: Identity
) -> tuple[str, dict[str, int]]:
    """Submit one job in a life with the tripwire, until it ends or the process 'dies'; return the
    request key and the clips that life delivered."""
    life = await start_life(replicate, db_url, clock, wire)
    request_id = uuid.uuid4().hex
    submit = asyncio.create_task(
        life.service.submit(who, HUM, "piano", 10, platform="console", reply_to={}, request_id=request_id)
    )
    finished = asyncio.create_task(wait_until(lambda: bool(life.notifier.finished_jobs or life.notifier.failed_jobs)))
    fired = asyncio.create_task(wire.fired.wait())
    await asyncio.wait({finished, fired}, return_when=asyncio.FIRST_COMPLETED, timeout=15)
    for task in (submit, finished, fired):
        if not task.done():
            task.cancel()
    await asyncio.gather(submit, finished, fired, return_exceptions=True)
    await life.die()
    return f"{who.key}:{request_id}", dict(life.notifier.delivered)


async def check_outcome(
    replicate: Any,
    db_url: str,
    clock: ManualClock,
    who: Identity,
    request_key: str,
    delivered_before: dict[str, int],
) -> str:
    """A fresh life resumes; the job must end captured-with-a-clip or released."""
    life = await start_life(replicate, db_url, clock)
    try:
        job = await life.service.store.find_by_request(request_key)
        person = await life.service.wallets.person(who)
        if job is None:  # died before the job was written: nothing may be held
            balance = await life.service.ledger.balance(person.wallet_id)
            assert (balance.available, balance.held) == (10, 0)
            return "never accepted"
        done = await wait_for_state(life.service, job.job_id, *TERMINAL, within=15)
        balance = await life.service.ledger.balance(person.wallet_id)
        hold = await hold_state(life.service, job.job_id)
        charged = await spends(life.database, job.job_id)
        delivered = delivered_before.get(job.job_id, 0) + life.notifier.delivered.get(job.job_id, 0)
        if done.state == JobState.SUCCEEDED:
            assert (hold, charged, balance.available, balance.held) == (HoldState.CAPTURED, 1, 8, 0)
            assert delivered >= 1, "charged without a delivered clip"
        else:
            assert hold in (HoldState.RELEASED, HoldState.EXPIRED) and charged == 0
            assert (balance.available, balance.held) == (10, 0)
        assert await life.service.ledger.audit() == []
        return done.state.value
    finally:
        await life.die()


async def restart_at_every_step(
    replicate: Any, fake: FakeReplicate, db_url: str, clock: ManualClock, *, forget: bool
) -> dict[str, str]:
    """Kill the process at every gap between two steps of a job, restart, check the ending.
    `forget`: Replicate has lost the prediction meanwhile (deleted after an hour, say)."""
    clean = Tripwire()  # a clean run first, to learn the steps a job takes
    await run_one_job(replicate, db_url, clock, clean, Identity("console", f"clean{forget}"))
    steps = list(clean.trace)
    assert steps[:2] == ["store.create", "store.claim"]
    order = [steps.index(s) for s in ("generator.submit", "generator.download", "notifier.deliver", "store.conclude")]
    assert order == sorted(order), steps
    # Dying right after step i is dying right before step i + 1: "before the first step" and
    # "after each step" cover every gap between two steps.
    points = [(steps[0], 1, "before")] + [
        (step, steps[: index + 1].count(step), "after") for index, step in enumerate(steps)
    ]
    outcomes: dict[str, str] = {}
    for index, (step, occurrence, when) in enumerate(points):
        wire = Tripwire(target=(step, occurrence, when))
        who = Identity("console", f"p{index}{forget:d}")
        request_key, delivered = await run_one_job(replicate, db_url, clock, wire, who)
        assert wire.fired.is_set(), f"never reached {when} {step} #{occurrence}"
        if forget:
            fake.predictions.clear()
        outcomes[f"{when} {step} #{occurrence}"] = await check_outcome(
            replicate, db_url, clock, who, request_key, delivered
        )
    return outcomes


async def test_a_restart_between_any_two_steps_ends_captured_with_a_clip_or_released(db_url, fake, clock, replicate):
    outcomes = await restart_at_every_step(replicate, fake, db_url, clock, forget=False)
    assert outcomes.pop("before store.create #1") == "never accepted"
    # Replicate still has the prediction: every restart picks the job up and delivers it.
    assert set(outcomes.values()) == {"succeeded"}, outcomes


async def test_a_restart_after_replicate_lost_the_prediction_releases_unless_already_delivered(
    sqlite_url, fake, clock, replicate
):
    outcomes = await restart_at_every_step(replicate, fake, sqlite_url, clock, forget=True)
    assert outcomes.pop("before store.create #1") == "never accepted"
    captured_at = list(outcomes).index("after store.conclude #1")
    before, after = list(outcomes.values())[:captured_at], list(outcomes.values())[captured_at:]
    # Until the prediction exists nothing is lost (it is submitted again); once it exists and is
    # lost, the job fails and is released (even a clip the platform took just before the crash:
    # redelivering it needs the output, so that one is free); once captured, it stays charged.
    assert "failed" in before and set(before) <= {"succeeded", "failed"}, outcomes
    assert set(after) == {"succeeded"}, outcomes


async def test_jobs_of_a_dead_worker_are_adopted_once_its_lease_runs_out(db_url, fake, clock, replicate):
    fake.default_script = PROCESSING_FOREVER
    old = await start_life(replicate, db_url, clock, worker_id="host-a")
    who = Identity("console", "orphan")
    accepted = await old.service.submit(who, HUM, "piano", 10, platform="console", reply_to={}, request_id="r1")
    job = await wait_for_state(old.service, accepted.job_id, JobState.RUNNING)
    await old.die()

    other = await start_life(replicate, db_url, clock, worker_id="host-b")
    try:
        assert await other.service.resume() == []  # host-a's lease still runs
        clock.advance(minutes=3)
        await fake.finish(job.prediction_id, "succeeded")
        await other.service.sweep()
        done = await wait_for_state(other.service, job.job_id, *TERMINAL)
        assert done.state == JobState.SUCCEEDED and done.worker_id == "host-b"
        assert other.notifier.delivered == {job.job_id: 1}
        assert await spends(other.database, job.job_id) == 1
        assert await other.service.ledger.audit() == []
    finally:
        await other.die()


async def test_at_start_up_a_queued_job_past_its_deadline_is_expired_and_released(db_url, fake, clock, replicate):
    first = await start_life(replicate, db_url, clock, start=False)  # accepted, never started
    who = Identity("console", "late")
    accepted = await first.service.submit(who, HUM, "piano", 10, platform="console", reply_to={}, request_id="r")
    await first.die()
    clock.advance(minutes=11)
    later = await start_life(replicate, db_url, clock)
    try:
        done = await wait_for_state(later.service, accepted.job_id, *TERMINAL)
        assert (done.state, done.error) == (JobState.EXPIRED, "generation_timed_out")
        assert [jid for jid, _, _ in later.notifier.failed_jobs] == [accepted.job_id]
        person = await later.service.wallets.person(who)
        balance = await later.service.ledger.balance(person.wallet_id)
        assert (balance.available, balance.held) == (10, 0)
        assert fake.predictions == {}
    finally:
        await later.die()


async def test_the_hold_sweep_is_the_backstop_and_the_job_is_marked_expired(db_url, fake, clock, replicate):
    """A job nobody can finish (its worker is gone for good, its lease still looks alive): the
    ledger's sweep releases the hold when it expires, and the job is ended with it."""
    fake.default_script = PROCESSING_FOREVER
    old = await start_life(replicate, db_url, clock, worker_id="gone")
    who = Identity("console", "stuck")
    accepted = await old.service.submit(who, HUM, "piano", 10, platform="console", reply_to={}, request_id="r")
    await wait_for_state(old.service, accepted.job_id, JobState.RUNNING)
    await old.die()
    # make the dead worker's lease look alive for ever, so nobody adopts the job
    await _set_lease(db_url, accepted.job_id, START.replace(year=2100))
    clock.advance(minutes=30)  # past the hold's expiry (deadline + slack)
    other = await start_life(replicate, db_url, clock, worker_id="other")
    try:
        await other.service.sweep()
        done = await wait_for_state(other.service, accepted.job_id, *TERMINAL)
        assert (done.state, done.error) == (JobState.EXPIRED, "generation_timed_out")
        assert await hold_state(other.service, accepted.job_id) == HoldState.EXPIRED
        person = await other.service.wallets.person(who)
        balance = await other.service.ledger.balance(person.wallet_id)
        assert (balance.available, balance.held) == (10, 0)
        assert await other.service.ledger.audit() == []
    finally:
        await other.die()


async def _set_lease(db_url: str, job_id: str, until: Any) -> None:
    from sqlalchemy import bindparam, update

    from adapters.storage.sql import Statement, run, to_db_time
    from adapters.storage.tables_jobs import jobs

    statement = Statement(update(jobs).where(jobs.c.id == bindparam("id")).values(lease_until=bindparam("until")))
    async with Database(db_url) as database:
        await database.write(lambda c: run(c, statement, until=to_db_time(c, until), id=job_id))


# --- a crash after Replicate accepted a prediction but before its id was saved ---------------
# The restarted bot finds that prediction among the recent ones (`GET /v1/predictions`) by the
# input it noted before creating it, adopts it and cancels strays, instead of paying twice.

CREATED_NOT_SAVED = ("generator.submit", 1, "after")  # Replicate answered; the process died


def creates(fake: FakeReplicate) -> list[Any]:
    return [r for r in fake.requests if (r.method, r.path) == ("POST", "/v1/predictions")]


def lists(fake: FakeReplicate) -> list[Any]:
    return [r for r in fake.requests if (r.method, r.path) == ("GET", "/v1/predictions")]


async def test_a_prediction_created_before_a_crash_is_adopted_not_made_again(db_url, fake, clock, replicate):
    who = Identity("console", "ann")
    wire = Tripwire(target=CREATED_NOT_SAVED)
    request_key, delivered = await run_one_job(replicate, db_url, clock, wire, who)
    assert wire.fired.is_set() and len(fake.predictions) == 1
    (made,) = fake.predictions.values()
    assert made.webhook is None and made.input["input_audio"].endswith(tuple(fake.files))

    outcome = await check_outcome(replicate, db_url, clock, who, request_key, delivered)

    assert outcome == JobState.SUCCEEDED.value  # charged once, with a clip (checked inside)
    assert len(creates(fake)) == 1 and len(fake.predictions) == 1
    assert len(lists(fake)) == 1
    assert fake.requests_to("POST", f"/v1/predictions/{made.id}/cancel") == []


async def test_strays_made_for_the_same_job_are_canceled_and_one_is_adopted(sqlite_url, fake, clock, replicate):
    who = Identity("console", "bob")
    request_key, delivered = await run_one_job(replicate, sqlite_url, clock, Tripwire(target=CREATED_NOT_SAVED), who)
    (first,) = creates(fake)
    async with aiohttp.ClientSession() as http:  # the same create again: a stray for this job
        headers = {"Authorization": f"Bearer {fake.api_token}"}
        async with http.post(f"{fake.base_url}/v1/predictions", json=first.json, headers=headers) as answer:
            assert answer.status == 201

    assert await check_outcome(replicate, sqlite_url, clock, who, request_key, delivered) == "succeeded"

    life = await start_life(replicate, sqlite_url, clock, start=False)  # to read what it left
    try:
        done = await life.service.store.find_by_request(request_key)
        assert done is not None and done.prediction_id is not None
        job = done
        canceled = [r.path for r in fake.requests if r.method == "POST" and r.path.endswith("/cancel")]
        assert len(canceled) == 1 and done.prediction_id not in canceled[0]
        assert len(creates(fake)) == 2  # the original and the stray; nothing new
        assert await spends(life.database, job.job_id) == 1
    finally:
        await life.die()


async def test_a_job_noted_but_never_created_is_submitted_once_after_the_restart(db_url, fake, clock, replicate):
    who = Identity("console", "cy")
    wire = Tripwire(target=("store.advance", 1, "after"))  # the note is the first advance
    request_key, delivered = await run_one_job(replicate, db_url, clock, wire, who)
    assert wire.fired.is_set() and creates(fake) == []

    outcome = await check_outcome(replicate, db_url, clock, who, request_key, delivered)

    assert outcome == JobState.SUCCEEDED.value
    assert len(creates(fake)) == 1 and len(lists(fake)) == 1


async def test_a_clip_delivered_just_before_a_crash_is_sent_again_saying_so_and_charged_once(
    sqlite_url, fake, clock, replicate
):
    who = Identity("console", "dee")
    wire = Tripwire(target=("notifier.deliver", 1, "after"))  # delivered; the capture never written
    request_key, delivered = await run_one_job(replicate, sqlite_url, clock, wire, who)
    assert wire.fired.is_set() and list(delivered.values()) == [1]

    life = await start_life(replicate, sqlite_url, clock)
    try:
        job = await life.service.store.find_by_request(request_key)
        assert job is not None
        done = await wait_for_state(life.service, job.job_id, *TERMINAL)
        assert done.state == JobState.SUCCEEDED
        assert life.notifier.clips[job.job_id].resent  # the chat says "sent again after a restart"
        assert await spends(life.database, job.job_id) == 1
        assert await life.service.ledger.audit() == []
    finally:
        await life.die()


async def test_a_job_that_never_reached_delivering_is_not_called_a_resend(sqlite_url, fake, clock, replicate):
    who = Identity("console", "eve")
    wire = Tripwire(target=("generator.submit", 1, "after"))
    request_key, delivered = await run_one_job(replicate, sqlite_url, clock, wire, who)
    life = await start_life(replicate, sqlite_url, clock)
    try:
        job = await life.service.store.find_by_request(request_key)
        assert job is not None
        await wait_for_state(life.service, job.job_id, JobState.SUCCEEDED)
        assert not life.notifier.clips[job.job_id].resent
    finally:
        await life.die()
