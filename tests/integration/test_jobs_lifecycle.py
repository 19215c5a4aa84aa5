"""A job's whole life against a fake Replicate on loopback, driven by the real `replicate` client:
credits are captured once after delivery, and released on every failure, cancel or deadline."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from adapters.replicate import verify_replicate_webhook
from adapters.storage.economics import SqlEconomicsReads
from core.domain.generation import PredictionState
from core.domain.identity import Identity
from core.domain.jobs import JobState, Stage
from core.domain.ledger import HoldState
from core.errors import (
    DeliveryFailed,
    GenerationFailed,
    GenerationRateLimited,
    GenerationTimedOut,
    JobCanceled,
    JobFinished,
    JobNotFound,
    OutputUnavailable,
)
from tests.fakes.replicate_fake import PROCESSING_FOREVER, Script
from tests.integration.jobs_harness import (
    Stack,
    hold_state,
    open_stack,
    spends,
    wait_for_state,
    wait_until,
)

ANN = Identity("telegram", "1001")
BOB = Identity("telegram", "1002")
ENDED = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED, JobState.EXPIRED)


@pytest.fixture
async def stack(database, fake, clock) -> AsyncIterator[Stack]:
    opened = await open_stack(database, fake, clock)
    await opened.service.start()
    yield opened
    await opened.close()


async def assert_released(stack: Stack, job_id: str, identity: Identity = ANN) -> None:
    assert await hold_state(stack.service, job_id) in (HoldState.RELEASED, HoldState.EXPIRED)
    assert await spends(stack.database, job_id) == 0
    balance = await stack.balance(identity)
    assert (balance.available, balance.held) == (10, 0)
    assert job_id not in stack.notifier.delivered
    assert await stack.ledger.audit() == []


async def provider_cost(stack: Stack, job_id: str) -> int | None:
    reads = SqlEconomicsReads(stack.database)
    person = await stack.service.wallets.person(ANN)
    jobs = (await reads.wallet_snapshot(person.wallet_id)).jobs
    return next((job.cost_micros for job in jobs if job.job_id == job_id), None)


# --- success -----------------------------------------------------------------------------------


async def test_a_delivered_clip_is_charged_once_and_the_person_is_told_what_is_left(stack):
    accepted = await stack.submit(ANN, seconds=10)
    assert (accepted.cost, accepted.balance.available, accepted.balance.held) == (2, 8, 2)

    job = await wait_for_state(stack.service, accepted.job_id, *ENDED)

    assert job.state == JobState.SUCCEEDED and job.prediction_id and job.output_url
    assert stack.notifier.delivered == {job.job_id: 1}
    assert stack.notifier.clips[job.job_id].audio[:3] in (b"ID3", b"\xff\xfb")  # an MP3
    ((finished_id, charged, balance, offer),) = stack.notifier.finished_jobs
    assert (finished_id, charged, balance.available, balance.held, offer) == (
        job.job_id,
        2,
        8,
        0,
        None,
    )
    stages = [p.stage for jid, p in stack.notifier.progress_seen if jid == job.job_id]
    assert stages == [Stage.STARTED, Stage.GENERATING, Stage.DELIVERING]
    assert await hold_state(stack.service, job.job_id) == HoldState.CAPTURED
    assert await spends(stack.database, job.job_id) == 1
    stats = await stack.ledger.stats(balance.account_id)
    assert (stats.generations, stats.lifetime_spent) == (1, 2)
    # what went to Replicate: our style, length and own seed, the clip uploaded (not a URL of ours)
    created = stack.fake.predictions[job.prediction_id]
    assert created.input["prompt"] == "warm piano" and created.input["duration"] == 10
    assert created.input["seed"] == job.seed
    assert created.input["input_audio"].startswith(f"{stack.fake.base_url}/v1/files/")
    assert await stack.ledger.audit() == []
    # what the run cost the operator: Replicate's reported predict_time (1.0 s) × $0.0014/s
    assert await provider_cost(stack, job.job_id) == 1_400


async def test_a_low_balance_after_a_job_comes_with_the_offer(stack):
    first = await stack.submit(ANN, seconds=30)  # 5 of 10
    await wait_for_state(stack.service, first.job_id, *ENDED)
    second = await stack.submit(ANN, seconds=15)  # 3 of 5: 2 left
    await wait_for_state(stack.service, second.job_id, *ENDED)
    (_, charged, balance, offer) = stack.notifier.finished_jobs[-1]
    assert (charged, balance.available) == (3, 2)
    assert offer is not None and offer.available == 2 and not offer.out_of_credits


async def test_the_success_hook_runs_after_each_delivered_clip_and_never_after_a_failure(database, fake, clock):
    seen: list[int] = []

    async def hook(person_id: int) -> None:
        seen.append(person_id)

    stack = await open_stack(database, fake, clock, on_success=hook)
    await stack.service.start()
    try:
        for _ in range(2):
            accepted = await stack.submit(ANN, seconds=5)
            await wait_for_state(stack.service, accepted.job_id, *ENDED)
        assert seen == [accepted.job.person_id] * 2
        stack.fake.default_script = Script(outcome="failed", after_polls=1, error="boom")
        failed = await stack.submit(ANN, seconds=5)
        assert (await wait_for_state(stack.service, failed.job_id, *ENDED)).state == JobState.FAILED
        assert seen == [accepted.job.person_id] * 2
    finally:
        await stack.close()


# --- failures release --------------------------------------------------------------------------


async def test_a_model_failure_releases_the_credits_and_says_why(stack):
    stack.fake.default_script = Script(outcome="failed", after_polls=2, error="CUDA error: out of memory")
    accepted = await stack.submit(ANN)
    job = await wait_for_state(stack.service, accepted.job_id, *ENDED)
    assert (job.state, job.error) == (JobState.FAILED, "generation_failed")
    error = stack.notifier.error_of(job.job_id)
    assert isinstance(error, GenerationFailed) and "out of memory" in error.detail
    await assert_released(stack, job.job_id)
    assert await provider_cost(stack, job.job_id) == 1_400  # a failed run is billed all the same


async def test_an_output_that_cannot_be_downloaded_is_not_charged(stack):
    stack.fake.output_status = 500
    accepted = await stack.submit(ANN)
    job = await wait_for_state(stack.service, accepted.job_id, *ENDED)
    assert (job.state, job.error) == (JobState.FAILED, "output_unavailable")
    assert isinstance(stack.notifier.error_of(job.job_id), OutputUnavailable)
    await assert_released(stack, job.job_id)


async def test_a_clip_the_platform_refused_is_not_charged(stack):
    stack.notifier.accept = False
    accepted = await stack.submit(ANN)
    job = await wait_for_state(stack.service, accepted.job_id, *ENDED)
    assert (job.state, job.error) == (JobState.FAILED, "delivery_failed")
    assert isinstance(stack.notifier.error_of(job.job_id), DeliveryFailed)
    await assert_released(stack, job.job_id)


async def test_a_notifier_that_crashes_on_progress_does_not_stop_the_job(stack):
    async def broken(job, progress):
        raise RuntimeError("telegram is down")

    stack.notifier.progress = broken  # type: ignore[method-assign]
    accepted = await stack.submit(ANN)
    job = await wait_for_state(stack.service, accepted.job_id, *ENDED)
    assert job.state == JobState.SUCCEEDED and stack.notifier.delivered == {job.job_id: 1}


async def test_rate_limited_creates_are_retried_then_a_persistent_429_releases(stack):
    stack.fake.fail_creates(429, count=2, retry_after=1)
    retried = await stack.submit(ANN, seconds=5)
    assert (await wait_for_state(stack.service, retried.job_id, *ENDED)).state == JobState.SUCCEEDED

    stack.fake.fail_creates(429, count=10, retry_after=1)
    refused = await stack.submit(ANN, seconds=5)
    job = await wait_for_state(stack.service, refused.job_id, *ENDED)
    assert (job.state, job.error) == (JobState.FAILED, "generation_rate_limited")
    assert isinstance(stack.notifier.error_of(job.job_id), GenerationRateLimited)
    balance = await stack.balance(ANN)
    assert (balance.available, balance.held) == (9, 0)  # only the first was charged
    assert await stack.ledger.audit() == []


# --- time: long runs and the deadline --------------------------------------------------------


async def test_a_prediction_still_processing_after_60_simulated_seconds_is_still_awaited(stack, fake, clock):
    fake.default_script = Script(outcome="succeeded", after_polls=None, after_seconds=90)
    accepted = await stack.submit(ANN)
    job = await wait_for_state(stack.service, accepted.job_id, JobState.RUNNING)
    clock.advance(seconds=61)
    polls = fake.predictions[job.prediction_id].polls
    await wait_until(lambda: fake.predictions[job.prediction_id].polls >= polls + 3)
    assert (await stack.service.job(job.job_id)).job.state == JobState.RUNNING  # type: ignore[union-attr]
    clock.advance(seconds=30)
    done = await wait_for_state(stack.service, job.job_id, *ENDED)
    assert done.state == JobState.SUCCEEDED
    assert await hold_state(stack.service, job.job_id) == HoldState.CAPTURED


async def test_at_the_deadline_the_prediction_is_canceled_and_the_credits_released(stack, fake, clock):
    fake.default_script = PROCESSING_FOREVER
    accepted = await stack.submit(ANN)
    job = await wait_for_state(stack.service, accepted.job_id, JobState.RUNNING)
    clock.advance(seconds=601)
    done = await wait_for_state(stack.service, job.job_id, *ENDED)
    assert (done.state, done.error) == (JobState.EXPIRED, "generation_timed_out")
    await wait_until(lambda: fake.predictions[job.prediction_id].status == "canceled")
    assert fake.requests_to("POST", f"/v1/predictions/{job.prediction_id}/cancel")
    assert isinstance(stack.notifier.error_of(job.job_id), GenerationTimedOut)
    await assert_released(stack, job.job_id)


# --- webhooks ----------------------------------------------------------------------------------


async def test_a_duplicate_webhook_is_applied_once_whoever_comes_first(database, fake, clock):
    stack = await open_stack(database, fake, clock, poll_interval_seconds=3600)  # only the webhook
    await stack.service.start()
    try:
        fake.default_script = PROCESSING_FOREVER
        accepted = await stack.submit(ANN)
        job = await wait_for_state(stack.service, accepted.job_id, JobState.RUNNING)
        await fake.finish(job.prediction_id, "succeeded")
        body, headers = fake.signed_webhook(job.prediction_id)
        status = verify_replicate_webhook(body, headers, fake.webhook_secret, now=fake.wall_clock())
        assert status.state == PredictionState.SUCCEEDED
        applied = [await stack.service.on_prediction_update(status) for _ in range(3)]
        done = await wait_for_state(stack.service, job.job_id, *ENDED)
        assert applied.count(True) == 1
        assert await stack.service.on_prediction_update(status) is False  # later repeats too
        assert done.state == JobState.SUCCEEDED and stack.notifier.delivered == {job.job_id: 1}
        assert await spends(database, job.job_id) == 1
        assert await stack.ledger.audit() == []
    finally:
        await stack.close()


async def test_a_webhook_for_an_unknown_or_unfinished_prediction_changes_nothing(stack, fake):
    fake.default_script = PROCESSING_FOREVER
    accepted = await stack.submit(ANN)
    job = await wait_for_state(stack.service, accepted.job_id, JobState.RUNNING)
    body, headers = fake.signed_webhook(job.prediction_id)  # still processing
    running = verify_replicate_webhook(body, headers, fake.webhook_secret, now=fake.wall_clock())
    assert await stack.service.on_prediction_update(running) is False
    stranger = verify_replicate_webhook(
        *fake.signed_webhook({"id": "nope123", "status": "succeeded", "output": "http://x/y.mp3"}),
        fake.webhook_secret,
        now=fake.wall_clock(),
    )
    assert await stack.service.on_prediction_update(stranger) is False
    assert (await stack.service.job(job.job_id)).job.state == JobState.RUNNING  # type: ignore[union-attr]


async def test_replicate_calls_our_webhook_and_that_alone_completes_the_job(database, fake, clock):
    """The fake POSTs signed webhooks to a loopback receiver standing in for the web server."""
    received: list[bool] = []
    stack_box: list[Stack] = []

    async def replicate_webhook(request: web.Request) -> web.Response:
        status = verify_replicate_webhook(
            await request.read(), request.headers, fake.webhook_secret, now=fake.wall_clock()
        )
        received.append(await stack_box[0].service.on_prediction_update(status))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/webhooks/replicate", replicate_webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks/replicate"
    stack = await open_stack(database, fake, clock, poll_interval_seconds=3600, webhook_url=url)
    stack_box.append(stack)
    await stack.service.start()
    try:
        fake.default_script = PROCESSING_FOREVER
        accepted = await stack.submit(ANN)
        job = await wait_for_state(stack.service, accepted.job_id, JobState.RUNNING)
        assert fake.predictions[job.prediction_id].webhook == f"{url}?job={job.job_id}"  # names its job
        await fake.finish(job.prediction_id, "succeeded")
        done = await wait_for_state(stack.service, job.job_id, *ENDED)
        assert done.state == JobState.SUCCEEDED and received == [True]
        assert [d.response_status for d in fake.webhook_deliveries] == [200]
    finally:
        await stack.close()
        await runner.cleanup()


# --- cancel ------------------------------------------------------------------------------------


async def test_the_owner_can_cancel_a_running_job_and_is_not_charged(stack, fake):
    fake.default_script = PROCESSING_FOREVER
    accepted = await stack.submit(ANN)
    job = await wait_for_state(stack.service, accepted.job_id, JobState.RUNNING)
    with pytest.raises(JobNotFound):
        await stack.service.cancel(BOB, job.job_id)  # not theirs: as if it did not exist
    canceled = await stack.service.cancel(ANN, job.job_id)
    assert (canceled.job.state, canceled.released, canceled.balance.available) == (
        JobState.CANCELED,
        2,
        10,
    )
    await wait_until(lambda: fake.predictions[job.prediction_id].status == "canceled")
    assert isinstance(stack.notifier.error_of(job.job_id), JobCanceled)
    with pytest.raises(JobFinished):
        await stack.service.cancel(ANN, job.job_id)
    await assert_released(stack, job.job_id)
    await wait_until(lambda: stack.service.runner.active_jobs == 0)  # its worker slot is free again


async def test_a_finished_job_cannot_be_canceled(stack):
    accepted = await stack.submit(ANN)
    await wait_for_state(stack.service, accepted.job_id, *ENDED)
    with pytest.raises(JobFinished):
        await stack.service.cancel(ANN, accepted.job_id)
    with pytest.raises(JobNotFound):
        await stack.service.cancel(ANN, "no-such-job")
    assert (await stack.balance(ANN)).available == 8


async def test_the_bots_webhook_hook_applies_a_signed_call_and_refuses_a_forged_one(database, fake, clock):
    from bot.bootstrap import replicate_webhook
    from bot.config import load_settings
    from core.errors import InvalidWebhook

    stack = await open_stack(database, fake, clock, poll_interval_seconds=3600)  # only the webhook
    await stack.service.start()
    try:
        hook = replicate_webhook(stack.service, load_settings(replicate_webhook_secret=fake.webhook_secret))
        fake.default_script = PROCESSING_FOREVER
        accepted = await stack.submit(ANN)
        job = await wait_for_state(stack.service, accepted.job_id, JobState.RUNNING)
        await fake.finish(job.prediction_id, "succeeded")
        forged = fake.signed_webhook(job.prediction_id, secret="whsec_" + "Zm9yZ2Vk" * 4)
        with pytest.raises(InvalidWebhook):
            await hook(*forged)
        assert (await stack.service.job(job.job_id)).job.state == JobState.RUNNING  # type: ignore[union-attr]
        await hook(*fake.signed_webhook(job.prediction_id))
        done = await wait_for_state(stack.service, job.job_id, *ENDED)
        assert done.state == JobState.SUCCEEDED and stack.notifier.delivered == {job.job_id: 1}
    finally:
        await stack.close()
