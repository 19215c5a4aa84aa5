"""The top-up store's contract on SQLite and PostgreSQL (and, through
`tests/unit/test_memory_top_ups_keep_the_sql_contract.py`, on the in-memory fakes): one top-up in
flight per wallet, settled by its order; caps; the day's one "limit reached"; a failure pauses
and closes the order; turning off drops a charge not yet sent; a pending opt-in refuses another;
a due charge whose Stripe call was lost is found again and retried with the same key."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.payments import SqlPaymentStore
from adapters.storage.top_ups import SqlTopUpStore
from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.ledger import Reason
from core.domain.orders import OrderState
from core.domain.payments import CardSaved, IntentSucceeded
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rules import CreditRules
from core.domain.top_ups import AutoState, TopUpLimits, Verdict
from core.ports import LedgerStore, PaymentStore, TopUpStore
from core.services.payments import PaymentService
from core.services.top_ups import TopUpService
from core.services.wallets import WalletService
from tests.fakes.edges import FakeCheckout
from tests.fakes.memory import MemoryStores

START = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
ANN = Identity("console", "ann")
RULES = CreditRules(pricing=Pricing({10: 2}), packs=PackTable((Pack("small", 100, 500), Pack("big", 1000, 3500))))


@dataclass
class Kit:
    clock: ManualClock
    ledger: LedgerStore
    store: TopUpStore
    payments: PaymentStore
    cards: FakeCheckout
    top_ups: TopUpService


def kit(database: Database | MemoryStores, *, per_day: int = 2, per_month: int = 10_000) -> Kit:
    clock = ManualClock(START)
    ledger: LedgerStore
    store: TopUpStore
    payments: PaymentStore
    if isinstance(database, MemoryStores):
        ledger, store, payments = database.ledger, database.top_ups, database.payments
    else:
        sql_ledger = SqlLedgerStore(database)
        ledger, store, payments = sql_ledger, SqlTopUpStore(database), SqlPaymentStore(database, sql_ledger)
    cards = FakeCheckout()
    wallets = WalletService(ledger, RULES, clock)
    service = PaymentService(payments, wallets, RULES, clock, gateway=cards)
    limits = TopUpLimits(per_day=per_day, per_month=per_month, max_threshold=1000)
    return Kit(clock, ledger, store, payments, cards, TopUpService(store, service, wallets, clock, limits, cards=cards))


async def switched_on(k: Kit, pack: str = "small", line: str = "50") -> int:
    setup = await k.top_ups.enable(ANN, pack, line, request_id="r1")
    assert setup.link is not None and setup.auto.customer_id is not None
    await k.top_ups.handle_stripe_event(CardSaved("evt_saved", setup.link.order_id, setup.auto.customer_id, "pm_1"))
    return setup.auto.wallet_id


async def paid(k: Kit, key: str, event: str = "evt_paid") -> None:
    charge = k.cards.charges[key]
    await k.top_ups.handle_stripe_event(
        IntentSucceeded(event, f"pi_{charge.order_id}", charge.order_id, charge.amount_cents, charge.currency)
    )


async def test_top_up_store_keeps_one_in_flight_until_its_order_is_paid(database):
    k = kit(database)
    wallet = await switched_on(k)
    assert await k.top_ups.after_capture(wallet, "e1") == Verdict.CHARGE
    assert await k.top_ups.after_capture(wallet, "e2") == Verdict.NOTHING  # in flight
    assert await k.top_ups.after_capture(wallet, "e1") == Verdict.NOTHING  # the same entry again
    assert list(k.cards.charges) == [f"topup:{wallet}:e1"]
    await paid(k, f"topup:{wallet}:e1")
    assert (await k.ledger.balance(wallet)).available == 110  # 10 welcome credits + the small pack
    assert await k.top_ups.after_capture(wallet, "e3") == Verdict.NOTHING  # above the line now
    await k.ledger.take("spend", wallet, 100, Reason.OPERATOR_TAKE, now=k.clock.now())
    assert await k.top_ups.after_capture(wallet, "e4") == Verdict.CHARGE  # below again: the next one
    assert len(k.cards.charges) == 2


async def test_top_up_store_caps_the_day_and_says_so_once(database):
    k = kit(database, per_day=1)
    wallet = await switched_on(k)
    assert await k.top_ups.after_capture(wallet, "e1") == Verdict.CHARGE
    await paid(k, f"topup:{wallet}:e1")
    await k.ledger.take("spend", wallet, 100, Reason.OPERATOR_TAKE, now=k.clock.now())
    assert await k.top_ups.after_capture(wallet, "e2") == Verdict.CAPPED
    assert await k.top_ups.after_capture(wallet, "e3") == Verdict.NOTHING  # said once today
    k.clock.advance(days=1)
    assert await k.top_ups.after_capture(wallet, "e4") == Verdict.CHARGE  # a new day
    assert len(k.cards.charges) == 2


async def test_top_up_store_failure_pauses_closes_the_order_and_a_new_card_resumes(database):
    k = kit(database)
    wallet = await switched_on(k)
    k.cards.refuse = "authentication_required"
    assert await k.top_ups.after_capture(wallet, "e1") == Verdict.CHARGE
    auto = await k.store.auto_top_up(wallet)
    assert auto is not None and (auto.state, auto.paused_reason) == (AutoState.PAUSED, "authentication_required")
    order = await k.payments.get_order(k.cards.attempts[-1].order_id)
    assert order is not None and order.state == OrderState.CLOSED
    assert await k.top_ups.after_capture(wallet, "e2") == Verdict.NOTHING
    assert await k.store.card_saved(wallet, "cus_other", "pm_2", now=k.clock.now()) is None  # not its customer
    resumed = await k.store.card_saved(wallet, auto.customer_id or "", "pm_2", now=k.clock.now())
    assert resumed is not None and (resumed.state, resumed.payment_method_id) == (AutoState.ON, "pm_2")


async def test_top_up_store_turning_off_drops_a_charge_not_yet_sent_and_a_pending_opt_in_refuses(database):
    k = kit(database)
    first = await k.top_ups.enable(ANN, "small", "50", request_id="r1")
    assert not await k.store.save_auto_top_up(first.auto, now=k.clock.now())  # pending: refused
    k.clock.advance(hours=2)  # the Checkout expired: no longer pending
    assert await k.store.save_auto_top_up(first.auto, now=k.clock.now())
    assert await k.store.turn_off(first.auto.wallet_id, now=k.clock.now())
    assert not await k.store.turn_off(first.auto.wallet_id, now=k.clock.now())
    assert await k.store.auto_top_up(first.auto.wallet_id) is None


async def test_top_up_store_finds_a_due_charge_whose_call_was_lost_and_retries_with_its_key(database):
    k = kit(database)
    wallet = await switched_on(k)
    broken = k.cards.charge_saved_card

    async def lost(charge):  # the process dies after the commit, before Stripe answers
        raise ConnectionError("gone")

    k.cards.charge_saved_card = lost  # type: ignore[method-assign]
    assert await k.top_ups.after_capture(wallet, "e1") == Verdict.CHARGE
    assert k.cards.charges == {}
    assert await k.top_ups.sweep() == 0  # not yet: it may still be under way
    k.cards.charge_saved_card = broken  # type: ignore[method-assign]
    k.clock.advance(minutes=2)
    assert await k.top_ups.sweep() == 1
    assert list(k.cards.charges) == [f"topup:{wallet}:e1"]
    assert await k.top_ups.sweep() == 0  # charged now: not due any more


async def test_top_up_store_a_charge_whose_webhook_never_came_is_fulfilled_by_the_sweep_once(database):
    k = kit(database)
    wallet = await switched_on(k)
    assert await k.top_ups.after_capture(wallet, "e1") == Verdict.CHARGE
    assert await k.top_ups.sweep() == 0  # the webhook may still come
    k.clock.advance(minutes=11)
    assert await k.top_ups.sweep() == 1
    assert (await k.ledger.balance(wallet)).available == 110
    await paid(k, f"topup:{wallet}:e1")  # the webhook, late: nothing more
    assert await k.top_ups.sweep() == 0
    assert (await k.ledger.balance(wallet)).available == 110
