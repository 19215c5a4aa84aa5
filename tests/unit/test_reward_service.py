"""`RewardService` on the in-memory stores: the daily credit, the share bonus, the gift check."""

from __future__ import annotations

import datetime as dt

import pytest

from core.domain.identity import Identity
from core.errors import AccountTooNew, DailyNotAvailable, DailyNotDue, FreeCreditLimitReached, NotYourClip
from tests.unit.memory_services import START, services

ANN = Identity.parse("telegram:1")
MIDNIGHT = dt.datetime(2026, 3, 11, tzinfo=dt.UTC)


async def test_the_daily_credit_is_paid_once_a_utc_day():
    s = services()
    claimed = await s.bonuses.claim_daily(ANN)
    assert (claimed.amount, claimed.balance.available, claimed.next_at) == (1, 11, MIDNIGHT)
    with pytest.raises(DailyNotDue) as not_due:
        await s.bonuses.claim_daily(ANN)
    assert not_due.value.next_at == MIDNIGHT
    s.clock.set(MIDNIGHT)
    assert (await s.bonuses.claim_daily(ANN)).balance.available == 12
    assert await s.audit() == []


async def test_the_next_daily_credit_is_now_or_the_next_utc_midnight():
    s = services()
    assert await s.bonuses.next_daily_at(ANN) == START
    await s.bonuses.claim_daily(ANN)
    assert await s.bonuses.next_daily_at(ANN) == MIDNIGHT


async def test_a_paying_plan_gets_no_daily_credit_unless_the_rules_say_so():
    s = services()
    await s.buy(ANN, "starter", 100, "o1")
    with pytest.raises(DailyNotAvailable) as refused:
        await s.bonuses.claim_daily(ANN)
    assert refused.value.plan == "starter"
    assert await s.bonuses.next_daily_at(ANN) is None
    generous = s.with_rules(daily_plans=frozenset({"free", "starter"}))
    assert (await generous.bonuses.claim_daily(ANN)).amount == 1


async def test_a_bonus_that_would_pass_todays_free_allowance_waits_for_tomorrow():
    s = services(max_free_per_day=2, share_credits=2, daily_credits=1)
    _, ann_id = await s.person(ANN.key)
    s.owned.add((ann_id, "job1"))
    assert (await s.bonuses.record_share(ANN, "job1")).granted == 2
    with pytest.raises(FreeCreditLimitReached) as limit:
        await s.bonuses.claim_daily(ANN)
    assert (limit.value.limit, limit.value.next_at) == (2, MIDNIGHT)
    s.clock.set(MIDNIGHT)
    assert (await s.bonuses.claim_daily(ANN)).amount == 1


async def test_sharing_ones_own_clip_is_rewarded_once_a_day():
    s = services()
    _, ann_id = await s.person(ANN.key)
    s.owned.add((ann_id, "job1"))
    first = await s.bonuses.record_share(ANN, "job1")
    again = await s.bonuses.record_share(ANN, "job1")
    assert (first.granted, first.status, first.balance.available) == (2, "granted", 12)
    assert (again.granted, again.status, again.next_at) == (0, "already", MIDNIGHT)


async def test_sharing_someone_elses_clip_is_refused():
    s = services()
    with pytest.raises(NotYourClip):
        await s.bonuses.record_share(ANN, "job-of-someone-else")


async def test_a_new_account_receives_no_gift_during_the_cooldown():
    s = services(new_account_cooldown=dt.timedelta(minutes=30))
    _, ann_id = await s.person(ANN.key)
    with pytest.raises(AccountTooNew) as too_new:
        await s.bonuses.ensure_can_receive_gift(ann_id)
    assert too_new.value.until == START + dt.timedelta(minutes=30)
    s.clock.advance(minutes=30)
    await s.bonuses.ensure_can_receive_gift(ann_id)


async def test_bonuses_follow_free_credit_expiry():
    s = services(free_credit_ttl=dt.timedelta(days=30))
    await s.bonuses.claim_daily(ANN)
    lots = sorted(s.stores.world.lots.values(), key=lambda lot: lot.id)
    assert [lot.expires_at for lot in lots] == [START + dt.timedelta(days=30)] * 2
