"""OfferService: after a balance change, is it low and what is offered."""

from __future__ import annotations

import datetime as dt

from core.clock import ManualClock
from core.domain.ledger import Balance
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rules import CreditRules
from core.services.offers import OfferService

PACKS = PackTable((Pack("starter", 100, 500), Pack("pro", 1000, 3500)))
STARS = PackTable((Pack("starter", 100, 250, "XTR"),))
RULES = CreditRules(Pricing({5: 1}), PACKS, low_balance_threshold=2)
TOMORROW = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def balance(free: int, held: int = 0) -> Balance:
    return Balance(1, free=free, paid=0, held=held)


async def test_no_offer_above_the_threshold_and_nobody_is_asked_about_the_daily_credit():
    asked: list[int] = []

    async def next_daily(person_id: int) -> dt.datetime | None:
        asked.append(person_id)
        return TOMORROW

    offers = OfferService(RULES, stars_packs=STARS, next_daily_at=next_daily)
    assert await offers.after(balance(3), person_id=5) is None
    assert asked == []


async def test_a_low_balance_gets_both_pack_tables_and_the_next_daily_credit():
    async def next_daily(person_id: int) -> dt.datetime | None:
        return TOMORROW if person_id == 5 else None

    offers = OfferService(RULES, stars_packs=STARS, next_daily_at=next_daily)
    offer = await offers.after(balance(2), person_id=5)
    assert offer is not None
    assert (offer.available, offer.out_of_credits, offer.next_daily_at) == (2, False, TOMORROW)
    assert offer.packs == PACKS.packs and offer.stars_packs == STARS.packs
    assert offer.contact_support


async def test_held_credits_count_and_zero_is_out_of_credits_without_a_daily_hook():
    offer = await OfferService(RULES).after(balance(3, held=3))
    assert offer is not None
    assert (offer.available, offer.out_of_credits, offer.next_daily_at, offer.stars_packs) == (
        0,
        True,
        None,
        (),
    )


async def test_the_offer_says_whether_the_daily_credit_can_be_claimed_now():
    clock = ManualClock(TOMORROW - dt.timedelta(hours=1))

    async def next_daily(person_id: int) -> dt.datetime | None:
        return TOMORROW

    offers = OfferService(RULES, next_daily_at=next_daily, clock=clock)
    waiting = await offers.after(balance(1), person_id=5)
    assert waiting is not None and (waiting.next_daily_at, waiting.daily_due) == (TOMORROW, False)
    clock.set(TOMORROW)
    due = await offers.after(balance(1), person_id=5)
    assert due is not None and due.daily_due
    assert offers.daily_due(TOMORROW) and not offers.daily_due(None)
