"""The upsell's pure rule: the next pack up, with its saving per credit, for a buyer who bought
the same small pack before or spent more lately than the pack holds; never for the biggest pack
or a pack that saves nothing."""

from __future__ import annotations

import pytest

from core.domain.pricing import Pack, PackTable
from core.domain.upsell import BuyerHistory, Upsell, next_pack, saving_percent, upsell_for

STARTER, POPULAR, PRO = Pack("starter", 100, 500), Pack("popular", 400, 1500), Pack("pro", 1000, 3500)
TABLE = PackTable((PRO, STARTER, POPULAR))  # any order: "next" is by credits
NEW = BuyerHistory(bought_before=0, spent_lately=0)


def test_upsell_offers_the_next_pack_when_the_same_small_pack_is_bought_a_second_time():
    assert upsell_for(STARTER, TABLE, BuyerHistory(bought_before=1, spent_lately=0)) == Upsell(POPULAR, 25)


@pytest.mark.parametrize(("spent", "upsold"), [(100, False), (101, True), (0, False)])
def test_upsell_follows_spending_above_what_the_pack_holds(spent, upsold):
    found = upsell_for(STARTER, TABLE, BuyerHistory(bought_before=0, spent_lately=spent))
    assert (found is not None) == upsold


def test_upsell_never_shows_for_a_first_purchase_the_biggest_pack_or_a_pack_that_saves_nothing():
    assert upsell_for(STARTER, TABLE, NEW) is None
    assert upsell_for(PRO, TABLE, BuyerHistory(5, 10_000)) is None
    dearer = PackTable((STARTER, Pack("big", 400, 2000)))  # 5 ¢ a credit either way
    assert upsell_for(STARTER, dearer, BuyerHistory(1, 0)) is None


def test_upsell_saving_per_credit_is_whole_percent_rounded_down():
    assert saving_percent(STARTER, PRO) == 30  # 5 ¢ → 3.5 ¢ a credit: "Pro: 30 % less per credit"
    assert saving_percent(POPULAR, PRO) == 6  # 3.75 ¢ → 3.5 ¢: 6.7 %
    assert saving_percent(Pack("a", 3, 100), Pack("b", 7, 200)) == 14  # 33.3 → 28.6: 14.3 %
    assert saving_percent(STARTER, Pack("same", 200, 1000)) == 0


def test_upsell_next_pack_stays_in_the_currency_of_the_pack_bought():
    stars = Pack("popular", 400, 750, "XTR")
    mixed = PackTable((STARTER, stars, PRO))
    assert next_pack(STARTER, mixed) == PRO
    assert next_pack(Pack("starter", 100, 250, "XTR"), mixed) == stars
