"""The credit ledger against a real SQLite file and the real PostgreSQL server."""

from __future__ import annotations

import asyncio
import datetime as dt
from functools import partial

import pytest

from adapters.storage.ledger import SqlLedgerStore
from core.domain.ledger import Grant, HoldState, LotKind, Reason
from core.domain.pricing import PackTable, Pricing
from core.domain.rules import CreditRules, welcome_grant
from core.errors import (
    HoldAlreadyResolved,
    HoldNotFound,
    InsufficientCredits,
    OperationFailed,
    WalletFrozen,
)
from core.ports import WelcomeDecision

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=20)


def welcome(amount: int = 10) -> WelcomeDecision:
    return partial(welcome_grant, rules=CreditRules(Pricing({5: 1}), PackTable(()), welcome_credits=amount), now=NOW)


async def new_wallet(store: SqlLedgerStore, name: str, credits: int = 10) -> int:
    person = await store.ensure_person(f"console:{name}", welcome=welcome(credits), now=NOW)
    return person.wallet_id


async def test_first_contact_grants_the_welcome_credits_once_even_when_messages_race(store):
    people = await asyncio.gather(*[store.ensure_person("telegram:42", welcome=welcome(), now=NOW) for _ in range(20)])
    assert len({p.person_id for p in people}) == 1
    assert sum(p.created for p in people) == 1
    balance = await store.balance(people[0].wallet_id)
    assert (balance.free, balance.paid, balance.available) == (10, 0, 10)
    assert await store.audit() == []


async def test_a_grant_applies_once_when_repeated_or_raced_and_a_missing_wallet_changes_nothing(store):
    wallet = await new_wallet(store, "gil", credits=0)
    grant = Grant("daily:gil:1", wallet, 3, Reason.DAILY, expires_at=LATER)
    raced = await asyncio.gather(*(store.grant(grant, now=NOW) for _ in range(12)))
    again = await store.grant(grant, now=NOW)
    assert sum(not o.duplicate for o in raced) == 1 and again.duplicate
    assert {(o.amount, o.balance.free, o.balance.available) for o in [*raced, again]} == {(3, 3, 3)}
    before = await store.history(wallet, limit=10)
    with pytest.raises(Exception):  # noqa: B017,PT011 - no such wallet: the database's foreign key (or the fake) refuses
        await store.grant(Grant("daily:nobody:1", wallet + 999, 3, Reason.DAILY), now=NOW)
    assert await store.history(wallet, limit=10) == before
    assert (await store.balance(wallet)).available == 3
    assert await store.audit() == []


async def test_hold_then_capture_charges_once_and_release_after_capture_is_refused(store):
    wallet = await new_wallet(store, "ann")
    held = await store.hold("hold:job1", wallet, 2, expires_at=LATER, now=NOW)
    assert (held.balance.available, held.balance.held) == (8, 2)
    first = await store.capture("hold:job1", now=NOW)
    again = await store.capture("hold:job1", now=NOW)
    assert (first.amount, first.duplicate, again.duplicate) == (2, False, True)
    assert again.balance.available == 8 and again.balance.held == 0
    with pytest.raises(HoldAlreadyResolved):
        await store.release("hold:job1", now=NOW)
    stats = await store.stats(wallet)
    assert (stats.lifetime_spent, stats.generations) == (2, 1)
    assert await store.audit() == []


async def test_release_returns_the_credits_and_a_duplicate_hold_key_is_already_done(store):
    wallet = await new_wallet(store, "bob")
    await store.hold("hold:j", wallet, 3, expires_at=LATER, now=NOW)
    duplicate = await store.hold("hold:j", wallet, 3, expires_at=LATER, now=NOW)
    assert duplicate.duplicate and duplicate.balance.held == 3
    released = await store.release("hold:j", now=NOW)
    assert released.balance.available == 10 and released.balance.held == 0
    assert (await store.release("hold:j", now=NOW)).duplicate
    with pytest.raises(HoldAlreadyResolved):
        await store.capture("hold:j", now=NOW)
    with pytest.raises(HoldNotFound):
        await store.capture("hold:nope", now=NOW)
    assert await store.audit() == []


async def test_insufficient_credits_carries_the_numbers_and_changes_nothing(store):
    wallet = await new_wallet(store, "cat", credits=1)
    with pytest.raises(InsufficientCredits) as refused:
        await store.hold("hold:big", wallet, 2, expires_at=LATER, now=NOW)
    assert (refused.value.required, refused.value.available) == (2, 1)
    assert await store.get_hold("hold:big") is None
    assert (await store.balance(wallet)).available == 1
    assert await store.audit() == []


async def test_two_hundred_concurrent_holds_against_fifty_credits_exactly_fifty_succeed(store):
    wallet = await new_wallet(store, "dan", credits=50)

    async def one(i: int) -> bool:
        try:
            await store.hold(f"hold:race{i}", wallet, 1, expires_at=LATER, now=NOW)
            return True
        except InsufficientCredits:
            return False

    results = await asyncio.gather(*[one(i) for i in range(200)])
    assert results.count(True) == 50 and results.count(False) == 150
    assert (await store.balance(wallet)).available == 0
    assert await store.audit() == []


