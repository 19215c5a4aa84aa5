"""The Replicate backend, with the real `replicate` client talking to a loopback fake."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import io
import json
import math
import re
import socket
import struct
import time
import wave
from collections.abc import AsyncIterator

import av
import pytest
from aiohttp import web

from adapters.replicate import (
    ReplicateGenerator,
    parse_webhook_secret,
    verify_replicate_webhook,
    wait_for_prediction,
)
from core.domain.generation import (
    GenerationRequest,
    PredictionState,
    PredictionStatus,
    PreparedClip,
)
from core.errors import (
    GenerationFailed,
    GenerationRateLimited,
    GenerationTimedOut,
    InvalidWebhook,
    OutputUnavailable,
)
from tests.fakes.replicate_fake import PROCESSING_FOREVER, FakeReplicate, Script, tone_mp3

SECRET = "whsec_" + base64.b64encode(b"secret-key-for-tests-32-bytes!!!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-key-that-is-not-ours!!!!").decode()
MB = 1024 * 1024


class SimClock:
    """Simulated monotonic time: `sleep` advances it at once and records what was asked."""

    def __init__(self) -> None:
        self.t = 1_000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)


def wav_clip(seconds: float = 1.0, rate: int = 32_000) -> PreparedClip:
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / rate))) for i in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return PreparedClip(audio=buffer.getvalue(), sample_rate=rate, seconds=seconds)


CLIP = wav_clip()


def request(style: str = "warm piano", seconds: int = 10, seed: int = 424242) -> GenerationRequest:
    return GenerationRequest(job_id="job-1", clip=CLIP, style=style, seconds=seconds, seed=seed)


@pytest.fixture
def clock() -> SimClock:
    return SimClock()


@pytest.fixture
async def fake(clock: SimClock) -> AsyncIterator[FakeReplicate]:
    server = FakeReplicate(clock=clock.now, webhook_secret=SECRET)
    await server.start()
    yield server
    await server.stop()


def make_generator(fake: FakeReplicate, clock: SimClock, **overrides: object) -> ReplicateGenerator:
    settings: dict[str, object] = {
        "api_token": fake.api_token,
        "base_url": fake.base_url,
        "model_version_id": fake.model_version_id,
        "http_timeout_seconds": 5.0,
        "sleep": clock.sleep,
    }
    settings.update(overrides)
    return ReplicateGenerator(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def generator(fake: FakeReplicate, clock: SimClock) -> AsyncIterator[ReplicateGenerator]:
    backend = make_generator(fake, clock)
    yield backend
    await backend.aclose()


async def wait(
    generator: ReplicateGenerator,
    prediction_id: str,
    clock: SimClock,
    deadline: float = 600,
    interval: float = 5,
) -> PredictionStatus:
    return await wait_for_prediction(
        generator,
        prediction_id,
        deadline_seconds=deadline,
        interval_seconds=interval,
        clock=clock.now,
        sleep=clock.sleep,
    )


# --- the happy path --------------------------------------------------------------------------


async def test_a_clip_is_submitted_polled_and_its_mp3_downloaded(fake, generator, clock):
    prediction_id = await generator.submit(request(), webhook_url=None)
    status = await wait(generator, prediction_id, clock)
    audio = await generator.download(status, max_bytes=10 * MB)

    assert status.state is PredictionState.SUCCEEDED
    assert status.output_url == f"{fake.base_url}/delivery/{prediction_id}/output.mp3"
    assert audio == tone_mp3()
    with av.open(io.BytesIO(audio)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name.startswith("mp3")
        assert sum(frame.samples for frame in container.decode(stream)) > 40_000
    # The clip went up once, as our exact WAV bytes.
    (uploaded,) = fake.files.values()
    assert uploaded.sha256 == hashlib.sha256(CLIP.audio).hexdigest()
    assert (uploaded.name, uploaded.content_type) == ("melody-job-1.wav", "audio/wav")  # names its job
    # The output host never sees our API token.
    (output_get,) = fake.requests_to("GET", "/delivery/")
    assert "Authorization" not in output_get.headers


async def test_the_create_request_carries_our_inputs_and_no_bot_token_url(fake, generator):
    await generator.submit(
        request("lofi hip hop", seconds=15, seed=987654321),
        webhook_url="https://hooks.example.com/replicate",
    )

    (create,) = fake.requests_to("POST", "/v1/predictions")
    body = create.json
    assert body["version"] == fake.model_version_id
    inputs = body["input"]
    assert inputs["prompt"] == "lofi hip hop"
    assert inputs["duration"] == 15
    assert inputs["seed"] == 987654321
    assert inputs["model_version"] == "stereo-melody-large"
    assert inputs["output_format"] == "mp3"
    assert inputs["normalization_strategy"] in {"loudness", "peak", "rms", "clip"}
    assert inputs["input_audio"].startswith(f"{fake.base_url}/v1/files/")
    assert body["webhook"] == "https://hooks.example.com/replicate"
    assert body["webhook_events_filter"] == ["completed"]
    assert create.headers["Authorization"] == f"Bearer {fake.api_token}"
    assert "Prefer" not in create.headers  # no blocking `wait` mode (replicate-python #385)
    sent = json.dumps(body)
    assert not re.search(r"\d{5,}:[A-Za-z0-9_-]{30,}", sent)  # a Telegram bot token
    assert not re.search(r"/(file/)?bot\d+:", sent)  # a Bot API file URL
    assert "telegram" not in sent and "discord" not in sent


# --- prediction outcomes ---------------------------------------------------------------------


async def test_a_model_failure_is_reported_as_failed_with_its_error(fake, generator, clock):
    fake.scripts_by_prompt["broken"] = Script(outcome="failed", error="CUDA error: out of memory")

    prediction_id = await generator.submit(request("broken"), webhook_url=None)
    status = await wait(generator, prediction_id, clock)

    assert status.state is PredictionState.FAILED
    assert status.error == "CUDA error: out of memory"
    assert status.output_url is None


async def test_a_prediction_still_processing_after_60_simulated_seconds_is_polled_to_success(fake, generator, clock):
    fake.default_script = Script(after_polls=None, after_seconds=95)
    started = clock.now()

    prediction_id = await generator.submit(request(), webhook_url=None)
    status = await wait(generator, prediction_id, clock, deadline=600, interval=5)

    assert status.state is PredictionState.SUCCEEDED
    assert clock.now() - started >= 95
    polls = fake.requests_to("GET", f"/v1/predictions/{prediction_id}")
    assert len(polls) == 20  # t=0,5,...,95: well past the 60 s mark where async_run gives up
    assert not fake.requests_to("POST", f"/v1/predictions/{prediction_id}/cancel")


async def test_the_deadline_cancels_the_prediction_and_raises_timed_out(fake, generator, clock):
    fake.default_script = PROCESSING_FOREVER
    started = clock.now()

    prediction_id = await generator.submit(request(), webhook_url=None)
    with pytest.raises(GenerationTimedOut):
        await wait(generator, prediction_id, clock, deadline=32, interval=5)

    assert clock.now() - started == 32  # the last sleep is cut to the deadline, not past it
    assert len(fake.requests_to("POST", f"/v1/predictions/{prediction_id}/cancel")) == 1
    assert fake.predictions[prediction_id].status == "canceled"


@pytest.mark.parametrize(
    ("outcome", "state", "error"),
    [
        ("canceled", PredictionState.CANCELED, None),
        ("aborted", PredictionState.FAILED, "aborted by Replicate before it started"),
    ],
)
async def test_canceled_and_aborted_predictions_finish_the_wait(fake, generator, clock, outcome, state, error):
    fake.default_script = Script(outcome=outcome, after_polls=1)

    prediction_id = await generator.submit(request(), webhook_url=None)
    status = await wait(generator, prediction_id, clock)

    assert (status.state, status.error) == (state, error)
    assert clock.sleeps == []  # finished on the first poll, "aborted" included (SDK can't model it)


async def test_an_output_given_as_a_list_is_downloaded_from_its_first_url(fake, generator, clock):
    fake.default_script = Script(after_polls=1, output_as_list=True)

    prediction_id = await generator.submit(request(), webhook_url=None)
    status = await wait(generator, prediction_id, clock)

    assert status.output_url == f"{fake.base_url}/delivery/{prediction_id}/output.mp3"
    assert await generator.download(status, max_bytes=MB) == tone_mp3()


async def test_the_status_of_an_unknown_prediction_is_a_final_failure(fake, generator, clock):
    with pytest.raises(GenerationFailed) as caught:
        await generator.status("doesnotexist")
    assert (caught.value.reason, caught.value.retryable) == ("not_found", False)
    with pytest.raises(GenerationFailed):  # the poller does not spin on a final error
        await wait(generator, "doesnotexist", clock)
    assert clock.sleeps == []


async def test_cancel_is_best_effort_and_never_raises(fake, generator, clock):
    fake.default_script = Script(after_polls=0)
    prediction_id = await generator.submit(request(), webhook_url=None)

    await generator.cancel(prediction_id)  # already succeeded: nothing changes
    await generator.cancel("doesnotexist")  # 404: logged, not raised

    assert fake.predictions[prediction_id].status == "succeeded"
    assert len(fake.requests_to("POST", "/v1/predictions/doesnotexist/cancel")) == 1


# --- output download -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output_status", "output_size", "declares_length"),
    [(404, None, True), (500, None, True), (200, 5 * MB, True), (200, 5 * MB, False)],
    ids=["404", "500", "too-large-declared", "too-large-streamed"],
)
async def test_an_output_that_cannot_be_fetched_within_limits_is_unavailable(
    fake, generator, clock, output_status, output_size, declares_length
):
    fake.default_script = Script(after_polls=0)
    fake.output_status, fake.output_size = output_status, output_size
    fake.output_declares_length = declares_length
    prediction_id = await generator.submit(request(), webhook_url=None)
    status = await generator.status(prediction_id)

    with pytest.raises(OutputUnavailable):
        await generator.download(status, max_bytes=1 * MB)


async def test_an_output_cut_off_midway_is_unavailable(generator):
    async def cut_off(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: 100000\r\n\r\n" + b"ID3" * 10)
        await writer.drain()
        writer.close()

    server, url = await _raw_server(cut_off)
    try:
        status = PredictionStatus("p1", PredictionState.SUCCEEDED, output_url=f"{url}/out.mp3")
        with pytest.raises(OutputUnavailable):
            await generator.download(status, max_bytes=MB)
    finally:
        server.close()


async def test_a_status_without_an_output_url_is_unavailable(generator):
    status = PredictionStatus("p1", PredictionState.SUCCEEDED, output_url=None)
    with pytest.raises(OutputUnavailable):
        await generator.download(status, max_bytes=MB)


# --- failures on create ----------------------------------------------------------------------


async def test_a_rate_limited_create_is_retried_after_retry_after_then_succeeds(fake, generator, clock):
    fake.fail_creates(429, count=2, retry_after=7)

    prediction_id = await generator.submit(request(), webhook_url=None)

    assert prediction_id in fake.predictions
    assert clock.sleeps == [7, 7]
    assert len(fake.requests_to("POST", "/v1/predictions")) == 3
    assert len(fake.files) == 1  # the clip is not uploaded again for each attempt


async def test_a_create_that_stays_rate_limited_raises_rate_limited(fake, generator, clock):
    fake.fail_creates(429, count=100, retry_after=3)

    with pytest.raises(GenerationRateLimited) as caught:
        await generator.submit(request(), webhook_url=None)

    assert caught.value.retry_after_seconds == 3
    assert clock.sleeps == [3, 3, 3]
    assert len(fake.requests_to("POST", "/v1/predictions")) == 4
    assert fake.predictions == {}


async def test_a_retry_after_longer_than_we_wait_gives_up_at_once(fake, generator, clock):
    fake.fail_creates(429, count=1, retry_after=3600)

    with pytest.raises(GenerationRateLimited) as caught:
        await generator.submit(request(), webhook_url=None)

    assert caught.value.retry_after_seconds == 3600
    assert clock.sleeps == []


async def test_a_server_error_on_create_is_retryable_and_not_retried_here(fake, generator, clock):
    fake.fail_creates(500, count=1)

    with pytest.raises(GenerationFailed) as caught:
        await generator.submit(request(), webhook_url=None)

    assert not isinstance(caught.value, GenerationRateLimited)
    assert (caught.value.reason, caught.value.retryable) == ("server_error", True)
    # A 5xx may have created the prediction: retrying here could run (and bill) it twice.
    assert len(fake.requests_to("POST", "/v1/predictions")) == 1


async def test_a_create_the_api_refuses_is_a_final_failure(fake, clock):
    backend = make_generator(fake, clock, model_version_id="0" * 64)
    try:
        with pytest.raises(GenerationFailed) as caught:
            await backend.submit(request(), webhook_url=None)
    finally:
        await backend.aclose()
    assert (caught.value.reason, caught.value.retryable) == ("rejected", False)
    assert fake.predictions == {}


async def test_a_wrong_api_token_is_a_final_failure(fake, clock):
    backend = make_generator(fake, clock, api_token="r8_wrong")
    try:
        with pytest.raises(GenerationFailed) as caught:
            await backend.submit(request(), webhook_url=None)
    finally:
        await backend.aclose()
    assert (caught.value.reason, caught.value.retryable) == ("unauthorized", False)
    assert "r8_wrong" not in str(caught.value)


async def test_an_unreachable_api_is_a_retryable_failure(clock):
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = ReplicateGenerator(
        api_token="r8_x",
        model_version_id="v",
        base_url=f"http://127.0.0.1:{port}",
        sleep=clock.sleep,
    )
    try:
        with pytest.raises(GenerationFailed) as caught:
            await backend.submit(request(), webhook_url=None)
    finally:
        await backend.aclose()
    assert (caught.value.reason, caught.value.retryable) == ("network_error", True)


async def _raw_server(handle) -> tuple[asyncio.Server, str]:  # type: ignore[no-untyped-def]
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_an_api_that_hangs_up_or_never_answers_is_told_apart(clock):
    """A connection the API closes is a network error; one it holds silent past the timeout is a
    timeout; both retryable, nothing created. (The requests go through aiohttp underneath, whose
    errors must come out as httpx's own transport would name them.)"""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)
        writer.close()

    for handle, expected in ((hang_up, "network_error"), (say_nothing, "timeout")):
        server, url = await _raw_server(handle)
        backend = ReplicateGenerator(
            api_token="r8_x",
            model_version_id="v",
            base_url=url,
            sleep=clock.sleep,
            http_timeout_seconds=0.3,
            upload_timeout_seconds=0.3,  # a clip's submit begins with its upload
            max_submit_attempts=1,
        )
        try:
            with pytest.raises(GenerationFailed) as caught:
                await backend.submit(request(), webhook_url=None)
        finally:
            await backend.aclose()
            server.close()
        assert (caught.value.reason, caught.value.retryable) == (expected, True), handle.__name__


# --- webhooks --------------------------------------------------------------------------------


@pytest.fixture
async def finished_prediction(fake, generator) -> str:
    prediction_id = await generator.submit(request(), webhook_url=None)
    await fake.finish(prediction_id, "succeeded")
    return prediction_id


async def test_a_validly_signed_webhook_yields_the_prediction_status(fake, finished_prediction):
    body, headers = fake.signed_webhook(finished_prediction)

    status = verify_replicate_webhook(body, headers, SECRET, now=time.time())

    assert status == PredictionStatus(
        finished_prediction,
        PredictionState.SUCCEEDED,
        output_url=f"{fake.base_url}/delivery/{finished_prediction}/output.mp3",
        compute_seconds=1.0,  # the billed GPU time the webhook reports (`metrics.predict_time`)
    )


async def test_a_duplicate_delivery_verifies_the_same(fake, finished_prediction):
    body, headers = fake.signed_webhook(finished_prediction)
    now = time.time()

    first = verify_replicate_webhook(body, headers, SECRET, now=now)
    again = verify_replicate_webhook(body, headers, SECRET, now=now + 30)

    assert first == again


async def test_webhook_header_names_are_case_insensitive(fake, finished_prediction):
    body, headers = fake.signed_webhook(finished_prediction)
    shouted = {name.title(): value for name, value in headers.items()}

    assert verify_replicate_webhook(body, shouted, SECRET, now=time.time()).state == "succeeded"


def test_a_malformed_webhook_secret_is_a_configuration_error_that_hides_the_secret():
    with pytest.raises(ValueError) as caught:
        parse_webhook_secret("whsec_not*base64")
    assert "not*base64" not in str(caught.value)
    with pytest.raises(ValueError):
        parse_webhook_secret("plainsecret")
    assert parse_webhook_secret(SECRET) == b"secret-key-for-tests-32-bytes!!!"


async def test_any_one_valid_signature_among_several_is_enough(fake, finished_prediction):
    body, headers = fake.signed_webhook(finished_prediction)
    _, other = fake.signed_webhook(
        finished_prediction,
        secret=OTHER_SECRET,
        webhook_id=headers["webhook-id"],
        timestamp=int(headers["webhook-timestamp"]),
    )
    headers["webhook-signature"] = f"v1,bm90LWl0 {other['webhook-signature']} " + headers["webhook-signature"]

    status = verify_replicate_webhook(body, headers, SECRET, now=time.time())

    assert status.state is PredictionState.SUCCEEDED


def _forged(fake: FakeReplicate, prediction_id: str) -> tuple[bytes, dict[str, str]]:
    body, headers = fake.signed_webhook(prediction_id)
    return body.replace(b'"succeeded"', b'"failed"'), headers


def _wrong_secret(fake: FakeReplicate, prediction_id: str) -> tuple[bytes, dict[str, str]]:
    return fake.signed_webhook(prediction_id, secret=OTHER_SECRET)


def _stale(fake: FakeReplicate, prediction_id: str) -> tuple[bytes, dict[str, str]]:
    return fake.signed_webhook(prediction_id, timestamp=int(time.time()) - 301)


def _from_the_future(fake: FakeReplicate, prediction_id: str) -> tuple[bytes, dict[str, str]]:
    return fake.signed_webhook(prediction_id, timestamp=int(time.time()) + 301)


def _not_json(fake: FakeReplicate, prediction_id: str) -> tuple[bytes, dict[str, str]]:
    return fake.signed_webhook(b"<html>not json</html>")  # properly signed, wrong shape


def _not_a_prediction(fake: FakeReplicate, prediction_id: str) -> tuple[bytes, dict[str, str]]:
    return fake.signed_webhook(b'["a", "list"]')


def _bad_timestamp(fake: FakeReplicate, prediction_id: str) -> tuple[bytes, dict[str, str]]:
    body, headers = fake.signed_webhook(prediction_id)
    headers["webhook-timestamp"] = "yesterday"
    return body, headers


def _missing_signature(fake: FakeReplicate, prediction_id: str) -> tuple[bytes, dict[str, str]]:
    body, headers = fake.signed_webhook(prediction_id)
    del headers["webhook-signature"]
    return body, headers


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_forged, "bad_signature"),
        (_wrong_secret, "bad_signature"),
        (_stale, "stale_timestamp"),
        (_from_the_future, "stale_timestamp"),
        (_not_json, "not_json"),
        (_not_a_prediction, "not_a_prediction"),
        (_bad_timestamp, "bad_timestamp"),
        (_missing_signature, "missing_header"),
    ],
    ids=[
        "forged",
        "wrong-secret",
        "stale",
        "future",
        "not-json",
        "not-a-prediction",
        "bad-timestamp",
        "missing-signature",
    ],
)
async def test_an_untrustworthy_webhook_is_refused(fake, finished_prediction, make, reason):
    body, headers = make(fake, finished_prediction)

    with pytest.raises(InvalidWebhook) as caught:
        verify_replicate_webhook(body, headers, SECRET, now=time.time())

    assert caught.value.reason == reason


