"""Streaks and achievements on SQLite and PostgreSQL (and, through the contract test, on the
in-memory stores): UTC days, a missed day, the 7th day's bonus, each achievement once, the free
allowance, expiry, and racing checks granting once."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from core.domain.progress import Achievement
from tests.integration.rewards_kit import START, make_kit


@pytest.fixture
def kit(database):
    return make_kit(database)


def day(n: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    """`n` days after START's day, at hour:minute UTC."""
    return dt.datetime(START.year, START.month, START.day, hour, minute, tzinfo=dt.UTC) + dt.timedelta(days=n)


async def daily_on(kit, identity, *days: int) -> None:
    for n in days:
        kit.clock.set(day(n))
        await kit.bonuses.claim_daily(identity)


async def test_daily_claims_make_a_streak_and_a_missed_day_resets_it(kit):
    ann, _ = await kit.person("telegram:1")
    await daily_on(kit, ann, 0, 1, 2)
    assert (await kit.progress.streak(ann)).days == 3
    kit.clock.set(day(3, 20))  # today not claimed yet: the streak still stands
    streak = await kit.progress.streak(ann)
    assert (streak.days, streak.active_today) == (3, False)
    kit.clock.set(day(4, 8))  # day 3 was missed
    assert (await kit.progress.streak(ann)).days == 0
    await kit.bonuses.claim_daily(ann)
    assert (await kit.progress.streak(ann)).days == 1


async def test_claims_at_2359_and_0001_count_as_two_days(kit):
    ann, _ = await kit.person("telegram:2")
    kit.clock.set(day(0, 23, 59))
    await kit.bonuses.claim_daily(ann)
    kit.clock.set(day(1, 0, 1))
    await kit.bonuses.claim_daily(ann)
    assert (await kit.progress.streak(ann)).days == 2


async def test_a_delivered_clip_counts_as_an_active_day(kit):
    ann, _ = await kit.person("telegram:3")
    await daily_on(kit, ann, 0)
    kit.clock.set(day(1, 22))
    await kit.deliver(ann, "warm solo piano", "job-1")
    assert (await kit.progress.streak(ann)).days == 2


async def test_the_seventh_day_pays_the_streak_bonus_and_the_achievement_once(kit):
    ann, _ = await kit.person("telegram:4")
    await daily_on(kit, ann, *range(6))
    assert (await kit.progress.check(ann)).awards == ()
    before = await kit.available(ann)
    await daily_on(kit, ann, 6)
    result = await kit.progress.check(ann)
    assert [(a.achievement, a.credits) for a in result.awards] == [(Achievement.STREAK_7, 1), (None, 1)]
    assert await kit.available(ann) == before + 1 + 2  # the daily credit, the achievement, the bonus
    assert (await kit.progress.check(ann)).awards == ()  # checked again: nothing more
    assert await kit.available(ann) == before + 3
    history = [e.reason for e in await kit.wallets.history(ann, 50)]
    assert history.count("achievement") == 1 and history.count("streak") == 1
    assert await kit.audit() == []


async def test_clips_purchase_and_share_each_earn_their_achievement_once(kit):
    ann, person_id = await kit.person("discord:5")
    await kit.deliver(ann, "warm solo piano", "job-1")
    assert [a.achievement for a in (await kit.progress.check(ann)).awards] == [Achievement.FIRST_CLIP]
    await kit.deliver(ann, "acoustic guitar", "job-2")
    assert [a.achievement for a in (await kit.progress.check(ann)).awards] == [Achievement.EVERY_STYLE]
    await kit.pay_stripe(ann, "starter", "o-1")
    kit.owned.add((person_id, "job-1"))
    await kit.bonuses.record_share(ann, "job-1")
    view = await kit.progress.view(ann)
    assert [a.achievement for a in view.new] == [Achievement.FIRST_SHARE, Achievement.FIRST_PURCHASE]
    assert view.clips == 2
    assert view.earned == {
        Achievement.FIRST_CLIP,
        Achievement.EVERY_STYLE,
        Achievement.FIRST_SHARE,
        Achievement.FIRST_PURCHASE,
    }
    assert (await kit.progress.view(ann)).new == ()
    assert await kit.audit() == []


async def test_an_achievement_beyond_the_days_allowance_is_earned_without_credits(kit):
    tight = kit.with_rules(max_free_per_day=2, share_credits=2)
    ann, person_id = await tight.person("telegram:6")
    await tight.deliver(ann, "warm solo piano", "job-1")
    tight.owned.add((person_id, "job-1"))
    assert (await tight.bonuses.record_share(ann, "job-1")).granted == 2  # today's allowance used
    before = await tight.available(ann)
    result = await tight.progress.check(ann)
    assert [(a.achievement, a.credits) for a in result.awards] == [
        (Achievement.FIRST_CLIP, 0),
        (Achievement.FIRST_SHARE, 0),
    ]
    assert await tight.available(ann) == before
    tight.clock.set(day(1))
    assert (await tight.progress.check(ann)).awards == ()  # earned is earned: not paid later either


async def test_achievement_credits_expire_like_every_free_credit(kit):
    expiring = kit.with_rules(free_credit_ttl=dt.timedelta(days=3))
    ann, _ = await expiring.person("telegram:7")
    await expiring.deliver(ann, "warm solo piano", "job-1")
    (award,) = (await expiring.progress.check(ann)).awards
    assert award.grant is not None and award.grant.expires_at == START + dt.timedelta(days=3)


async def test_ten_checks_at_once_grant_an_achievement_once(kit):
    ann, _ = await kit.person("discord:8")
    await kit.deliver(ann, "warm solo piano", "job-1")
    before = await kit.available(ann)
    results = await asyncio.gather(*[kit.progress.check(ann) for _ in range(10)])
    assert sum(len(r.awards) for r in results) == 1
    assert await kit.available(ann) == before + 1
    assert await kit.audit() == []
