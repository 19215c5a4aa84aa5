"""WalletService: first contact, balances, and operator commands refusing bad input."""

from __future__ import annotations

import asyncio

import pytest

from bot.bootstrap import IDENTITIES
from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rules import CreditRules
from core.errors import InvalidAmount, InvalidIdentity, NotPermitted, TakeExceedsBalance, UnknownIdentity
from core.services.wallets import WalletService

OPERATOR = Identity("telegram", "1")
MEMBER = Identity("telegram", "2")


@pytest.fixture
def wallets(store) -> WalletService:
    rules = CreditRules(
        pricing=Pricing({5: 1, 10: 2}),
        packs=PackTable((Pack("starter", 100, 500), Pack("pro", 1000, 3500))),
        operators=frozenset({OPERATOR.key}),
    )
    return WalletService(store, rules, ManualClock(), identities=IDENTITIES)


async def test_first_contact_welcomes_once_and_then_says_welcome_back(wallets):
    first = await wallets.start(MEMBER)
    again = await wallets.start(MEMBER)
    assert (first.welcome_credits, first.balance.available) == (10, 10)
    assert (again.welcome_credits, again.balance.available) == (0, 10)
    view = await wallets.balance(MEMBER)
    assert view.plan == "free" and view.offer is None


async def test_a_glance_at_someone_new_shows_the_welcome_grant_and_writes_nothing(wallets, store):
    glance = await wallets.glance(MEMBER)
    assert (glance.welcome_credits, glance.available) == (10, 10)
    assert await store.find_person(MEMBER.key) is None  # created by the first movement, not here
    assert await wallets.glance(MEMBER) == glance

    person = await wallets.person(MEMBER)  # what pressing a generate button does first
    assert person.created
    after = await wallets.glance(MEMBER)
    assert (after.welcome_credits, after.available) == (0, 10)
    assert (await wallets.balance(MEMBER)).balance.available == 10  # granted once, not again
    assert await store.audit() == []


async def test_a_glance_shows_what_is_available_now(wallets, store):
    await wallets.start(MEMBER)
    await wallets.operator_grant(OPERATOR, MEMBER.key, 5, "thanks", "r1")
    assert (await wallets.glance(MEMBER)).available == 15


@pytest.mark.parametrize("amount", ["-5", "0", "1.5", "abc", "", "10000000000", -1, 0, 2.5, True, None])
async def test_operator_grant_refuses_bad_amounts_and_changes_nothing(wallets, store, amount):
    await wallets.start(MEMBER)
    with pytest.raises(InvalidAmount):
        await wallets.operator_grant(OPERATOR, MEMBER.key, amount, "oops", "req-1")
    assert (await wallets.balance(MEMBER)).balance.available == 10
    assert await store.audit() == []


async def test_operator_commands_refuse_unknown_and_malformed_identities(wallets):
    with pytest.raises(UnknownIdentity):
        await wallets.operator_grant(OPERATOR, "discord:999", 5, "x", "r")
    for text in ("bob", "discord:abc", "slack:1", "telegram:", ""):
        with pytest.raises(InvalidIdentity):
            await wallets.operator_grant(OPERATOR, text, 5, "x", "r")


async def test_only_operators_grant_and_take(wallets):
    await wallets.start(MEMBER)
    with pytest.raises(NotPermitted):
        await wallets.operator_grant(MEMBER, MEMBER.key, 5, "self-service", "r")
    with pytest.raises(NotPermitted):
        await wallets.operator_take(MEMBER, MEMBER.key, 5, "x", "r")
    assert (await wallets.balance(MEMBER)).balance.available == 10


async def test_an_operator_grant_is_applied_once_per_request(wallets, store):
    await wallets.start(MEMBER)
    first = await wallets.operator_grant(OPERATOR, MEMBER.key, "5", "support ticket 7", "req-7")
    again = await wallets.operator_grant(OPERATOR, MEMBER.key, "5", "support ticket 7", "req-7")
    assert (first.outcome.duplicate, again.outcome.duplicate) == (False, True)
    assert (await wallets.balance(MEMBER)).balance.available == 15
    taken = await wallets.operator_take(OPERATOR, MEMBER.key, 3, "mistake", "req-8")
    assert taken.outcome.balance.available == 12
    assert await store.audit() == []


async def test_low_balance_view_offers_the_packs(wallets):
    await wallets.start(MEMBER)
    await wallets.operator_take(OPERATOR, MEMBER.key, 8, "test", "t1")
    view = await wallets.balance(MEMBER)
    assert view.offer is not None and not view.offer.out_of_credits
    assert [p.pack_id for p in view.offer.packs] == ["starter", "pro"]


async def test_the_same_operator_grant_sent_five_times_at_once_grants_once_and_other_requests_each_grant(
    wallets, store
):
    await wallets.start(MEMBER)
    same = await asyncio.gather(*[wallets.operator_grant(OPERATOR, MEMBER.key, 5, "race", "g-race") for _ in range(5)])
    assert sorted(m.outcome.duplicate for m in same) == [False, True, True, True, True]
    assert (await wallets.balance(MEMBER)).balance.available == 15

    others = await asyncio.gather(*[wallets.operator_grant(OPERATOR, MEMBER.key, 5, "each", f"g{n}") for n in range(4)])
    assert [m.outcome.duplicate for m in others] == [False] * 4
    assert (await wallets.balance(MEMBER)).balance.available == 35
    assert await store.audit() == []


async def test_the_same_operator_take_sent_twice_takes_once(wallets, store):
    await wallets.start(MEMBER)
    first = await wallets.operator_take(OPERATOR, MEMBER.key, 3, "abuse", "t1")
    again = await wallets.operator_take(OPERATOR, MEMBER.key, 3, "abuse", "t1")
    assert (first.outcome.duplicate, again.outcome.duplicate) == (False, True)
    assert (first.outcome.balance.available, again.outcome.balance.available) == (7, 7)
    assert (await wallets.balance(MEMBER)).balance.available == 7
    assert await store.audit() == []


async def test_racing_operator_takes_take_once_per_request_and_never_below_zero(wallets, store):
    await wallets.start(MEMBER)
    same = await asyncio.gather(*[wallets.operator_take(OPERATOR, MEMBER.key, 3, "race", "t-race") for _ in range(5)])
    assert sorted(m.outcome.duplicate for m in same) == [False, True, True, True, True]
    assert (await wallets.balance(MEMBER)).balance.available == 7

    # Four different takes of 3 against 7 available: two are taken, two refused with what is left.
    others = await asyncio.gather(
        *[wallets.operator_take(OPERATOR, MEMBER.key, 3, "each", f"t{n}") for n in range(4)], return_exceptions=True
    )
    taken = [r for r in others if not isinstance(r, BaseException)]
    refused = [r for r in others if isinstance(r, BaseException)]
    assert len(taken) == 2 and not any(m.outcome.duplicate for m in taken)
    assert len(refused) == 2 and all(isinstance(r, TakeExceedsBalance) and r.available == 1 for r in refused)
    assert (await wallets.balance(MEMBER)).balance.available == 1
    assert await store.audit() == []
