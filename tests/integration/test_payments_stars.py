"""Telegram Stars in core: invoice → pre-checkout → successful payment → operator refund.

The grant and its duplicates run on SQLite and PostgreSQL; the refusals on SQLite only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.storage import payments as payments_store
from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.payments import SqlPaymentStore
from bot.config import Settings
from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.ledger import Reason
from core.domain.orders import OrderState, PaymentOutcome, Refusal
from core.errors import NotPermitted, OperationFailed, PaymentsNotConfigured, UnknownPack
from core.services.payments import PaymentService
from core.services.wallets import WalletService

ANN = Identity("telegram", "42")
BOB = Identity("telegram", "43")
OPERATOR = Identity("telegram", "1")


class Stars:
    def __init__(self, db: Database, **overrides: object) -> None:
        values: dict[str, object] = dict(operator_ids="telegram:1", low_balance_threshold=2)
        values.update(overrides)
        settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]
        self.ledger = SqlLedgerStore(db)
        rules = settings.credit_rules()
        self.clock = ManualClock()
        self.wallets = WalletService(self.ledger, rules, self.clock)
        self.store = SqlPaymentStore(db, self.ledger)
        self.payments = PaymentService(
            self.store, self.wallets, rules, self.clock, stars_packs=settings.stars_pack_table
        )

    async def wallet(self, identity: Identity) -> int:
        return (await self.wallets.person(identity)).wallet_id


@pytest.fixture
async def stars(database: Database) -> Stars:
    return Stars(database)


@pytest.fixture
async def lite(sqlite_url: str) -> AsyncIterator[Stars]:
    async with Database(sqlite_url) as db:
        yield Stars(db)


async def test_a_stars_purchase_is_granted_once_however_often_telegram_reports_it(stars: Stars):
    invoice = await stars.payments.stars_invoice(ANN, "popular", request_id="m1")
    assert (invoice.amount, invoice.currency, invoice.pack.credits) == (750, "XTR", 400)
    check = await stars.payments.pre_checkout(invoice.payload, 750, "XTR", ANN)
    assert (check.ok, check.refusal) == (True, None)

    first = await stars.payments.stars_paid(invoice.payload, "tg_charge_1", 750, ANN)
    more = await asyncio.gather(
        *[stars.payments.stars_paid(invoice.payload, "tg_charge_1", 750, ANN) for _ in range(5)]
    )

    assert (first.outcome, first.credits) == (PaymentOutcome.GRANTED, 400)
    assert first.balance is not None and (first.balance.free, first.balance.paid) == (10, 400)
    assert first.offer is None  # 410 credits is not low
    assert {r.outcome for r in more} == {PaymentOutcome.DUPLICATE}
    balance = await stars.ledger.balance(await stars.wallet(ANN))
    assert (balance.paid, balance.available) == (400, 410)
    order = await stars.store.get_order(invoice.order_id)
    assert order is not None and (order.state, order.telegram_charge_id) == (
        OrderState.PAID,
        "tg_charge_1",
    )
    assert (await stars.wallets.balance(ANN)).plan == "popular"
    assert await stars.ledger.audit() == []


async def test_an_operator_refund_takes_the_unspent_credits_back_once(stars: Stars):
    invoice = await stars.payments.stars_invoice(ANN, "starter", request_id="m1")
    await stars.payments.stars_paid(invoice.payload, "tg_charge_9", 250, ANN)
    wallet = await stars.wallet(ANN)
    now = stars.clock.now()
    await stars.ledger.take("spent", wallet, 30, Reason.OPERATOR_TAKE, now=now)  # 10 free + 20 paid gone

    refund = await stars.payments.refund_stars(OPERATOR, "tg_charge_9")
    again = await stars.payments.refund_stars(OPERATOR, "tg_charge_9")

    assert (refund.payer, refund.telegram_payment_charge_id) == ("telegram:42", "tg_charge_9")
    assert (refund.credits_taken, refund.already) == (80, False)
    assert (again.credits_taken, again.already) == (0, True)
    assert (await stars.ledger.balance(wallet)).available == 0
    order = await stars.store.get_order(invoice.order_id)
    assert order is not None and order.state == OrderState.REFUNDED
    assert await stars.ledger.audit() == []


async def test_pre_checkout_refuses_what_would_not_be_granted(lite: Stars):
    invoice = await lite.payments.stars_invoice(ANN, "popular", request_id="m1")
    pay = lite.payments.pre_checkout

    assert (await pay("ord_never_made", 750, "XTR", ANN)).refusal == Refusal.UNKNOWN_ORDER
    assert (await pay("x" * 128, 750, "XTR", ANN)).refusal == Refusal.UNKNOWN_ORDER
    assert (await pay(invoice.payload, 1, "XTR", ANN)).refusal == Refusal.WRONG_AMOUNT
    assert (await pay(invoice.payload, 750, "USD", ANN)).refusal == Refusal.WRONG_AMOUNT
    assert (await pay(invoice.payload, 750, "XTR", BOB)).refusal == Refusal.NOT_YOUR_ORDER
    await lite.ledger.set_frozen(await lite.wallet(ANN), True)
    assert (await pay(invoice.payload, 750, "XTR", ANN)).refusal == Refusal.WALLET_FROZEN
    await lite.ledger.set_frozen(await lite.wallet(ANN), False)
    assert (await pay(invoice.payload, 750, "XTR", ANN)).ok
    await lite.payments.stars_paid(invoice.payload, "tg_1", 750, ANN)
    assert (await pay(invoice.payload, 750, "XTR", ANN)).refusal == Refusal.ORDER_NOT_OPEN
    # Nothing of that moved a credit: 10 welcome + the one purchase.
    assert (await lite.ledger.balance(await lite.wallet(ANN))).available == 410


async def test_a_payment_we_cannot_match_is_never_granted(lite: Stars):
    invoice = await lite.payments.stars_invoice(ANN, "popular", request_id="m1")
    unknown = await lite.payments.stars_paid("ord_never_made", "tg_a", 750, ANN)
    short = await lite.payments.stars_paid(invoice.payload, "tg_b", 700, ANN)
    assert (unknown.outcome, unknown.detail) == (PaymentOutcome.IGNORED, "unknown_order")
    assert (short.outcome, short.detail) == (PaymentOutcome.IGNORED, "amount_mismatch")
    # A second, different charge for an invoice already paid is not granted twice either.
    await lite.payments.stars_paid(invoice.payload, "tg_c", 750, ANN)
    twice = await lite.payments.stars_paid(invoice.payload, "tg_d", 750, ANN)
    assert (twice.outcome, twice.detail) == (PaymentOutcome.IGNORED, "paid_twice")
    assert (await lite.ledger.balance(await lite.wallet(ANN))).paid == 400
    assert await lite.ledger.audit() == []


async def test_a_purchase_that_still_leaves_a_low_balance_comes_with_the_offer(sqlite_url: str):
    async with Database(sqlite_url) as db:
        tiny = Stars(db, welcome_credits=0, stars_packs="tiny:1:1,big:500:900")
        invoice = await tiny.payments.stars_invoice(ANN, "tiny", request_id="m1")

        result = await tiny.payments.stars_paid(invoice.payload, "tg_1", 1, ANN)

        assert (result.outcome, result.credits) == (PaymentOutcome.GRANTED, 1)
        assert result.offer is not None and result.offer.available == 1
        assert [p.pack_id for p in result.offer.stars_packs] == ["tiny", "big"]
        assert [p.pack_id for p in result.offer.packs] == ["starter", "popular", "pro", "creator"]


async def test_refunds_are_for_operators_and_for_known_charges_only(lite: Stars):
    with pytest.raises(NotPermitted):
        await lite.payments.refund_stars(ANN, "tg_1")
    with pytest.raises(OperationFailed) as caught:
        await lite.payments.refund_stars(OPERATOR, "tg_nobody")
    assert caught.value.reason == "unknown_payment"


async def test_unknown_stars_packs_and_no_stars_packs_are_refused(lite: Stars):
    with pytest.raises(UnknownPack):
        await lite.payments.stars_invoice(ANN, "mega", request_id="m1")
    lite.payments.stars_packs = type(lite.payments.stars_packs)(())
    with pytest.raises(PaymentsNotConfigured):
        await lite.payments.stars_invoice(ANN, "popular", request_id="m2")


async def test_an_operator_refund_asked_three_times_at_once_takes_back_once(stars: Stars):
    invoice = await stars.payments.stars_invoice(ANN, "starter", request_id="m1")
    await stars.payments.stars_paid(invoice.payload, "tg_charge_7", 250, ANN)

    refunds = await asyncio.gather(*[stars.payments.refund_stars(OPERATOR, "tg_charge_7") for _ in range(3)])

    assert sorted(r.credits_taken for r in refunds) == [0, 0, 100]
    assert [r.already for r in refunds].count(False) == 1
    assert (await stars.ledger.balance(await stars.wallet(ANN))).available == 10
    assert await stars.ledger.audit() == []


async def test_a_failure_while_granting_stars_leaves_nothing_and_the_retry_grants(
    lite: Stars, monkeypatch: pytest.MonkeyPatch
):
    invoice = await lite.payments.stars_invoice(ANN, "popular", request_id="m1")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(payments_store, "_update_order", broken)
    with pytest.raises(RuntimeError):
        await lite.payments.stars_paid(invoice.payload, "tg_1", 750, ANN)
    assert (await lite.ledger.balance(await lite.wallet(ANN))).paid == 0
    order = await lite.store.get_order(invoice.order_id)
    assert order is not None and order.state == OrderState.OPEN
    assert not await lite.store.event_seen("telegram:payment:tg_1")

    monkeypatch.undo()
    result = await lite.payments.stars_paid(invoice.payload, "tg_1", 750, ANN)
    assert (result.outcome, result.credits) == (PaymentOutcome.GRANTED, 400)
    assert await lite.ledger.audit() == []