async def test_the_fake_delivers_a_signed_webhook_that_verifies(fake, generator, clock):
    received: list[PredictionStatus] = []

    async def receive(http_request: web.Request) -> web.Response:
        try:
            status = verify_replicate_webhook(await http_request.read(), http_request.headers, SECRET, now=time.time())
        except InvalidWebhook:
            return web.Response(status=401)
        received.append(status)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/replicate", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks/replicate"
    try:
        prediction_id = await generator.submit(request(), webhook_url=hook_url)
        await wait(generator, prediction_id, clock)
        await fake.wait_for(lambda: bool(fake.webhook_deliveries))
    finally:
        await runner.cleanup()

    assert [d.response_status for d in fake.webhook_deliveries] == [204]
    assert [(s.prediction_id, s.state) for s in received] == [(prediction_id, PredictionState.SUCCEEDED)]


# --- many at once ----------------------------------------------------------------------------


async def test_a_hundred_concurrent_jobs_complete_against_the_real_time_fake():
    server = FakeReplicate(latency_seconds=0.2)
    await server.start()
    backend = ReplicateGenerator(
        api_token=server.api_token,
        base_url=server.base_url,
        model_version_id=server.model_version_id,
    )

    async def one(index: int) -> bytes:
        prediction_id = await backend.submit(request(seed=index), webhook_url=None)
        status = await wait_for_prediction(backend, prediction_id, deadline_seconds=20, interval_seconds=0.1)
        return await backend.download(status, max_bytes=MB)

    try:
        outputs = await asyncio.gather(*(one(i) for i in range(100)))
    finally:
        await backend.aclose()
        await server.stop()

    assert all(audio == tone_mp3() for audio in outputs)
    assert len(server.predictions) == 100
    assert {p.input["seed"] for p in server.predictions.values()} == set(range(100))


# --- finding a job's prediction after a crash ------------------------------------------------


async def test_find_reads_pages_back_to_when_the_job_was_claimed(fake, generator):
    fake.list_page_size = 2
    refs: list[str] = []

    async def note(ref: str) -> None:
        refs.append(ref)

    first = await generator.submit(request(seed=1), webhook_url=None, before_create=note)
    for seed in range(2, 6):  # four newer predictions of other jobs: the first is on page 3
        await generator.submit(request(seed=seed), webhook_url=None)

    found = await generator.find(refs[0], since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    assert [s.prediction_id for s in found] == [first]
    listed = [r for r in fake.requests if (r.method, r.path) == ("GET", "/v1/predictions")]
    assert len(listed) == 3

    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # claimed after all of them
    assert await generator.find(refs[0], since=later) == []
    assert len([r for r in fake.requests if (r.method, r.path) == ("GET", "/v1/predictions")]) == 4
