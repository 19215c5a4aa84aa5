"""Unit economics on SQLite and PostgreSQL from a known history: jobs with provider costs, paid
by welcome credits, a card purchase and a Stars purchase; one failed run."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from adapters.storage.economics import SqlEconomicsReads
from adapters.storage.jobs import SqlJobStore
from core.domain.economics import Fees
from core.domain.generation import PreparedClip
from core.domain.jobs import JobState, NewJob
from core.domain.pricing import Pack
from core.services.economics import EconomicsService
from tests.integration.rewards_kit import START, make_kit

CLIP = PreparedClip(audio=b"\0" * 64, sample_rate=32_000, seconds=1.0)
PACKS = (Pack("starter", 100, 500), Pack("pro", 1000, 3500), Pack("starter", 100, 250, "XTR"))


@pytest.fixture
def kit(database):
    return make_kit(database)


async def run_job(kit, jobs: SqlJobStore, identity, job_id: str, credits: int, cost: int, *, ok: bool = True):
    person = await kit.wallets.person(identity)
    now = kit.clock.now()
    await jobs.create(
        NewJob(
            job_id=job_id,
            request_key=f"{identity.key}:{job_id}",
            person_id=person.person_id,
            wallet_id=person.wallet_id,
            identity=identity.key,
            platform=identity.platform,
            reply_to={},
            style="piano",
            seconds=30 if credits > 3 else 10,
            cost=credits,
            seed=1,
            deadline_at=now + dt.timedelta(minutes=10),
            hold_expires_at=now + dt.timedelta(minutes=20),
        ),
        CLIP,
        now=now,
    )
    await jobs.record_cost(job_id, cost)
    target = JobState.SUCCEEDED if ok else JobState.FAILED
    assert await jobs.conclude(job_id, frozenset({JobState.QUEUED}), target, now=kit.clock.now()) is not None
    kit.clock.advance(minutes=1)


async def test_the_margin_report_matches_a_known_history(kit, database):
    jobs = SqlJobStore(database, kit.ledger)
    economics = EconomicsService(SqlEconomicsReads(database), Fees(), PACKS, clock=kit.clock)
    ann, _ = await kit.person("telegram:1")  # 10 welcome credits
    await kit.pay_stripe(ann, "starter", "ann-buy")  # 100 paid credits for $5.00
    await run_job(kit, jobs, ann, "ann-free", 10, 90_000)  # the welcome credits
    await run_job(kit, jobs, ann, "ann-paid", 20, 140_000)  # the card's credits
    bob, _ = await kit.person("discord:2")
    await kit.pay_stars(bob, "starter", "bob-buy")  # 100 credits for 250 Stars
    await run_job(kit, jobs, bob, "bob-mixed", 15, 100_000)  # 10 welcome + 5 Stars credits
    await run_job(kit, jobs, bob, "bob-failed", 2, 50_000, ok=False)  # billed, never charged

    report, _ = await economics.report(days=1)

    overall = report.overall
    assert (overall.jobs, overall.credits, overall.free_credits) == (4, 45, 20)
    assert overall.cost == 380_000
    assert overall.revenue == 20 * 45_550 + 5 * 2_500 * 13  # card: $5 less fees / 100; Stars: 250 × $0.013 / 100
    assert overall.free_cost == 90_000 + Fraction(200_000, 3) + 50_000
    providers = {line.label: (line.credits, line.cost, line.revenue) for line in report.by_provider}
    assert providers == {
        "stripe": (20, 140_000, 911_000),
        "stars": (5, Fraction(100_000, 3), 162_500),
        "free": (20, 90_000 + Fraction(200_000, 3), 0),
        "not charged": (0, 50_000, 0),
    }
    operations = {line.label: (line.jobs, line.cost) for line in report.by_operation}
    assert operations == {"music 30 s": (3, 330_000), "music 10 s": (1, 50_000)}
    assert await economics.free_use_cost((await kit.wallets.person(bob)).wallet_id) == Fraction(200_000, 3) + 50_000
    assert await kit.audit() == []


async def test_a_losing_price_is_warned_about_and_a_winning_one_is_not(kit, database):
    jobs = SqlJobStore(database, kit.ledger)
    economics = EconomicsService(SqlEconomicsReads(database), Fees(), PACKS, clock=kit.clock)
    ann, _ = await kit.person("telegram:1")
    await kit.buy(ann, "starter", 100, "o-1")
    await run_job(kit, jobs, ann, "cheap", 5, 90_000)  # 5 credits bring 5 × 32,500 at the Stars pack
    assert await economics.losing() == []

    await run_job(kit, jobs, ann, "dear", 2, 90_000)  # 2 credits bring 65,000: 25,000 short
    [losing] = await economics.losing()
    assert (losing.operation, losing.cheapest_pack, losing.loss_micros) == ("music 10 s", "starter", 25_000)
    assert losing.break_even_per_credit_micros == 45_000


async def test_a_job_outside_the_window_is_not_counted(kit, database):
    jobs = SqlJobStore(database, kit.ledger)
    economics = EconomicsService(SqlEconomicsReads(database), Fees(), PACKS, clock=kit.clock)
    ann, _ = await kit.person("telegram:1")
    await run_job(kit, jobs, ann, "old", 2, 90_000)
    kit.clock.set(START + dt.timedelta(days=3))
    assert (await economics.report(days=1))[0].overall.jobs == 0
    assert (await economics.report(days=7))[0].overall.jobs == 1
