"""`PaymentService` on the in-memory stores: a pack is granted once per payment, refunds take
back only what is unspent, disputes freeze, Telegram Stars are granted once per charge."""

from __future__ import annotations

import logging

import pytest

from core.domain.identity import Identity
from core.domain.orders import CheckoutLink, OrderState, PaymentOutcome
from core.domain.payments import ChargeRefunded, CheckoutPaid, DisputeOpened
from core.domain.rewards import BonusKind
from core.errors import DailyNotAvailable
from tests.unit.memory_services import OPERATOR, Services, services

ANN = Identity.parse("telegram:1")


def paid(link: CheckoutLink, event: str = "evt_1") -> CheckoutPaid:
    order = link.order_id
    return CheckoutPaid(event, f"cs_{order}", order, link.pack.price, link.pack.currency, f"pi_{order}")


async def bought(s: Services) -> CheckoutLink:
    link = await s.payments.buy(ANN, "starter", request_id="r1")
    result = await s.payments.handle_stripe_event(paid(link))
    assert (result.outcome, result.credits) == (PaymentOutcome.GRANTED, 100)
    return link


async def test_the_same_request_gives_the_same_order_and_checkout_page():
    s = services()
    first = await s.payments.buy(ANN, "starter", request_id="r1")
    again = await s.payments.buy(ANN, "starter", request_id="r1")
    assert (again.order_id, again.url) == (first.order_id, first.url)


async def test_a_paid_checkout_grants_the_pack_once_however_often_stripe_says_so():
    s = services()
    link = await bought(s)
    repeat = await s.payments.handle_stripe_event(paid(link))
    other_event = await s.payments.handle_stripe_event(paid(link, "evt_2"))
    assert (repeat.outcome, other_event.outcome) == (PaymentOutcome.DUPLICATE, PaymentOutcome.ALREADY_DONE)
    view = await s.wallets.balance(ANN)
    assert (view.plan, view.balance.paid, view.balance.free) == ("starter", 100, 10)
    order = await s.stores.payments.get_order(link.order_id)
    assert order is not None and (order.state, order.payment_intent_id) == (OrderState.PAID, f"pi_{link.order_id}")
    assert await s.audit() == []


async def test_a_refund_takes_back_only_the_unspent_credits_of_that_purchase():
    s = services()
    link = await bought(s)
    await s.spend(ANN, 40, "j1")  # 10 free credits first, then 30 of the pack
    refund = ChargeRefunded("evt_r", "ch_1", f"pi_{link.order_id}", link.order_id, 500, 500)
    result = await s.payments.handle_stripe_event(refund)
    assert (result.outcome, result.credits, result.balance.available if result.balance else None) == (
        PaymentOutcome.TAKEN_BACK,
        70,
        0,
    )
    order = await s.stores.payments.get_order(link.order_id)
    assert order is not None and order.state == OrderState.REFUNDED
    assert await s.audit() == []


async def test_a_dispute_takes_the_whole_purchase_back_and_freezes_the_wallet():
    s = services()
    link = await bought(s)
    await s.spend(ANN, 40, "j1")
    dispute = DisputeOpened("evt_d", "dp_1", "ch_1", f"pi_{link.order_id}", None, 500)
    result = await s.payments.handle_stripe_event(dispute)
    assert (result.outcome, result.credits) == (PaymentOutcome.TAKEN_BACK, 100)
    balance = await s.balance(ANN)
    assert (balance.frozen, balance.debt, balance.available) == (True, 30, -30)
    assert await s.audit() == []


async def test_each_payment_is_one_log_event_with_its_event_id_order_and_payer(caplog):
    s = services()
    invoice = await s.payments.stars_invoice(ANN, "starter", request_id="r1")
    with caplog.at_level(logging.INFO, logger="core.services.payments"):
        await s.payments.stars_paid(invoice.payload, "tg_9", invoice.amount, ANN)
        await s.payments.refund_stars(OPERATOR, "tg_9")
    events = [(r.event_id, r.order_id, r.identity, r.outcome, r.credits) for r in caplog.records]  # type: ignore[attr-defined]
    assert events == [
        ("tg_9", invoice.payload, ANN.key, "granted", 100),
        ("tg_9", invoice.payload, ANN.key, "taken_back", 100),
    ]


async def test_a_stars_payment_is_granted_once_per_charge_and_refunded_by_an_operator():
    s = services()
    invoice = await s.payments.stars_invoice(ANN, "starter", request_id="r1")
    check = await s.payments.pre_checkout(invoice.payload, invoice.amount, invoice.currency, ANN)
    assert check.ok
    first = await s.payments.stars_paid(invoice.payload, "tg_1", invoice.amount, ANN)
    again = await s.payments.stars_paid(invoice.payload, "tg_1", invoice.amount, ANN)
    assert (first.outcome, first.credits, again.outcome) == (PaymentOutcome.GRANTED, 100, PaymentOutcome.DUPLICATE)
    assert again.balance is not None and again.balance.available == 110
    refund = await s.payments.refund_stars(OPERATOR, "tg_1")
    assert (refund.credits_taken, refund.already, refund.payer) == (100, False, ANN.key)
    assert (await s.payments.refund_stars(OPERATOR, "tg_1")).already
    assert await s.available(ANN) == 10


async def test_someone_elses_invoice_is_refused_before_the_charge():
    s = services()
    invoice = await s.payments.stars_invoice(ANN, "starter", request_id="r1")
    check = await s.payments.pre_checkout(
        invoice.payload, invoice.amount, invoice.currency, Identity.parse("telegram:2")
    )
    assert not check.ok and check.refusal is not None and check.refusal.value == "not_your_order"


async def test_a_purchase_makes_the_daily_credit_stop():
    s = services()
    await bought(s)
    assert await s.bonuses.next_daily_at(ANN) is None
    with pytest.raises(DailyNotAvailable) as refused:
        await s.bonuses.claim_daily(ANN)
    assert refused.value.plan == "starter"
    assert await s.available(ANN) == 110  # nothing granted
    assert BonusKind.DAILY not in {c.kind for c in s.stores.world.claims.values()}  # nor recorded
