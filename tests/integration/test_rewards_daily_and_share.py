"""Daily credit and share bonus on SQLite and PostgreSQL: rules, allowance, duplicates, races."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from core.errors import (
    AccountTooNew,
    DailyNotAvailable,
    DailyNotDue,
    FreeCreditLimitReached,
    NotYourClip,
)
from tests.integration.rewards_kit import make_kit

MIDNIGHT = dt.datetime(2026, 3, 11, tzinfo=dt.UTC)


@pytest.fixture
def kit(database):
    return make_kit(database)


async def test_daily_credit_once_per_utc_day_and_too_early_says_when(kit):
    ann, _ = await kit.person("telegram:1")
    claimed = await kit.bonuses.claim_daily(ann)
    assert (claimed.amount, claimed.balance.available, claimed.next_at) == (1, 11, MIDNIGHT)
    with pytest.raises(DailyNotDue) as early:
        await kit.bonuses.claim_daily(ann)
    assert early.value.next_at == MIDNIGHT
    assert await kit.available(ann) == 11
    kit.clock.set(MIDNIGHT)  # a new UTC day; no rollover of the missed ones
    assert (await kit.bonuses.claim_daily(ann)).balance.available == 12
    assert await kit.audit() == []


async def test_two_daily_claims_at_once_grant_one_credit(kit):
    ann, _ = await kit.person("discord:2")
    results = await asyncio.gather(*[kit.bonuses.claim_daily(ann) for _ in range(10)], return_exceptions=True)
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(isinstance(r, DailyNotDue) for r in results if isinstance(r, BaseException))
    assert await kit.available(ann) == 11
    history = await kit.wallets.history(ann)
    assert [e.reason for e in history].count("daily") == 1
    assert await kit.audit() == []


async def test_paid_plans_do_not_get_the_daily_credit_unless_the_setting_says_so(kit):
    bob, person_id = await kit.person("telegram:3")
    await kit.buy(bob, "starter", 100, "order-1")
    with pytest.raises(DailyNotAvailable) as refused:
        await kit.bonuses.claim_daily(bob)
    assert refused.value.plan == "starter"
    assert await kit.bonuses.schedule.next_for_person(person_id) is None  # what the offers ask
    generous = kit.with_rules(daily_plans=frozenset({"free", "starter"}))
    assert (await generous.bonuses.claim_daily(bob)).amount == 1


async def test_next_daily_at_is_now_before_the_claim_and_midnight_after(kit):
    ann, person_id = await kit.person("console:ann")
    assert await kit.bonuses.next_daily_at(ann) == kit.clock.now()
    await kit.bonuses.claim_daily(ann)
    assert await kit.bonuses.next_daily_at(ann) == MIDNIGHT
    assert await kit.bonuses.schedule.next_for_person(person_id) == MIDNIGHT  # what the offers ask


async def test_bonuses_beyond_the_daily_free_allowance_are_refused_and_change_nothing(kit):
    tight = kit.with_rules(max_free_per_day=2, share_credits=2, daily_credits=1)
    ann, person_id = await tight.person("telegram:4")
    tight.owned.add((person_id, "job-1"))
    assert (await tight.bonuses.record_share(ann, "job-1")).granted == 2
    with pytest.raises(FreeCreditLimitReached) as full:
        await tight.bonuses.claim_daily(ann)
    assert (full.value.limit, full.value.next_at) == (2, MIDNIGHT)
    assert await tight.available(ann) == 12
    tight.clock.set(MIDNIGHT)
    assert (await tight.bonuses.claim_daily(ann)).amount == 1  # a new day, a new allowance
    assert await tight.audit() == []


async def test_sharing_ones_own_clip_pays_once_a_day(kit):
    ann, person_id = await kit.person("discord:5")
    kit.owned.update({(person_id, "job-a"), (person_id, "job-b")})
    first = await kit.bonuses.record_share(ann, "job-a")
    again = await kit.bonuses.record_share(ann, "job-b")
    assert (first.granted, first.status, first.balance.available) == (2, "granted", 12)
    assert (again.granted, again.status, again.next_at) == (0, "already", MIDNIGHT)
    kit.clock.set(MIDNIGHT + dt.timedelta(hours=1))
    assert (await kit.bonuses.record_share(ann, "job-a")).granted == 2
    assert await kit.available(ann) == 14


async def test_sharing_someone_elses_clip_is_refused_and_pays_nothing(kit):
    ann, ann_id = await kit.person("discord:6")
    bob, _ = await kit.person("discord:7")
    kit.owned.add((ann_id, "job-ann"))
    with pytest.raises(NotYourClip):
        await kit.bonuses.record_share(bob, "job-ann")
    assert await kit.available(bob) == 10


async def test_two_shares_at_once_pay_one_bonus(kit):
    ann, person_id = await kit.person("telegram:8")
    kit.owned.add((person_id, "job-x"))
    results = await asyncio.gather(*[kit.bonuses.record_share(ann, "job-x") for _ in range(6)])
    assert sorted(r.granted for r in results) == [0, 0, 0, 0, 0, 2]
    assert await kit.available(ann) == 12
    assert await kit.audit() == []


async def test_a_person_too_new_cannot_receive_gifts_yet(kit):
    careful = kit.with_rules(new_account_cooldown=dt.timedelta(minutes=30))
    _, person_id = await careful.person("discord:9")
    with pytest.raises(AccountTooNew) as refused:
        await careful.bonuses.ensure_can_receive_gift(person_id)
    assert refused.value.until == careful.clock.now() + dt.timedelta(minutes=30)
    careful.clock.advance(minutes=30)
    await careful.bonuses.ensure_can_receive_gift(person_id)
