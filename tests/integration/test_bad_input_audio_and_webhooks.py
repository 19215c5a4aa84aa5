"""What an attacker uploads or POSTs, generated: WAV headers that lie (rate, channels, sample
format, sizes) and files that are numbers rather than sound, through the real PyAV intake; and
webhook bodies (any JSON, nested deep, not JSON at all), validly signed, through the real web
server and the real Stripe and Replicate verifiers. Each gets a clear refusal, never a 500 or an
unexpected log line, and no credit moves."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
import tracemalloc
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.audio import PyAVIntake
from adapters.audio.decoding import MAX_CHANNELS, MIN_SAMPLE_RATE
from adapters.replicate import parse_webhook_secret, verify_replicate_webhook
from adapters.stripe import StripeCheckout
from adapters.web.bodies import MAX_DEPTH, json_object
from adapters.web.hooks import WebHooks
from adapters.web.server import application
from core.domain.payments import PaymentEvent
from core.errors import AudioRejected, AudioSilent, AudioUnusual, InvalidWebhook
from tests.audio_samples import float_wav, low_rate_flac, wav
from tests.fakes.stripe_fake import sign_payload
from tests.unit.conversation_kit import button, kit

LIMIT = 20_000_000
CORPUS = settings(
    max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def unexpected(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# --- audio ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def intake() -> PyAVIntake:
    return PyAVIntake()


@pytest.mark.parametrize(
    "values",
    [np.full(64_000, np.nan), np.full(64_000, np.inf), np.tile([np.inf, -np.inf], 32_000)],
    ids=["nan", "inf", "plus-minus-inf"],
)
def test_a_float_file_of_nan_or_infinity_is_refused_as_silent(intake: PyAVIntake, values: np.ndarray) -> None:
    with pytest.raises(AudioSilent):
        intake.prepare(float_wav(values), max_bytes=LIMIT, max_seconds=30)


def test_a_sound_with_nan_sprinkled_in_is_refused_too(intake: PyAVIntake) -> None:
    tone = 0.3 * np.sin(np.arange(64_000) / 5.0)
    tone[::1000] = np.nan
    with pytest.raises(AudioSilent):
        intake.prepare(float_wav(tone), max_bytes=LIMIT, max_seconds=30)


def test_float_samples_far_past_full_scale_come_out_as_a_usable_clip(intake: PyAVIntake) -> None:
    loud = 3e38 * np.sin(np.arange(64_000) / 5.0)
    clip = intake.prepare(float_wav(loud), max_bytes=LIMIT, max_seconds=30)
    pcm = np.frombuffer(clip.audio[44:], "<i2")
    assert clip.seconds == 2.0 and 20_000 < np.abs(pcm).max() < 32_768


def test_a_one_hertz_flac_is_refused_from_its_header_before_anything_is_resampled(intake: PyAVIntake) -> None:
    data = low_rate_flac()
    tracemalloc.start()
    try:
        with pytest.raises(AudioUnusual) as refused:
            intake.prepare(data, max_bytes=LIMIT, max_seconds=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (refused.value.sample_rate, refused.value.channels) == (1, 1)
    assert peak < 5 * 1024 * 1024  # the old decode of this 100 kB file held ~160 MB


@CORPUS
@given(
    rate=st.one_of(st.integers(0, 2**32 - 1), st.sampled_from([1, 100, 3_999, 8_000, 44_100, 384_001])),
    channels=st.one_of(st.integers(0, 300), st.integers(1, 2)),
    tag=st.sampled_from([1, 3, 6, 7, 0xFFFE, 0, 2]),
    bits=st.sampled_from([0, 8, 16, 24, 32, 64, 7]),
    body=st.binary(min_size=0, max_size=4096).map(lambda b: b * 16),
    lie=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
)
def test_a_wav_header_lying_about_anything_gets_a_clip_or_an_audio_refusal(
    intake: PyAVIntake, rate: int, channels: int, tag: int, bits: int, body: bytes, lie: int | None
) -> None:
    data = wav(body, rate=rate, channels=channels, tag=tag, bits=bits, data_size=lie)
    try:
        clip = intake.prepare(data, max_bytes=LIMIT, max_seconds=30)
    except AudioRejected as refused:
        if isinstance(refused, AudioUnusual):
            assert not MIN_SAMPLE_RATE <= refused.sample_rate <= 384_000 or refused.channels > MAX_CHANNELS
        return
    pcm = np.frombuffer(clip.audio[44:], "<i2")
    assert 1.0 <= clip.seconds <= 30.0 and len(pcm) == round(clip.seconds * clip.sample_rate)


async def test_a_recording_of_nan_is_refused_before_any_credit_is_held(tmp_path: Path) -> None:
    app = kit(tmp_path)
    try:
        await app.say("telegram:5", "/balance")
        numbers = float_wav(np.full(64_000, np.nan))
        picker = await app.send_recording("telegram:5", numbers)
        before = app.movements()
        pressed = await app.press("telegram:5", button(picker, "🎹 5s"), audio=numbers)
        assert pressed.text == "That recording is silent. Hum or play a melody and send it again."
        assert app.movements() == before
        assert await app.available("telegram:5") == 10
    finally:
        await app.app.close()


# --- webhook bodies -----------------------------------------------------------------------------

STRIPE_SECRET = "whsec_corpus"
REPLICATE_SECRET = "whsec_" + base64.b64encode(b"corpus-key-for-replicate-32-byte").decode()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=30,
)


def nested(depth: int, opener: str = "[", closer: str = "]") -> bytes:
    return (opener * depth + closer * depth).encode()


HOSTILE_BODIES = st.one_of(
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["id", "type", "status", "data", "update_id", "output"]), JSON_VALUES).map(
        lambda v: json.dumps(v).encode()
    ),
    st.integers(MAX_DEPTH - 2, 200_000).map(nested),
    st.integers(1, 5_000).map(lambda d: b'{"a":' * d + b"1" + b"}" * d),
    st.binary(max_size=200),
    st.sampled_from([b"null", b"[]", b'"x"', b"NaN", b'{"id": Infinity}', b"1" * 5000, b"\xff\xfe{}", b""]),
)


def replicate_headers(body: bytes) -> dict[str, str]:
    webhook_id, stamp = "msg_corpus", str(int(time.time()))
    mac = hmac.new(parse_webhook_secret(REPLICATE_SECRET), f"{webhook_id}.{stamp}.".encode() + body, hashlib.sha256)
    signature = base64.b64encode(mac.digest()).decode()
    return {"webhook-id": webhook_id, "webhook-timestamp": stamp, "webhook-signature": f"v1,{signature}"}


@given(HOSTILE_BODIES)
@settings(max_examples=200, deadline=None, database=None)
def test_a_body_is_a_shallow_json_object_or_a_typed_refusal(raw: bytes) -> None:
    try:
        found = json_object(raw)
    except InvalidWebhook as refused:
        assert refused.reason in {"not_json", "not_an_object", "too_deep"}
    else:
        assert isinstance(found, dict)


@pytest.fixture
def web() -> Iterator[tuple[asyncio.AbstractEventLoop, TestClient, list[object]]]:
    """The real web application, Stripe's and Replicate's real verifiers behind it; what they
    let through is recorded (applying it is the services' business, tested elsewhere)."""
    loop = asyncio.new_event_loop()
    applied: list[object] = []

    async def on_stripe(event: PaymentEvent) -> SimpleNamespace:
        applied.append(event)
        return SimpleNamespace(outcome="recorded")

    async def on_replicate(body: bytes, headers: Mapping[str, str]) -> None:
        applied.append(verify_replicate_webhook(body, headers, REPLICATE_SECRET, now=time.time()))

    async def healthy() -> bool:
        return True

    hooks = WebHooks(
        health=healthy,
        text=str,
        parse_stripe=StripeCheckout(None, STRIPE_SECRET).parse_webhook,
        on_stripe_event=on_stripe,  # type: ignore[arg-type]
        on_replicate_webhook=on_replicate,
    )
    client = TestClient(TestServer(application(hooks)), loop=loop)
    loop.run_until_complete(client.start_server())
    yield loop, client, applied
    loop.run_until_complete(client.close())
    loop.close()


def test_every_json_endpoint_answers_a_body_it_cannot_use_with_400_and_logs_no_traceback(
    web: tuple[asyncio.AbstractEventLoop, TestClient, list[object]], caplog: pytest.LogCaptureFixture
) -> None:
    loop, client, applied = web
    caplog.set_level(logging.INFO)

    async def post(path: str, body: bytes, headers: dict[str, str]) -> int:
        async with client.post(path, data=body, headers=headers) as response:
            return response.status

    @CORPUS
    @given(HOSTILE_BODIES)
    def check(raw: bytes) -> None:
        stripe_status = loop.run_until_complete(
            post("/webhooks/stripe", raw, {"Stripe-Signature": sign_payload(raw, STRIPE_SECRET)})
        )
        replicate_status = loop.run_until_complete(post("/webhooks/replicate", raw, replicate_headers(raw)))
        assert stripe_status in (200, 400) and replicate_status in (200, 400)
        try:
            json_object(raw)
        except InvalidWebhook:
            assert (stripe_status, replicate_status) == (400, 400)

    check()
    assert unexpected(caplog) == []
    assert all(not isinstance(event, Exception) for event in applied)


def test_an_oversized_header_is_answered_400_with_one_warning_and_no_traceback(
    web: tuple[asyncio.AbstractEventLoop, TestClient, list[object]], caplog: pytest.LogCaptureFixture
) -> None:
    loop, client, applied = web
    caplog.set_level(logging.INFO)

    async def post() -> int:
        async with client.post("/webhooks/stripe", data=b"{}", headers={"X-Padding": "x" * 100_000}) as response:
            return response.status

    assert loop.run_until_complete(post()) == 400
    assert unexpected(caplog) == []
    assert [r.getMessage() for r in caplog.records if r.name == "aiohttp.server"] == [
        "Error handling request from 127.0.0.1: LineTooLong"
    ]
    assert applied == []