async def test_free_credits_are_spent_before_paid_ones_earliest_expiry_first(store):
    wallet = await new_wallet(store, "eve", credits=0)
    await store.grant(
        Grant("purchase:o1", wallet, 100, Reason.PURCHASE, LotKind.PAID, pack_id="starter", order_ref="o1"), now=NOW
    )
    await store.grant(Grant("daily:eve:1", wallet, 1, Reason.DAILY, expires_at=NOW + dt.timedelta(days=2)), now=NOW)
    await store.grant(Grant("email:eve", wallet, 5, Reason.EMAIL, expires_at=NOW + dt.timedelta(days=1)), now=NOW)
    await store.hold("hold:a", wallet, 3, expires_at=LATER, now=NOW)
    after = await store.capture("hold:a", now=NOW)
    assert (after.balance.free, after.balance.paid) == (3, 100)
    await store.hold("hold:b", wallet, 5, expires_at=LATER, now=NOW)
    after = await store.capture("hold:b", now=NOW)
    assert (after.balance.free, after.balance.paid) == (0, 98)
    assert await store.audit() == []


async def test_refund_takes_back_only_the_unspent_credits_of_that_purchase(store):
    wallet = await new_wallet(store, "fay", credits=10)
    await store.grant(
        Grant("purchase:o2", wallet, 100, Reason.PURCHASE, LotKind.PAID, pack_id="starter", order_ref="o2"), now=NOW
    )
    await store.hold("hold:x", wallet, 15, expires_at=LATER, now=NOW)
    await store.capture("hold:x", now=NOW)  # 10 free + 5 paid spent
    half = await store.take_back(
        "refund:o2:250", wallet, order_ref="o2", target_total=50, reason=Reason.REFUND, now=NOW
    )
    assert half.amount == 50 and half.balance.paid == 45
    full = await store.take_back(
        "refund:o2:500", wallet, order_ref="o2", target_total=100, reason=Reason.REFUND, now=NOW
    )
    assert full.amount == 45 and full.balance.available == 0
    repeat = await store.take_back(
        "refund:o2:500", wallet, order_ref="o2", target_total=100, reason=Reason.REFUND, now=NOW
    )
    assert repeat.duplicate and repeat.balance.available == 0
    assert await store.audit() == []


async def test_dispute_takes_back_the_purchase_freezes_and_may_leave_a_debt(store):
    wallet = await new_wallet(store, "gus", credits=0)
    await store.grant(
        Grant("purchase:o3", wallet, 100, Reason.PURCHASE, LotKind.PAID, pack_id="starter", order_ref="o3"), now=NOW
    )
    await store.hold("hold:y", wallet, 30, expires_at=LATER, now=NOW)
    await store.capture("hold:y", now=NOW)
    disputed = await store.take_back(
        "dispute:dp1", wallet, order_ref="o3", target_total=100, reason=Reason.DISPUTE, now=NOW
    )
    assert disputed.balance.frozen and disputed.balance.debt == 30 and disputed.balance.available == -30
    with pytest.raises(WalletFrozen):
        await store.hold("hold:z", wallet, 1, expires_at=LATER, now=NOW)
    with pytest.raises(OperationFailed):
        await store.set_frozen(wallet, False)  # still in debt
    await store.grant(Grant("operator:fix", wallet, 40, Reason.OPERATOR), now=NOW)
    cleared = await store.set_frozen(wallet, False)
    assert (cleared.frozen, cleared.available, cleared.free) == (False, 10, 10)
    assert await store.audit() == []


async def test_transfer_to_a_server_wallet_and_gift_to_a_member(store):
    admin = await new_wallet(store, "hal", credits=10)
    member = await new_wallet(store, "ivy", credits=0)
    server = await store.ensure_server_wallet("discord_guild:1", now=NOW)
    moved = await store.transfer("move:1", admin, server, 6, Reason.TRANSFER, now=NOW)
    assert moved.balance.available == 4
    assert (await store.transfer("move:1", admin, server, 6, Reason.TRANSFER, now=NOW)).duplicate
    await store.transfer("gift:1", server, member, 5, Reason.GIFT, now=NOW)
    with pytest.raises(InsufficientCredits):
        await store.transfer("gift:2", server, member, 5, Reason.GIFT, now=NOW)
    assert (await store.balance(member)).free == 5
    assert (await store.balance(server)).available == 1
    assert await store.audit() == []


async def test_expired_holds_are_swept_and_a_late_capture_charges_only_if_the_balance_allows(store):
    wallet = await new_wallet(store, "jo", credits=3)
    await store.hold("hold:late", wallet, 2, expires_at=NOW + dt.timedelta(minutes=1), now=NOW)
    await store.hold("hold:late2", wallet, 1, expires_at=NOW + dt.timedelta(minutes=1), now=NOW)
    assert await store.sweep_expired_holds(now=NOW + dt.timedelta(minutes=2)) == 2
    assert (await store.get_hold("hold:late")).state == HoldState.EXPIRED
    charged = await store.capture("hold:late", now=NOW + dt.timedelta(minutes=3))
    assert charged.amount == 2 and charged.balance.available == 1
    assert (await store.capture("hold:late", now=NOW)).duplicate
    await store.take("op:take", wallet, 1, Reason.OPERATOR_TAKE, now=NOW)
    free_ride = await store.capture("hold:late2", now=NOW + dt.timedelta(minutes=3))
    assert free_ride.amount == 0 and free_ride.balance.available == 0
    assert await store.audit() == []


async def test_operator_take_never_goes_below_zero(store):
    wallet = await new_wallet(store, "kim", credits=3)
    with pytest.raises(InsufficientCredits):
        await store.take("op:t", wallet, 4, Reason.OPERATOR_TAKE, now=NOW)
    assert (await store.balance(wallet)).available == 3


async def test_history_lists_signed_entries_newest_first(store):
    wallet = await new_wallet(store, "lee", credits=10)
    await store.hold("hold:h", wallet, 2, expires_at=LATER, now=NOW)
    await store.capture("hold:h", now=NOW)
    entries = await store.history(wallet)
    assert [(e.amount, e.reason) for e in entries] == [(-2, "spend"), (10, "welcome")]
