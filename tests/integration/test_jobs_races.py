"""Races and limits: two workers on one database, webhook against poller, cancel against the
finish line; the global and per-person limits with a queue that is fair across persons."""

from __future__ import annotations

import asyncio

from adapters.replicate import verify_replicate_webhook
from adapters.storage.database import Database
from core.domain.identity import Identity
from core.domain.jobs import TERMINAL, JobState, Stage
from core.errors import JobFinished, JobNotCancelable
from tests.fakes.replicate_fake import PROCESSING_FOREVER
from tests.integration.jobs_harness import (
    Stack,
    hold_state,
    open_stack,
    spends,
    wait_for_state,
    wait_until,
)


async def states(stack: Stack, identity: Identity) -> list[tuple[JobState, int | None]]:
    return [(v.job.state, v.position) for v in await stack.service.jobs(identity)]


async def test_two_workers_on_one_database_run_each_job_once(db_url, fake, clock):
    second_db = Database(db_url)
    await second_db.start()
    a = await open_stack(await _started(db_url), fake, clock, worker_id="a", max_concurrent=3)
    b = await open_stack(second_db, fake, clock, worker_id="b", max_concurrent=3)
    people = [Identity("telegram", str(3000 + n)) for n in range(6)]
    try:
        accepted = await asyncio.gather(*[(a if n % 2 else b).submit(p, seconds=5) for n, p in enumerate(people * 2)])
        await asyncio.gather(a.service.start(), b.service.start())
        for job in accepted:
            await wait_for_state(a.service, job.job_id, *TERMINAL, within=20)
        ids = {job.job_id for job in accepted}
        assert len(ids) == 12
        deliveries = [jid for stack in (a, b) for jid, n in stack.notifier.delivered.items() for _ in range(n)]
        assert sorted(deliveries) == sorted(ids)  # each delivered exactly once, by one worker
        assert len(fake.predictions) == 12  # each sent to Replicate once
        assert {(await a.service.job(j)).job.worker_id for j in ids} <= {"a", "b"}  # type: ignore[union-attr]
        for person in people:
            assert (await a.balance(person)).available == 8
        assert await a.ledger.audit() == []
    finally:
        await a.close()
        await b.close()
        await a.database.close()
        await second_db.close()


async def _started(url: str) -> Database:
    database = Database(url)
    await database.start()
    return database


async def test_a_webhook_racing_the_poller_delivers_and_charges_once(database, fake, clock):
    stack = await open_stack(database, fake, clock, poll_interval_seconds=0.001)
    await stack.service.start()
    try:
        fake.default_script = PROCESSING_FOREVER
        who = Identity("telegram", "4001")
        jobs = [await stack.submit(who, seconds=5) for _ in range(2)]
        running = [await wait_for_state(stack.service, j.job_id, JobState.RUNNING) for j in jobs]
        for job in running:
            await fake.finish(job.prediction_id, "succeeded")
            status = verify_replicate_webhook(
                *fake.signed_webhook(job.prediction_id), fake.webhook_secret, now=fake.wall_clock()
            )
            await asyncio.gather(*[stack.service.on_prediction_update(status) for _ in range(5)])
        for job in running:
            done = await wait_for_state(stack.service, job.job_id, *TERMINAL)
            assert done.state == JobState.SUCCEEDED
            assert stack.notifier.delivered[job.job_id] == 1 and await spends(database, job.job_id) == 1
        assert await stack.ledger.audit() == []
    finally:
        await stack.close()


async def test_a_cancel_racing_the_finish_either_releases_or_charges_never_both(database, fake, clock):
    stack = await open_stack(database, fake, clock, max_concurrent=10, per_person=10)
    await stack.service.start()
    try:
        fake.default_script = PROCESSING_FOREVER
        who = Identity("telegram", "5001")
        person_jobs = [await stack.submit(who, seconds=5) for _ in range(6)]
        running = [await wait_for_state(stack.service, j.job_id, JobState.RUNNING) for j in person_jobs]

        async def cancel(job_id: str) -> str:
            try:
                await stack.service.cancel(who, job_id)
                return "canceled"
            except (JobFinished, JobNotCancelable):
                return "too late"

        results = await asyncio.gather(
            *[fake.finish(j.prediction_id, "succeeded") for j in running],
            *[cancel(j.job_id) for j in running],
        )
        charged = 0
        for job in running:
            done = await wait_for_state(stack.service, job.job_id, *TERMINAL)
            spent = await spends(database, job.job_id)
            if done.state == JobState.SUCCEEDED:
                assert spent == 1 and stack.notifier.delivered.get(job.job_id) == 1
                charged += 1
            else:
                assert done.state == JobState.CANCELED and spent == 0
        assert results[len(running) :].count("canceled") == len(running) - charged
        assert (await stack.balance(who)).available == 10 - charged
        assert await stack.ledger.audit() == []
    finally:
        await stack.close()


async def test_a_person_at_their_limit_waits_without_holding_up_anyone_else(database, fake, clock):
    stack = await open_stack(database, fake, clock, max_concurrent=3, per_person=2)
    fake.default_script = PROCESSING_FOREVER
    ann, bob = Identity("discord", "61"), Identity("discord", "62")
    try:
        ann_jobs = [await stack.submit(ann, seconds=5) for _ in range(4)]
        bob_job = await stack.submit(bob, seconds=5)
        assert bob_job.queue_position == 5
        await stack.service.start()
        await wait_until(lambda: len(fake.predictions) == 3)
        await wait_until(lambda: _two_running(stack, ann))
        assert await states(stack, ann) == [
            (JobState.RUNNING, None),
            (JobState.RUNNING, None),
            (JobState.QUEUED, 1),
            (JobState.QUEUED, 2),
        ]
        assert (await wait_for_state(stack.service, bob_job.job_id, JobState.RUNNING)).state == JobState.RUNNING
        # the third slot went to Bob, not to Ann's third job; hers starts when one of hers ends
        first = await stack.service.job(ann_jobs[0].job_id)
        await fake.finish(first.job.prediction_id, "succeeded")  # type: ignore[union-attr]
        await wait_for_state(stack.service, ann_jobs[2].job_id, JobState.RUNNING)
        assert (await stack.service.job(ann_jobs[3].job_id)).position == 1  # type: ignore[union-attr]
        assert len(fake.predictions) == 4
    finally:
        await stack.close()


async def _two_running(stack: Stack, who: Identity) -> bool:
    views = await stack.service.jobs(who)
    return [v.job.state for v in views[:2]] == [JobState.RUNNING] * 2 and all(
        v.job.state == JobState.QUEUED for v in views[2:]
    )


async def test_queued_jobs_are_told_their_place_in_line(database, fake, clock):
    stack = await open_stack(database, fake, clock, max_concurrent=1, per_person=1)
    fake.default_script = PROCESSING_FOREVER
    people = [Identity("telegram", str(7000 + n)) for n in range(3)]
    try:
        accepted = [await stack.submit(p, seconds=5) for p in people]
        await stack.service.start()
        await wait_for_state(stack.service, accepted[0].job_id, JobState.RUNNING)
        await stack.service.sweep()
        queued = [(jid, p.position) for jid, p in stack.notifier.progress_seen if p.stage == Stage.QUEUED]
        assert queued == [(accepted[1].job_id, 1), (accepted[2].job_id, 2)]
        await stack.service.sweep()  # unchanged positions are not sent again
        assert len([p for _, p in stack.notifier.progress_seen if p.stage == Stage.QUEUED]) == 2
        assert await hold_state(stack.service, accepted[2].job_id) is not None
    finally:
        await stack.close()
