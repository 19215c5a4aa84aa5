"""OfferService when the next-daily-credit source fails: the offer (and the reply it belongs to,
a delivered clip's or a refusal's) still goes out, without the daily line."""

from __future__ import annotations

import logging

from core.domain.ledger import Balance
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rules import CreditRules
from core.services.offers import OfferService

RULES = CreditRules(Pricing({5: 1}), PackTable((Pack("starter", 100, 500),)), low_balance_threshold=2)


async def test_an_unknown_next_daily_credit_leaves_the_line_out_not_the_offer(caplog):
    async def broken(person_id: int) -> None:
        raise RuntimeError("database away")

    with caplog.at_level(logging.ERROR, logger="core.services.offers"):
        offer = await OfferService(RULES, next_daily_at=broken).after(Balance(1, free=0, paid=0, held=0), person_id=7)
    assert offer is not None and offer.out_of_credits and offer.next_daily_at is None
    assert [p.pack_id for p in offer.packs] == ["starter"]
    assert "next daily credit of person 7 unknown" in caplog.text
