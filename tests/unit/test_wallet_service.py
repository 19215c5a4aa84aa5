"""`WalletService` on the in-memory stores: first contact, balances, plan, operators."""

from __future__ import annotations

import pytest

from core.domain.identity import Identity
from core.errors import NotPermitted, OperationFailed, TakeExceedsBalance, UnknownIdentity
from tests.unit.memory_services import OPERATOR, services

ANN = Identity.parse("telegram:1")


async def test_first_contact_grants_the_welcome_credits_once():
    s = services()
    first = await s.wallets.start(ANN)
    again = await s.wallets.start(ANN)
    assert (first.welcome_credits, first.balance.free, first.balance.available) == (10, 10, 10)
    assert again.person == first.person.__class__(first.person.person_id, first.person.wallet_id, created=False)
    assert (again.welcome_credits, again.balance.available) == (0, 10)
    assert await s.audit() == []


async def test_a_glance_tells_someone_new_their_welcome_without_writing_anything():
    s = services()
    glance = await s.wallets.glance(ANN)
    assert (glance.available, glance.welcome_credits) == (10, 10)
    assert s.stores.world.persons == {}


async def test_without_welcome_credits_a_new_wallet_starts_empty():
    s = services(welcome_credits=0)
    welcome = await s.wallets.start(ANN)
    assert (welcome.welcome_credits, welcome.balance.available) == (0, 0)
    assert s.stores.world.transfers == {}


async def test_the_plan_is_free_until_a_purchase_then_the_largest_pack_bought():
    s = services()
    assert (await s.wallets.balance(ANN)).plan == "free"
    await s.buy(ANN, "pro", 1000, "o1")
    await s.buy(ANN, "starter", 100, "o2")
    view = await s.wallets.balance(ANN)
    assert (view.plan, view.balance.free, view.balance.paid) == ("pro", 10, 1100)


async def test_spending_takes_the_free_credits_before_the_paid_ones():
    s = services()
    await s.buy(ANN, "starter", 100, "o1")
    await s.spend(ANN, 12, "j1")
    view = await s.wallets.balance(ANN)
    assert (view.balance.free, view.balance.paid, view.stats.lifetime_spent, view.stats.generations) == (0, 98, 12, 1)


async def test_the_history_lists_the_latest_movements_first():
    s = services()
    await s.spend(ANN, 2, "j1")
    history = await s.wallets.history(ANN)
    assert [(entry.reason, entry.amount) for entry in history] == [("spend", -2), ("welcome", 10)]


async def test_an_operator_grant_repeated_with_the_same_request_moves_credits_once():
    s = services()
    await s.wallets.start(ANN)
    first = await s.wallets.operator_grant(OPERATOR, ANN.key, "5", "sorry", "req-1")
    again = await s.wallets.operator_grant(OPERATOR, ANN.key, "5", "sorry", "req-1")
    assert (first.outcome.duplicate, again.outcome.duplicate) == (False, True)
    assert await s.available(ANN) == 15


async def test_an_operator_never_takes_a_wallet_below_zero():
    s = services()
    await s.wallets.start(ANN)
    with pytest.raises(TakeExceedsBalance) as short:
        await s.wallets.operator_take(OPERATOR, ANN.key, 11, "", "req-1")
    assert (short.value.identity, short.value.requested, short.value.available) == (ANN.key, 11, 10)
    assert await s.available(ANN) == 10
    taken = await s.wallets.operator_take(OPERATOR, ANN.key, 4, "", "req-2")
    assert taken.outcome.balance.available == 6
    assert await s.audit() == []


async def test_only_operators_act_on_other_wallets_and_only_on_known_ones():
    s = services()
    with pytest.raises(NotPermitted):
        await s.wallets.operator_grant(ANN, OPERATOR.key, 5, "", "req-1")
    with pytest.raises(UnknownIdentity):
        await s.wallets.operator_view(OPERATOR, "discord:404")


async def test_a_wallet_in_debt_stays_frozen():
    s = services()
    person = await s.wallets.person(ANN)
    await s.stores.ledger.set_frozen(person.wallet_id, True)
    s.stores.world.accounts[person.wallet_id].debits_posted += 20  # as a dispute past the balance leaves it
    with pytest.raises(OperationFailed) as refused:
        await s.wallets.operator_unfreeze(OPERATOR, ANN.key)
    assert refused.value.reason == "wallet_in_debt"


async def test_the_offer_of_a_refusal_reads_the_wallet_and_creates_nobody():
    s = services()
    assert await s.wallets.offer(ANN) is None  # not known: no offer, and still not known
    assert s.stores.world.persons == {}
    await s.spend(ANN, 9, "j1")
    offer = await s.wallets.offer(ANN)
    assert offer is not None and (offer.available, offer.out_of_credits) == (1, False)
    await s.spend(ANN, 1, "j2")
    assert (await s.wallets.offer(ANN)) == (await s.wallets.balance(ANN)).offer
