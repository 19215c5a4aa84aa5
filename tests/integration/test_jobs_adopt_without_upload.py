"""A crash after Replicate accepted a prediction but before its id was saved, for the jobs that
upload nothing: music from words (MusicGen, told by the job's own seed) and speech (Kokoro, told
by the same words made after the job was claimed and by no other job). The restarted bot adopts
the prediction instead of paying Replicate twice, and the person is charged once. Real `replicate`
client against the loopback fake, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from adapters.replicate.generator import ReplicateGenerator
from adapters.speech import KOKORO_VERSION, ReplicateSpeechGenerator
from adapters.storage.database import Database
from core.clock import ManualClock
from core.domain.generation import GenerationRequest
from core.domain.identity import Identity
from core.domain.jobs import TERMINAL, Job, JobState
from core.ports import SubmissionNote
from tests.fakes.edges import RecordingNotifier
from tests.fakes.replicate_fake import FakeReplicate
from tests.integration.jobs_harness import (
    START,
    Life,
    build_service,
    fast_settings,
    replicate_for,
    simulated_seconds,
    spends,
    wait_for_state,
    wait_until,
)

ANN = Identity("console", "ann")
BO = Identity("console", "bo")
WORDS = "Hello there, this is the bot"


@dataclass
class DiesAfterCreate:
    """The real generator, until Replicate has accepted a prediction: then the process 'dies'
    (freezes for good) before the caller can save the prediction's id."""

    inner: ReplicateGenerator
    died: asyncio.Event = field(default_factory=asyncio.Event)

    async def submit(
        self, request: GenerationRequest, *, webhook_url: str | None, before_create: SubmissionNote | None = None
    ) -> str:
        await self.inner.submit(request, webhook_url=webhook_url, before_create=before_create)
        self.died.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
async def replicate() -> Any:
    """The fake and both backends. The fake's wall clock is the bot's simulated one, so the
    `created_at` it lists compares with when jobs were claimed."""
    clock = ManualClock(START)
    fake = FakeReplicate(clock=simulated_seconds(clock), wall_clock=simulated_seconds(clock))
    await fake.start()
    music = replicate_for(fake)
    speech = ReplicateSpeechGenerator(api_token=fake.api_token, base_url=fake.base_url, http_timeout_seconds=5.0)
    yield fake, clock, music, speech
    for backend in (music, speech):
        await backend.aclose()
    await fake.stop()


async def live(db_url: str, clock: ManualClock, music: Any, speech: Any) -> Life:
    """A fresh bot process over the same database and the same Replicate."""
    database = Database(db_url)
    await database.start()
    notifier = RecordingNotifier()
    service = build_service(
        database,
        music,
        clock,
        settings=fast_settings(),
        notifier=notifier,
        providers={"prompt": music, "speech": speech},
    )
    await service.start()
    return Life(database, service, notifier)


def keyed() -> dict[str, Any]:
    return {"platform": "console", "reply_to": {}, "request_id": uuid.uuid4().hex}


def creates(fake: FakeReplicate) -> list[Any]:
    return fake.requests_to("POST", "/v1/predictions")


def cancels(fake: FakeReplicate) -> list[str]:
    return [r.path for r in fake.requests if r.method == "POST" and r.path.endswith("/cancel")]


async def ended_charged_once(life: Life, job_id: str, cost: int) -> Job:
    """The resumed job ends delivered and captured once, nothing else held."""
    done = await wait_for_state(life.service, job_id, *TERMINAL, within=15)
    assert done.state == JobState.SUCCEEDED, done
    assert life.notifier.delivered.get(job_id) == 1
    assert await spends(life.database, job_id) == 1
    balance = await life.service.ledger.balance(done.wallet_id)
    assert (balance.available, balance.held) == (10 - cost, 0)
    assert await life.service.ledger.audit() == []
    return done


async def test_music_from_words_created_before_a_crash_is_adopted_not_made_again(db_url, replicate):
    fake, clock, music, speech = replicate
    dying = DiesAfterCreate(music)
    first = await live(db_url, clock, dying, speech)
    try:
        accepted = await first.service.describe(ANN, "lofi beat with rain", 10, **keyed())
        await asyncio.wait_for(dying.died.wait(), 10)
    finally:
        await first.die()
    (made,) = fake.predictions.values()
    assert "input_audio" not in made.input and made.input["seed"] == accepted.job.seed  # the job's own seed

    second = await live(db_url, clock, music, speech)
    try:
        done = await ended_charged_once(second, accepted.job_id, accepted.cost)
        assert done.prediction_id == made.id
        assert len(creates(fake)) == 1 and cancels(fake) == []
    finally:
        await second.die()


async def test_speech_created_before_a_crash_is_adopted_not_another_jobs_with_the_same_words(db_url, replicate):
    fake, clock, music, speech = replicate
    headers = {"Authorization": f"Bearer {fake.api_token}"}
    same = {"version": KOKORO_VERSION, "input": {"text": WORDS, "voice": "af_bella", "speed": 1.0}}
    async with aiohttp.ClientSession() as http:  # the same words, ten minutes before the job
        async with http.post(f"{fake.base_url}/v1/predictions", json=same, headers=headers) as answer:
            assert answer.status == 201
    clock.advance(minutes=10)

    first = await live(db_url, clock, music, speech)  # Bo says the same words, and gets them
    try:
        said = await first.service.say(BO, WORDS, voice="female", **keyed())
        bo = await wait_for_state(first.service, said.job_id, JobState.SUCCEEDED)
    finally:
        await first.die()

    dying = DiesAfterCreate(speech)
    second = await live(db_url, clock, music, dying)
    try:
        accepted = await second.service.say(ANN, WORDS, voice="female", **keyed())
        await asyncio.wait_for(dying.died.wait(), 10)
    finally:
        await second.die()
    older, bos, anns = creates(fake)
    assert older.json == bos.json == anns.json == {**same}  # three predictions nothing tells apart but time
    ann_prediction = list(fake.predictions)[-1]

    third = await live(db_url, clock, music, speech)
    try:
        done = await ended_charged_once(third, accepted.job_id, accepted.cost)
        assert done.prediction_id == ann_prediction != bo.prediction_id
        assert len(creates(fake)) == 3 and cancels(fake) == []  # the older one is no job's: left alone
    finally:
        await third.die()


async def test_two_jobs_saying_the_same_words_both_caught_by_a_crash_each_adopt_one(sqlite_url, replicate):
    fake, clock, music, speech = replicate
    dying = DiesAfterCreate(speech)
    first = await live(sqlite_url, clock, music, dying)
    try:
        saying = [await first.service.say(who, WORDS, **keyed()) for who in (ANN, BO)]
        await wait_until(lambda: len(fake.predictions) == 2)  # both created; neither id saved
    finally:
        await first.die()

    second = await live(sqlite_url, clock, music, speech)
    try:
        done = [await ended_charged_once(second, said.job_id, said.cost) for said in saying]
        assert {job.prediction_id for job in done} == set(fake.predictions)  # one each
        assert len(creates(fake)) == 2 and cancels(fake) == []
    finally:
        await second.die()
