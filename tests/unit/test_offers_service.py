"""OfferService when what it reads fails (the next daily credit, the pricing experiment, the
upsell's purchase history): the offer (and the reply it belongs to, a delivered clip's or a
refusal's) still goes out, without the daily line, with the default packs, without an upsell."""

from __future__ import annotations

import datetime as dt
import logging

from core.clock import ManualClock
from core.domain.ledger import Balance
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rules import CreditRules
from core.domain.upsell import BuyerHistory
from core.services.experiments import ExperimentService
from core.services.offers import OfferService
from tests.fakes.memory.offers import FakeOfferStore
from tests.fakes.memory.world import World

RULES = CreditRules(Pricing({5: 1}), PackTable((Pack("starter", 100, 500),)), low_balance_threshold=2)
BIG = Pack("big", 1000, 3000)
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


async def test_an_unknown_next_daily_credit_leaves_the_line_out_not_the_offer(caplog):
    async def broken(person_id: int) -> None:
        raise RuntimeError("database away")

    with caplog.at_level(logging.ERROR, logger="core.services.offers"):
        offer = await OfferService(RULES, next_daily_at=broken).after(Balance(1, free=0, paid=0, held=0), person_id=7)
    assert offer is not None and offer.out_of_credits and offer.next_daily_at is None
    assert [p.pack_id for p in offer.packs] == ["starter"]
    assert "next daily credit of person 7 unknown" in caplog.text


class AwayOfferStore(FakeOfferStore):
    """The offer store with its database away."""

    async def running_definition(self) -> tuple[str, dt.datetime] | None:
        raise RuntimeError("database away")

    async def buyer_history(self, person_id: int, wallet_id: int, pack_id: str, *, since: dt.datetime) -> BuyerHistory:
        raise RuntimeError("database away")


async def test_an_unreadable_experiment_or_upsell_history_leaves_the_default_offer_and_no_upsell(caplog):
    store = AwayOfferStore(World())
    experiments = ExperimentService(store, RULES, ManualClock(NOW), stars_packs=PackTable(()))
    offers = OfferService(RULES, experiments=experiments, history=store, clock=ManualClock(NOW))
    with caplog.at_level(logging.ERROR, logger="core.services.offers"):
        offer = await offers.after(Balance(1, free=0, paid=0, held=0), person_id=7)
        upsell = await offers.upsell(7, 1, RULES.packs.packs[0], PackTable((*RULES.packs.packs, BIG)))
    assert offer is not None and offer.packs == RULES.packs.packs
    assert upsell is None
    assert "the pricing experiment of wallet 1 unknown" in caplog.text
    assert "purchase history of wallet 1 unknown" in caplog.text
