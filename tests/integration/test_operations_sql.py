"""The other priced operations on SQLite and PostgreSQL, through the real `replicate` client
against the loopback fake: speech on the pinned Kokoro version, music from words (no melody
uploaded), a voice tag mixed into a kept clip; each charged once on delivery, released on a
provider failure, and counted per operation by the stats."""

from __future__ import annotations

import asyncio
import io
import uuid

import av
import pytest

from adapters.speech import KOKORO_VERSION, ReplicateSpeechGenerator, local_voice_tag_generator
from adapters.storage.stats import SqlStatsStore
from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.jobs import JobState
from core.domain.rewards import Window
from core.domain.stats import OperationStats
from tests.fakes.edges import RecordingNotifier
from tests.fakes.replicate_fake import FakeReplicate, Script
from tests.integration.jobs_harness import (
    START,
    build_service,
    fast_settings,
    replicate_for,
    simulated_seconds,
    spends,
    wait_for_state,
)

ANN = Identity("telegram", "2001")
SPEECH_FAILS = "the model fails on this text"


@pytest.fixture
async def stack(database):
    clock = ManualClock(START)
    fake = FakeReplicate(
        clock=simulated_seconds(clock), scripts_by_prompt={SPEECH_FAILS: Script(outcome="failed", after_polls=1)}
    )
    await fake.start()
    music = replicate_for(fake)
    speech = ReplicateSpeechGenerator(api_token=fake.api_token, base_url=fake.base_url, http_timeout_seconds=5.0)
    tag = local_voice_tag_generator()
    notifier = RecordingNotifier()
    service = build_service(
        database,
        music,
        clock,
        settings=fast_settings(),
        notifier=notifier,
        providers={"prompt": music, "speech": speech, "voicetag": tag},
    )
    await service.start()
    yield service, fake, notifier
    await service.stop(grace_seconds=0)
    for provider in (music, speech, tag):
        await provider.aclose()
    await fake.stop()


def keyed() -> dict[str, str]:
    return {"platform": "console", "reply_to": {"chat": ANN.key}, "request_id": uuid.uuid4().hex}


async def test_speech_on_replicate_is_a_voice_note_charged_once(stack, database):
    service, fake, notifier = stack
    accepted = await service.say(ANN, "Hello from the bot", voice="male", **keyed())
    assert accepted.cost == 1 and accepted.balance.held == 1
    job = await wait_for_state(service, accepted.job_id, JobState.SUCCEEDED)
    (create,) = fake.requests_to("POST", "/v1/predictions")
    assert create.json["version"] == KOKORO_VERSION
    assert create.json["input"] == {"text": "Hello from the bot", "voice": "am_michael", "speed": 1.0}
    assert fake.requests_to("POST", "/v1/files") == []  # nothing uploaded for speech
    clip = notifier.clips[job.job_id]
    with av.open(io.BytesIO(clip.audio)) as container:
        assert clip.format == "ogg" and container.streams.audio[0].codec_context.name == "opus"
    assert await spends(database, job.job_id) == 1
    balance = await service.ledger.balance(job.wallet_id)
    assert (balance.available, balance.held) == (9, 0)


async def test_a_failed_speech_prediction_releases_the_credits(stack, database):
    service, _fake, notifier = stack
    accepted = await service.say(ANN, SPEECH_FAILS, **keyed())
    job = await wait_for_state(service, accepted.job_id, JobState.FAILED)
    assert job.job_id not in notifier.delivered and await spends(database, job.job_id) == 0
    balance = await service.ledger.balance(job.wallet_id)
    assert (balance.available, balance.held) == (10, 0)


async def test_music_from_words_then_a_voice_tag_on_the_kept_clip_and_the_stats_per_operation(stack, database):
    service, fake, notifier = stack
    made = await service.describe(ANN, "lofi beat with rain", 5, **keyed())
    await wait_for_state(service, made.job_id, JobState.SUCCEEDED)
    (create,) = fake.requests_to("POST", "/v1/predictions")
    assert "input_audio" not in create.json["input"] and create.json["input"]["prompt"] == "lofi beat with rain"
    assert await service.store.output(made.job_id) == notifier.clips[made.job_id].audio

    tagged = await service.tag(ANN, made.job_id, "made by Ann", **keyed())
    job = await wait_for_state(service, tagged.job_id, JobState.SUCCEEDED)
    assert notifier.clips[job.job_id].format == "mp3" and await spends(database, job.job_id) == 1
    failed = await service.say(ANN, SPEECH_FAILS, **keyed())
    await wait_for_state(service, failed.job_id, JobState.FAILED)

    window = Window("today", START.replace(hour=0), START.replace(hour=23, minute=59))
    figures = await SqlStatsStore(database).window_stats(window, cheapest_clip=1)
    assert figures.by_operation == (
        OperationStats("prompt", jobs=1, succeeded=1, failed=0, credits=1),
        OperationStats("speech", jobs=1, succeeded=0, failed=1, credits=0),
        OperationStats("voicetag", jobs=1, succeeded=1, failed=0, credits=1),
    )


async def test_the_same_say_twice_at_once_makes_one_job_and_one_hold(stack, database):
    service, fake, _notifier = stack
    same = {"platform": "console", "reply_to": {"chat": ANN.key}, "request_id": "tap-1"}
    first, second = await asyncio.gather(service.say(ANN, "only once", **same), service.say(ANN, "only once", **same))
    assert first.job_id == second.job_id and [first.duplicate, second.duplicate].count(True) == 1
    await wait_for_state(service, first.job_id, JobState.SUCCEEDED)
    again = await service.say(ANN, "only once", **same)
    assert again.duplicate and again.job_id == first.job_id
    assert len(fake.requests_to("POST", "/v1/predictions")) == 1 and await spends(database, first.job_id) == 1
    balance = await service.ledger.balance(again.job.wallet_id)
    assert (balance.available, balance.held) == (9, 0)
