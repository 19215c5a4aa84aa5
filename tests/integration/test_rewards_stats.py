"""Operator stats on SQLite and PostgreSQL from a small, known history."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.chat.catalogue import Catalogue
from adapters.chat.render_rewards import RewardRenderer
from core.domain.identity import Identity
from core.errors import NotPermitted
from tests.integration.rewards_kit import OPERATOR, START, make_kit


@pytest.fixture
def kit(database):
    return make_kit(database)


async def build_history(kit) -> None:
    """old: joined 35 days ago and bought right away. bea: joined 10 days ago, spent all 10
    (ran out), came back 2 days ago with a daily credit and spent it (ran out again). cat:
    joined today, daily, one clip, bought `popular`. dan: joined today. eve: joined today and
    linked into dan (not a new person of her own)."""
    at = kit.clock.set
    at(START - dt.timedelta(days=35))
    old, _ = await kit.person("discord:1")
    await kit.buy(old, "starter", 100, "o-old")
    at(START - dt.timedelta(days=10))
    bea, _ = await kit.person("discord:2")
    await kit.spend(bea, 10, "bea-1")
    at(START - dt.timedelta(days=2))
    await kit.bonuses.claim_daily(bea)
    await kit.spend(bea, 1, "bea-2")
    at(START)
    cat, _ = await kit.person("telegram:3")
    await kit.bonuses.claim_daily(cat)
    await kit.spend(cat, 2, "cat-1")
    await kit.buy(cat, "popular", 400, "o-cat")
    dan, _ = await kit.person("telegram:4")
    kit.clock.advance(minutes=1)
    eve, _ = await kit.person("discord:5")
    code = await kit.linking.start(dan)
    await kit.linking.redeem(eve, code.code)
    kit.clock.advance(minutes=1)


async def test_today_seven_and_thirty_days(kit):
    await build_history(kit)
    report = await kit.stats.report(OPERATOR)
    today, week, month = (w.stats for w in report.windows)

    assert (today.new_persons, today.generations, today.credits_spent) == (2, 1, 2)
    assert today.granted_by_reason == {"daily": 1, "purchase": 400, "welcome": 30}
    assert today.purchases_by_pack == {"popular": 1}
    assert (today.first_purchasers, today.free_base) == (1, 3)
    assert (today.ran_out, today.came_back) == (0, 0)
    assert [(r.pack_id, r.purchases, r.amount) for r in report.windows[0].revenue] == [("popular", 1, 1500)]

    assert (week.new_persons, week.generations, week.credits_spent) == (2, 2, 3)
    assert week.granted_by_reason == {"daily": 2, "purchase": 400, "welcome": 30}
    assert (week.ran_out, week.came_back) == (1, 0)  # bea ran out 2 days ago and has not come back

    assert (month.new_persons, month.generations, month.credits_spent) == (3, 3, 13)
    assert month.granted_by_reason == {"daily": 2, "purchase": 400, "welcome": 40}
    assert (month.first_purchasers, month.free_base) == (1, 3)
    assert (month.ran_out, month.came_back, month.came_back_share) == (
        1,
        1,
        1.0,
    )  # bea came back once


async def test_the_report_reads_as_text_and_only_operators_may_ask(kit):
    await build_history(kit)
    text = RewardRenderer(Catalogue()).stats(await kit.stats.report())
    assert "today: 2 new persons · 1 generations · 2 credits spent" in text
    assert "popular ×1 = $15" in text and "free→paid: 33% (1/3)" in text
    with pytest.raises(NotPermitted):
        await kit.stats.report(Identity.parse("discord:2"))
