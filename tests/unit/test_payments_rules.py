"""The pure payment rules (core.domain.orders): what each event does to an order."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from core.domain.ledger import LotKind, Reason
from core.domain.orders import (
    Channel,
    Order,
    OrderState,
    PaymentOutcome,
    Refusal,
    credits_for,
    on_checkout_closed,
    on_checkout_paid,
    on_checkout_pending,
    on_dispute,
    on_refund,
    on_session_record,
    on_stars_paid,
    on_stars_refund,
    pre_checkout_refusal,
)
from core.domain.payments import (
    ChargeRefunded,
    CheckoutClosed,
    CheckoutPaid,
    CheckoutPending,
    CheckoutSessionRecord,
    DisputeOpened,
)

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def an_order(**changes: object) -> Order:
    order = Order(
        order_id="ord_1",
        request_key="stripe:console:ann:r1",
        person_id=7,
        wallet_id=70,
        identity="console:ann",
        channel=Channel.STRIPE,
        pack_id="popular",
        credits=400,
        amount=1500,
        currency="usd",
        state=OrderState.OPEN,
        created_at=NOW,
        updated_at=NOW,
        stripe_session_id="cs_1",
    )
    return dataclasses.replace(order, **changes)  # type: ignore[arg-type]


def paid(amount: int = 1500, currency: str = "usd", session: str = "cs_1") -> CheckoutPaid:
    return CheckoutPaid("evt_1", session, "ord_1", amount, currency, "pi_1")


def refunded(amount_refunded: int) -> ChargeRefunded:
    return ChargeRefunded("evt_r", "ch_1", "pi_1", None, 1500, amount_refunded)


def test_a_paid_checkout_grants_the_pack_as_paid_credits_keyed_by_its_session():
    effect = on_checkout_paid(an_order(), paid())
    assert effect.outcome == PaymentOutcome.GRANTED
    assert effect.state == OrderState.PAID
    assert effect.grant is not None
    assert (effect.grant.key, effect.grant.account_id, effect.grant.amount) == (
        "purchase:cs_1",
        70,
        400,
    )
    assert (effect.grant.reason, effect.grant.lot_kind) == (Reason.PURCHASE, LotKind.PAID)
    assert (effect.grant.pack_id, effect.grant.order_ref) == ("popular", "ord_1")
    assert effect.payment_intent_id == "pi_1"


@pytest.mark.parametrize(
    "event",
    [paid(amount=1499), paid(amount=15000), paid(currency="eur")],
    ids=["less", "more", "other currency"],
)
def test_a_payment_that_does_not_match_the_order_grants_nothing(event):
    effect = on_checkout_paid(an_order(), event)
    assert (effect.outcome, effect.detail, effect.grant) == (
        PaymentOutcome.IGNORED,
        "amount_mismatch",
        None,
    )


def test_the_currency_case_does_not_matter():
    assert on_checkout_paid(an_order(), paid(currency="USD")).outcome == PaymentOutcome.GRANTED


def test_unknown_orders_other_sessions_and_stars_orders_are_ignored():
    assert on_checkout_paid(None, paid()).detail == "unknown_order"
    assert on_checkout_paid(an_order(), paid(session="cs_other")).detail == "session_mismatch"
    assert on_checkout_paid(an_order(channel=Channel.STARS), paid()).detail == "wrong_channel"


def test_a_second_payment_event_for_a_fulfilled_order_is_already_done():
    for state in (OrderState.PAID, OrderState.REFUNDED, OrderState.DISPUTED):
        effect = on_checkout_paid(an_order(state=state), paid())
        assert (effect.outcome, effect.grant) == (PaymentOutcome.ALREADY_DONE, None)


def test_money_that_arrives_after_the_order_was_closed_is_still_granted():
    effect = on_checkout_paid(an_order(state=OrderState.CLOSED), paid())
    assert effect.outcome == PaymentOutcome.GRANTED


def test_a_session_with_no_recorded_id_yet_is_accepted_and_remembered():
    effect = on_checkout_paid(an_order(stripe_session_id=None), paid(session="cs_9"))
    assert (effect.outcome, effect.session_id) == (PaymentOutcome.GRANTED, "cs_9")


def test_pending_and_closed_events():
    assert on_checkout_pending(an_order(), CheckoutPending("e", "cs_1", "ord_1")).outcome == PaymentOutcome.NOTED
    closed = on_checkout_closed(an_order(), CheckoutClosed("e", "cs_1", "ord_1", "expired"))
    assert (closed.outcome, closed.state) == (PaymentOutcome.CLOSED, OrderState.CLOSED)
    late = on_checkout_closed(an_order(state=OrderState.PAID), CheckoutClosed("e", "cs_1", "ord_1", "expired"))
    assert (late.outcome, late.state) == (PaymentOutcome.IGNORED, None)


def test_refunds_take_back_the_cumulative_refunded_share():
    order = an_order(state=OrderState.PAID)
    half = on_refund(order, refunded(750))
    assert half.outcome == PaymentOutcome.TAKEN_BACK
    assert half.state == OrderState.PAID
    [take] = half.take_backs
    assert (take.key, take.target_total, take.reason) == ("refund:ord_1:750", 200, Reason.REFUND)

    after_half = an_order(state=OrderState.PAID, amount_refunded=750)
    full = on_refund(after_half, refunded(1500))
    [take] = full.take_backs
    assert (take.key, take.target_total, full.state) == (
        "refund:ord_1:1500",
        400,
        OrderState.REFUNDED,
    )

    # The partial event delivered late changes nothing.
    assert on_refund(an_order(state=OrderState.REFUNDED, amount_refunded=1500), refunded(750)).outcome == (
        PaymentOutcome.ALREADY_DONE
    )


def test_a_dispute_after_a_partial_refund_targets_both_together_and_marks_the_order():
    order = an_order(state=OrderState.PAID, amount_refunded=750)
    effect = on_dispute(order, DisputeOpened("e", "dp_1", "ch_1", "pi_1", None, 750))
    [take] = effect.take_backs
    assert (take.reason, take.target_total, take.key) == (Reason.DISPUTE, 400, "dispute:ord_1:750")
    assert effect.state == OrderState.DISPUTED


def test_a_refund_before_the_payment_is_noted_and_applied_by_the_grant():
    noted = on_refund(an_order(), refunded(1500))
    assert (noted.outcome, noted.amount_refunded, noted.take_backs) == (
        PaymentOutcome.NOTED,
        1500,
        (),
    )
    effect = on_checkout_paid(an_order(amount_refunded=1500), paid())
    assert effect.outcome == PaymentOutcome.GRANTED and effect.grant is not None
    [take] = effect.take_backs
    assert (take.target_total, effect.state) == (400, OrderState.REFUNDED)


def test_reconciliation_fulfils_paid_sessions_and_closes_expired_ones():
    record = CheckoutSessionRecord("cs_1", "ord_1", "complete", "paid", 1500, "usd", 0, "pi_1")
    assert on_session_record(an_order(), record).outcome == PaymentOutcome.GRANTED
    expired = dataclasses.replace(record, status="expired", payment_status="unpaid")
    assert on_session_record(an_order(), expired).outcome == PaymentOutcome.CLOSED
    wrong = dataclasses.replace(record, amount_total=None)
    assert on_session_record(an_order(), wrong).detail == "amount_mismatch"


def stars_order(**changes: object) -> Order:
    fields: dict[str, object] = dict(channel=Channel.STARS, currency="XTR", amount=750, stripe_session_id=None)
    fields.update(changes)
    return an_order(**fields)


def test_stars_payments_grant_once_per_charge_and_refuse_a_second_charge():
    effect = on_stars_paid(stars_order(), "tg_1", 750, "XTR")
    assert effect.grant is not None and effect.grant.key == "stars:tg_1"
    assert effect.telegram_charge_id == "tg_1"
    done = stars_order(state=OrderState.PAID, telegram_charge_id="tg_1")
    assert on_stars_paid(done, "tg_1", 750, "XTR").outcome == PaymentOutcome.ALREADY_DONE
    assert on_stars_paid(done, "tg_2", 750, "XTR").detail == "paid_twice"
    assert on_stars_paid(stars_order(), "tg_1", 749, "XTR").detail == "amount_mismatch"
    assert on_stars_paid(an_order(), "tg_1", 1500, "usd").detail == "wrong_channel"


def test_a_stars_refund_takes_everything_back_but_only_for_paid_stars_orders():
    effect = on_stars_refund(stars_order(state=OrderState.PAID, telegram_charge_id="tg_1"))
    [take] = effect.take_backs
    assert (take.target_total, effect.state) == (400, OrderState.REFUNDED)
    assert on_stars_refund(stars_order()).outcome == PaymentOutcome.IGNORED
    assert on_stars_refund(None).outcome == PaymentOutcome.IGNORED


@pytest.mark.parametrize(
    ("order", "amount", "payer", "frozen", "refusal"),
    [
        (None, 750, 7, False, Refusal.UNKNOWN_ORDER),
        ("stripe", 750, 7, False, Refusal.UNKNOWN_ORDER),
        ("paid", 750, 7, False, Refusal.ORDER_NOT_OPEN),
        ("open", 1, 7, False, Refusal.WRONG_AMOUNT),
        ("open", 750, 8, False, Refusal.NOT_YOUR_ORDER),
        ("open", 750, None, False, Refusal.NOT_YOUR_ORDER),
        ("open", 750, 7, True, Refusal.WALLET_FROZEN),
        ("open", 750, 7, False, None),
    ],
)
def test_pre_checkout(order, amount, payer, frozen, refusal):
    orders = {
        None: None,
        "stripe": an_order(),
        "paid": stars_order(state=OrderState.PAID),
        "open": stars_order(),
    }
    assert pre_checkout_refusal(orders[order], amount, "XTR", payer, frozen) == refusal


def test_credits_for_rounds_down_and_caps():
    order = an_order(credits=100, amount=300)
    assert [credits_for(order, m) for m in (0, 1, 2, 3, 150, 299, 300, 10_000, -5)] == [
        0,
        0,
        0,
        1,
        50,
        99,
        100,
        100,
        0,
    ]
