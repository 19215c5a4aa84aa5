"""Accepting a job: everything is checked before a credit is held, a double tap makes one job,
and a burst of requests never overdraws a wallet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.jobs import JobState
from core.domain.ledger import HoldState
from core.errors import (
    AudioEmpty,
    AudioRejected,
    AudioSilent,
    AudioTooLarge,
    AudioTooShort,
    AudioTruncated,
    AudioUnusual,
    ClipExpired,
    InsufficientCredits,
    InvalidLength,
    InvalidStyle,
    NoAudioStream,
    NotAudio,
    PromptBlocked,
    WalletFrozen,
)
from tests.audio_samples import (
    A4,
    float_wav,
    garbage_bytes,
    low_rate_flac,
    mislabelled_clip,
    noise_clip,
    png_bytes,
    silence_clip,
    stereo_clip,
    tone_clip,
    truncated_clip,
)
from tests.fakes.replicate_fake import FakeReplicate
from tests.integration.jobs_harness import (
    HUM,
    START,
    Stack,
    hold_state,
    open_stack,
    simulated_seconds,
)

ANN = Identity("discord", "2001")

REFUSED = [
    ("silence", lambda: silence_clip(), AudioSilent),
    ("a quiet room", lambda: noise_clip(amplitude=3e-4), AudioSilent),
    ("a truncated mp3", lambda: truncated_clip(fmt="mp3"), AudioTruncated),
    ("a truncated flac", lambda: truncated_clip(fmt="flac"), AudioTruncated),
    ("a truncated wav", lambda: truncated_clip(fmt="wav"), AudioTruncated),
    ("an image", png_bytes, NoAudioStream),
    ("random bytes", garbage_bytes, NotAudio),
    ("nothing", lambda: b"", AudioEmpty),
    ("half a second", lambda: tone_clip([A4], 0.5, "ogg"), AudioTooShort),
    ("a float wav of NaN", lambda: float_wav(np.full(64_000, np.nan)), AudioSilent),
    ("a 1 Hz flac", low_rate_flac, AudioUnusual),
]
ACCEPTED = [
    ("a tone", lambda: tone_clip([A4], 2.0, "ogg")),
    ("loud noise", lambda: noise_clip(amplitude=0.3)),
    ("an mp3 named .ogg", lambda: mislabelled_clip()[1]),
    ("a stereo wav", lambda: stereo_clip()),
    ("an m4a", lambda: tone_clip([A4], 2.0, "m4a")),
]


@pytest.fixture
async def stack(database) -> AsyncIterator[Stack]:
    """The service without its workers: accepted jobs stay queued with their credits held."""
    clock = ManualClock(START)
    fake = FakeReplicate(clock=simulated_seconds(clock))
    await fake.start()
    opened = await open_stack(database, fake, clock)
    yield opened
    await opened.close()
    await fake.stop()


async def assert_untouched(stack: Stack, identity: Identity = ANN) -> None:
    balance = await stack.balance(identity)
    assert (balance.available, balance.held) == (10, 0)
    assert await stack.service.jobs(identity) == []
    assert await stack.ledger.audit() == []


async def test_every_refused_recording_leaves_the_balance_untouched_and_no_hold(stack):
    for name, make, error in REFUSED:
        with pytest.raises(error):
            await stack.submit(ANN, audio=make(), request_id=f"refused-{name}")
    with pytest.raises(AudioTooLarge):
        await stack.service.submit(
            ANN,
            HUM,
            "piano",
            10,
            platform="telegram",
            reply_to={},
            request_id="big",
            max_input_bytes=1000,
        )
    await assert_untouched(stack)


async def test_recordings_that_are_fine_are_accepted_whatever_their_name_or_format(stack):
    for name, make in ACCEPTED:
        accepted = await stack.submit(ANN, seconds=5, audio=make(), request_id=f"ok-{name}")
        assert await hold_state(stack.service, accepted.job_id) == HoldState.HELD, name
    balance = await stack.balance(ANN)
    assert (balance.available, balance.held) == (10 - len(ACCEPTED), len(ACCEPTED))
    assert await stack.ledger.audit() == []


async def test_bad_lengths_and_styles_are_refused_before_anything_is_held(stack):
    with pytest.raises(InvalidLength) as length:
        await stack.submit(ANN, seconds=7)
    assert length.value.allowed == (5, 10, 15, 30)
    for style, error in [
        ("in the style of Taylor Swift", PromptBlocked),
        ("BEYONCÉ vibes", PromptBlocked),
        ("like Bohemian Rhapsody", PromptBlocked),
        ("   ", InvalidStyle),
        ("x" * 201, InvalidStyle),
    ]:
        with pytest.raises(error):
            await stack.submit(ANN, style=style)
    await assert_untouched(stack)


async def test_not_enough_credits_is_refused_with_the_numbers_before_the_intake_runs(stack):
    await stack.submit(ANN, seconds=30)  # 5 held, 5 left
    await stack.submit(ANN, seconds=15)  # 3 held, 2 left
    with pytest.raises(InsufficientCredits) as refused:
        await stack.submit(ANN, seconds=15, audio=garbage_bytes())  # garbage: the intake never ran
    assert (refused.value.required, refused.value.available) == (3, 2)


async def test_a_frozen_wallet_cannot_start_a_job(stack):
    person = await stack.service.wallets.person(ANN)
    await stack.ledger.set_frozen(person.wallet_id, True)
    with pytest.raises(WalletFrozen):
        await stack.submit(ANN)
    assert (await stack.balance(ANN)).held == 0


async def test_a_double_tap_with_the_same_request_id_makes_one_job_and_holds_once(stack):
    results = await asyncio.gather(*[stack.submit(ANN, seconds=10, request_id="tap-1") for _ in range(8)])
    assert len({r.job_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    balance = await stack.balance(ANN)
    assert (balance.available, balance.held) == (8, 2)
    assert len(await stack.service.jobs(ANN)) == 1
    assert await stack.ledger.audit() == []


async def test_200_concurrent_requests_against_10_credits_never_overdraw(stack):
    short = tone_clip([A4], 1.1, "ogg", sample_rate=16_000)  # the cheapest note to decode

    async def attempt(n: int) -> str:
        try:
            await stack.submit(ANN, seconds=5, request_id=f"burst-{n}", audio=short)
            return "accepted"
        except InsufficientCredits:
            return "refused"

    outcomes = await asyncio.gather(*[attempt(n) for n in range(200)])
    assert (outcomes.count("accepted"), outcomes.count("refused")) == (10, 190)
    balance = await stack.balance(ANN)
    assert (balance.available, balance.held) == (0, 10)
    views = await stack.service.jobs(ANN)
    assert len(views) == 10 and [v.position for v in views] == list(range(1, 11))
    assert await stack.ledger.audit() == []


async def test_again_reuses_the_kept_recording_and_fails_clearly_once_it_is_purged(stack, database):
    first = await stack.submit(ANN, seconds=5, style="piano")
    again = await stack.service.again(
        ANN,
        first.job_id,
        style="strings",
        seconds=10,
        platform="console",
        reply_to={},
        request_id="again-1",
    )
    assert (again.job.style, again.job.seconds, again.cost, again.job.source_job_id) == (
        "strings",
        10,
        2,
        first.job_id,
    )
    assert await stack.service.store.clip(again.job_id) == await stack.service.store.clip(first.job_id)
    canceled = await stack.service.cancel(ANN, first.job_id)
    assert canceled.job.state == JobState.CANCELED
    stack.clock.advance(hours=25)
    assert (
        await stack.service.store.purge_inputs(before=stack.clock.now() - stack.service.settings.input_retention) == 1
    )
    with pytest.raises(ClipExpired):
        await stack.service.again(ANN, first.job_id, platform="console", reply_to={}, request_id="again-2")
    assert await stack.service.store.clip(again.job_id) is not None  # an unfinished job keeps its clip


def test_refusals_cover_every_rejection_the_intake_has():
    covered = {error for _, _, error in REFUSED} | {AudioTooLarge}
    expected = {cls for cls in _subclasses(AudioRejected)}
    assert expected <= covered


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found
