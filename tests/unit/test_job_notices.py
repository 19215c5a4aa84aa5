"""The words around a job, the same on every platform: the status message's head (what the job
holds and what is left), its stage lines, the charge once the clip is delivered (and the offer
when that left the balance low), the failure that says nothing was charged, and /jobs.

They are written once, by the job notices (`adapters.chat.jobs`) and the shared words
(`adapters.chat.words`); a platform only shows what it is handed (here a fake that records it)."""

from __future__ import annotations

import datetime as dt

from adapters.chat.actions import Verb
from adapters.chat.catalogue import Catalogue
from adapters.chat.jobs import JobNotices
from adapters.chat.messages import Button, Request, Surface
from adapters.chat.offers import Offers, Shop
from adapters.chat.platform import Platforms
from adapters.chat.words import Words
from core.domain.generation import GeneratedClip
from core.domain.identity import Identity
from core.domain.jobs import Job, JobProgress, JobState, JobView, Stage
from core.domain.ledger import Balance
from core.domain.offers import offer_for
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rules import CreditRules
from core.errors import AudioSilent, GenerationTimedOut, JobCanceled
from core.services.generation import Accepted
from tests.fakes.chat import PacksOnSale, RecordingPlatform

WORDS = Words(Catalogue())
RULES = CreditRules(Pricing({5: 1, 10: 2}), PackTable((Pack("starter", 100, 500),)))
SURFACE = Surface("telegram")
PERSON = Identity("telegram", "1")
NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)


def job(**values: object) -> Job:
    base: dict[str, object] = dict(
        job_id="j1",
        request_key="k",
        person_id=1,
        wallet_id=1,
        identity=PERSON.key,
        platform="telegram",
        reply_to={},
        style="warm piano",
        seconds=10,
        cost=2,
    )
    base.update(values)
    return Job(**base)  # type: ignore[arg-type]


def balance(available: int) -> Balance:
    return Balance(1, free=available, paid=0, held=0)


def request(**values: object) -> Request:
    return Request(PERSON, SURFACE, "r1", **values)  # type: ignore[arg-type]


def notices(left: int = 5) -> tuple[JobNotices, RecordingPlatform]:
    platforms = Platforms()
    platform = RecordingPlatform(SURFACE)
    platforms.register(platform)
    offers = Offers(WORDS, Shop(PacksOnSale(card=RULES.packs.packs)))  # type: ignore[arg-type]

    async def available(wallet_id: int) -> Balance:
        return balance(left)

    return JobNotices(platforms, WORDS, offers, RULES.pricing, available=available), platform


async def test_the_cost_is_shown_before_and_the_charge_after():
    jobs, platform = notices(left=5)
    await jobs.accepted(Accepted(job(), 2, balance(7), queue_position=None), request())
    assert (
        platform.status_text
        == "🎵 warm piano · 10 s · 2 credits held · 7 left to use\nStarting your 10 s warm piano clip…"
    )
    assert await jobs.deliver(job(), GeneratedClip(b"mp3", "mp3", 10.0)) is True
    assert platform.clips[-1].charge == "−2 credits · 5 left"
    await jobs.finished(job(), 2, balance(5), None)
    assert (
        platform.status_text == "✅ Done! −2 credits · 5 left" and platform.statuses[-1].charge == "−2 credits · 5 left"
    )
    assert platform.after == []  # not low: no offer
    assert WORDS.charged(None, 2, 5) == "−2 credits · 5 left"
    assert WORDS.charged(None, 1, 6) == "−1 credit · 6 left"
    assert WORDS.charged(None, 0, 6) == "This one is on us · 6 credits left"


async def test_a_clip_sent_again_after_a_restart_says_so_and_a_first_delivery_does_not():
    jobs, platform = notices(left=5)
    await jobs.deliver(job(), GeneratedClip(b"mp3", "mp3", 10.0, resent=True))
    again = platform.clips[-1]
    note = "↻ Sent again after a restart: if this clip reached you already, it is still charged once."
    assert again.caption == f"🎵 Your 10 s warm piano clip\n{note}" and again.note == note
    await jobs.deliver(job(), GeneratedClip(b"mp3", "mp3", 10.0))
    assert (platform.clips[-1].caption, platform.clips[-1].note) == ("🎵 Your 10 s warm piano clip", "")


async def test_a_job_held_before_its_status_began_still_names_its_cost():
    """After a restart the head is rebuilt from the job: what it holds, without what is left."""
    jobs, platform = notices()
    await jobs.progress(job(cost=1, seconds=5), JobProgress(Stage.STARTED))
    assert platform.status_text == "🎵 warm piano · 5 s · 1 credit held\nStarting your 5 s warm piano clip…"


async def test_a_low_balance_after_the_charge_shows_the_packs():
    jobs, platform = notices(left=2)
    await jobs.finished(job(), 2, balance(2), offer_for(balance(2), RULES))
    assert platform.status_text == "✅ Done! −2 credits · 2 left"
    [offer] = platform.after
    assert offer.text.startswith("You have 2 credits left.") and "Starter: 100 credits for $5" in offer.text
    assert [c.label for c in offer.controls] == [
        "💳 Starter: 100 credits for $5",
        "💬 Contact support",
        "Continue with free",
    ]


async def test_every_failure_says_in_plain_words_that_nothing_was_charged():
    jobs, platform = notices()
    await jobs.failed(job(), GenerationTimedOut(), balance(10))
    assert platform.status_text == (
        "The music generator took too long. Your 2 credits were not charged.\nYou have 10 credits."
    )
    [[retry]] = platform.statuses[-1].reply.rows
    assert isinstance(retry, Button) and retry.label == "🔁 Try again" and retry.action.verb == Verb.AGAIN

    await jobs.failed(job(job_id="j2", cost=1), JobCanceled("j2"), balance(10))
    assert platform.status_text == "Canceled. Your 1 credit was not charged.\nYou have 10 credits."
    assert platform.statuses[-1].reply.rows == ()  # nothing to try again

    await jobs.failed(job(job_id="j3"), AudioSilent(), balance(10))
    assert "silent" in platform.status_text and "Your 2 credits were not charged." in platform.status_text

    assert WORDS.not_charged(None, 2) == "Your 2 credits were not charged."
    assert WORDS.not_charged(None, 1) == "Your 1 credit was not charged."


async def test_progress_and_the_job_list():
    jobs, platform = notices()
    await jobs.progress(job(), JobProgress(Stage.QUEUED, 3, 150))
    assert platform.status_text.splitlines()[1] == "Queued: #3 in line · about 2 min"
    await jobs.progress(job(), JobProgress(Stage.GENERATING))
    assert platform.status_text.splitlines()[1] == "Generating your 10 s warm piano clip…"

    listing = WORDS.jobs(request(), [JobView(job(), None), JobView(job(job_id="j2", state=JobState.QUEUED), 4)])
    assert listing.splitlines()[1:] == [
        "j1 · 10 s warm piano · queued · 2 credits held",
        "j2 · 10 s warm piano · queued (#4 in line) · 2 credits held",
    ]
    assert WORDS.jobs(request(), []) == "No jobs running."
    assert WORDS.job_charge(None, job(state=JobState.SUCCEEDED)) == "−2 credits"
    assert WORDS.job_charge(None, job(state=JobState.FAILED, cost=1)) == "not charged"
    assert WORDS.job_charge(None, job(state=JobState.RUNNING, cost=1)) == "1 credit held"
