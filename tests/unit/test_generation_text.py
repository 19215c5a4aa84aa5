"""The words around a job, the same on every platform."""

from __future__ import annotations

from adapters.chat.catalogue import Catalogue
from adapters.chat.generation_text import GenerationText
from adapters.chat.render import Renderer
from core.domain.jobs import Job, JobProgress, JobState, JobView, Stage
from core.domain.ledger import Balance
from core.domain.offers import offer_for
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rules import CreditRules
from core.errors import AudioSilent, GenerationTimedOut, JobCanceled
from core.services.generation import Canceled, Quote

TEXT = GenerationText(Renderer(Catalogue()))
RULES = CreditRules(Pricing({5: 1, 10: 2}), PackTable((Pack("starter", 100, 500),)))


def job(**values: object) -> Job:
    base: dict[str, object] = dict(
        job_id="j1",
        request_key="k",
        person_id=1,
        wallet_id=1,
        identity="telegram:1",
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


def test_the_cost_is_shown_before_and_the_charge_after():
    assert TEXT.quote(Quote(10, 2, 7, (5, 10))) == "10 s clip: 2 credits · you have 7"
    assert TEXT.charged(2, balance(5), None) == "−2 credits · 5 left"
    assert TEXT.charged(1, balance(6), None) == "−1 credit · 6 left"


def test_a_low_balance_after_the_charge_shows_the_packs():
    text = TEXT.charged(2, balance(2), offer_for(balance(2), RULES))
    assert text.startswith("−2 credits · 2 left\nYou have 2 credits left.") and "Starter: 100 credits for $5" in text


def test_every_failure_says_in_plain_words_that_nothing_was_charged():
    assert TEXT.failed(job(), GenerationTimedOut()) == (
        "The music generator took too long. Your 2 credits were not charged."
    )
    assert TEXT.failed(job(cost=1), JobCanceled("j1")) == "Canceled. Your 1 credit was not charged."
    assert TEXT.canceled(Canceled(job(state=JobState.CANCELED), 2, balance(10))).endswith(
        "Your 2 credits were not charged."
    )
    assert "silent" in TEXT.failed(job(), AudioSilent())


def test_progress_and_the_job_list():
    assert TEXT.progress(job(), JobProgress(Stage.QUEUED, 3, 150)) == "Queued: #3 in line · about 2 min"
    assert TEXT.progress(job(), JobProgress(Stage.GENERATING)) == "Generating your 10 s warm piano clip…"
    listing = TEXT.jobs([JobView(job(), None), JobView(job(job_id="j2", state=JobState.QUEUED), 4)])
    assert listing.splitlines()[1:] == [
        "j1 · 10 s warm piano · queued · 2 credits held",
        "j2 · 10 s warm piano · queued (#4 in line) · 2 credits held",
    ]
    assert TEXT.jobs([]) == "No jobs running."
