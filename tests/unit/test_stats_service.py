"""`StatsService` on the in-memory stores: the operators' figures for today, 7 and 30 days."""

from __future__ import annotations

import pytest

from core.domain.identity import Identity
from core.errors import NotPermitted
from tests.unit.memory_services import OPERATOR, services

ANN, BOB = Identity.parse("telegram:1"), Identity.parse("telegram:2")


async def test_todays_figures_count_new_persons_clips_and_credits_granted():
    s = services()
    await s.wallets.person(ANN)
    await s.wallets.person(BOB)
    await s.spend(ANN, 2, "j1")
    await s.bonuses.claim_daily(BOB)
    today = (await s.stats.report(OPERATOR)).windows[0].stats
    assert (today.new_persons, today.generations, today.credits_spent) == (2, 1, 2)
    assert today.granted_by_reason == {"daily": 1, "welcome": 20}


async def test_a_wallet_that_ran_out_and_spent_again_came_back():
    s = services()
    await s.spend(ANN, 10, "j1")  # 0 left: below the cheapest clip
    await s.wallets.operator_grant(OPERATOR, ANN.key, 5, "", "req-1")
    await s.spend(ANN, 1, "j2")
    today = (await s.stats.report()).windows[0].stats
    assert (today.ran_out, today.came_back) == (1, 1)


async def test_only_operators_read_the_figures():
    s = services()
    with pytest.raises(NotPermitted):
        await s.stats.report(ANN)
