"""Operator stats on SQLite and PostgreSQL from a small, known history."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.chat.catalogue import Catalogue
from adapters.chat.stats import StatsWords
from core.domain.identity import Identity
from core.domain.stats import Sales, WindowReport
from core.errors import NotPermitted
from tests.integration.rewards_kit import OPERATOR, START, make_kit


@pytest.fixture
def kit(database):
    return make_kit(database)


def revenue_of(report: WindowReport) -> list[tuple[str, int, list[tuple[str, int, int]]]]:
    """(currency, net amount, [(pack, purchases, net amount)]) of a window, in report order."""
    return [(r.currency, r.amount, [(p.pack_id, p.purchases, p.amount) for p in r.packs]) for r in report.revenue]


async def build_history(kit) -> None:
    """old: joined 35 days ago and bought right away. bea: joined 10 days ago, spent all 10
    (ran out), came back 2 days ago with a daily credit and spent it (ran out again). cat:
    joined today, daily, one clip, bought `popular`. dan: joined today. eve: joined today and
    linked into dan (not a new person of her own)."""
    at = kit.clock.set
    at(START - dt.timedelta(days=35))
    old, _ = await kit.person("discord:1")
    await kit.pay_stripe(old, "starter", "o-old")
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
    await kit.pay_stripe(cat, "popular", "o-cat")
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
    assert today.sales == (Sales("usd", "popular", 1, 1500, 0),)
    assert (today.first_purchasers, today.free_base) == (1, 3)
    assert (today.ran_out, today.came_back) == (0, 0)
    assert revenue_of(report.windows[0]) == [("USD", 1500, [("popular", 1, 1500)])]

    assert (week.new_persons, week.generations, week.credits_spent) == (2, 2, 3)
    assert week.granted_by_reason == {"daily": 2, "purchase": 400, "welcome": 30}
    assert (week.ran_out, week.came_back) == (1, 0)  # bea ran out 2 days ago and has not come back

    assert (month.new_persons, month.generations, month.credits_spent) == (3, 3, 13)
    assert month.granted_by_reason == {"daily": 2, "purchase": 400, "welcome": 40}
    assert revenue_of(report.windows[2]) == [("USD", 1500, [("popular", 1, 1500)])]  # old's was 35 days ago
    assert (month.first_purchasers, month.free_base) == (1, 3)
    assert (month.ran_out, month.came_back, month.came_back_share) == (
        1,
        1,
        1.0,
    )  # bea came back once


async def test_the_report_reads_as_text_and_only_operators_may_ask(kit):
    await build_history(kit)
    text = StatsWords(Catalogue()).report(await kit.stats.report())
    assert "today: 2 new persons · 1 generations · 2 credits spent" in text
    assert "revenue: USD 15.00 (popular ×1)\n" in text and "free→paid: 33% (1/3)" in text
    with pytest.raises(NotPermitted):
        await kit.stats.report(Identity.parse("discord:2"))


# --- revenue: what the paid orders recorded, per currency ------------------------------------


async def test_revenue_counts_stripe_in_dollars_and_stars_in_stars_as_each_order_was_paid(kit):
    """ann pays two `starter` and one `popular` by Stripe; bob three `starter` and one
    `popular` in Telegram Stars (list price 250 and 750 Stars, not the dollar prices)."""
    ann, _ = await kit.person("discord:1")
    bob, _ = await kit.person("telegram:2")
    for request in ("a1", "a2"):
        await kit.pay_stripe(ann, "starter", request)
    await kit.pay_stripe(ann, "popular", "a3")
    for request in ("b1", "b2", "b3"):
        await kit.pay_stars(bob, "starter", request)
    await kit.pay_stars(bob, "popular", "b4")

    report = await kit.stats.report(OPERATOR)
    today = report.windows[0]

    assert revenue_of(today) == [
        ("USD", 2500, [("popular", 1, 1500), ("starter", 2, 1000)]),
        ("XTR", 1500, [("popular", 1, 750), ("starter", 3, 750)]),
    ]
    assert (today.revenue_in("usd"), today.revenue_in("XTR"), today.revenue_in("eur")) == (2500, 1500, 0)
    text = StatsWords(Catalogue()).report(report)
    assert "revenue: USD 25.00 (popular ×1, starter ×2) · XTR 1,500 ⭐ (popular ×1, starter ×3)\n" in text


async def test_refunds_recorded_on_an_order_come_off_the_revenue_of_the_window_it_was_paid_in(kit):
    """The orders table keeps the cumulative refunded amount but not when it was refunded: a
    refund comes off the window of the payment it returns (here yesterday's, so today shows
    none) and the purchase still counts. A partial refund keeps the rest as revenue."""
    ann, _ = await kit.person("discord:1")
    bob, _ = await kit.person("telegram:2")
    popular = await kit.pay_stripe(ann, "popular", "a1")
    starter = await kit.pay_stripe(ann, "starter", "a2")
    await kit.pay_stars(bob, "starter", "b1")
    kit.clock.advance(days=1)
    await kit.refund_stripe(popular, 500)  # partly
    await kit.refund_stripe(starter, 500)  # wholly
    await kit.payments.refund_stars(OPERATOR, "tg_b1")

    report = await kit.stats.report(OPERATOR)
    today, week, _ = report.windows

    assert today.revenue == ()
    assert revenue_of(week) == [
        ("USD", 1000, [("popular", 1, 1000), ("starter", 1, 0)]),
        ("XTR", 0, [("starter", 1, 0)]),
    ]
    assert [(r.currency, r.returned) for r in week.revenue] == [("USD", 1000), ("XTR", 250)]
    text = StatsWords(Catalogue()).report(report)
    assert "revenue: none\n" in text
    assert (
        "revenue: USD 10.00 (popular ×1, starter ×1; USD 10.00 refunded or disputed since)"
        " · XTR 0 ⭐ (starter ×1; XTR 250 ⭐ refunded or disputed since)\n"
    ) in text


async def test_only_orders_paid_inside_the_window_count(kit):
    """Counted by when the money landed, not when the order was opened; unpaid orders never."""
    ann, _ = await kit.person("discord:1")
    midnight = START.replace(hour=0)
    kit.clock.set(midnight - dt.timedelta(days=31))
    await kit.pay_stripe(ann, "pro", "too-old")  # before the 30 days
    kit.clock.set(midnight - dt.timedelta(days=8))
    await kit.pay_stripe(ann, "popular", "last-month")  # in the 30 days, not the 7
    kit.clock.set(midnight - dt.timedelta(minutes=1))
    await kit.pay_stripe(ann, "starter", "yesterday")  # a minute before today began
    opened_yesterday = await kit.payments.buy(ann, "starter", request_id="paid-at-midnight")
    await kit.payments.buy(ann, "pro", request_id="never-paid")
    kit.clock.set(midnight)
    await kit.stripe_paid(opened_yesterday)
    kit.clock.set(START)

    today, week, month = (await kit.stats.report(OPERATOR)).windows

    assert revenue_of(today) == [("USD", 500, [("starter", 1, 500)])]
    assert revenue_of(week) == [("USD", 1000, [("starter", 2, 1000)])]
    assert revenue_of(month) == [("USD", 2500, [("popular", 1, 1500), ("starter", 2, 1000)])]
