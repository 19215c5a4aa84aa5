"""Orders (one per purchase intent) and the pure rules that decide what a payment does to one.

An order is written *before* anyone is asked for money: a Stripe Checkout session or a Telegram
Stars invoice carries its id, and every later event (paid, expired, refunded, disputed) is
matched back to it. The functions here take the order as it is now and the event, and return
an `Effect`: what to change on the order and which ledger movements to make. The storage adapter
applies an effect in the same transaction that records the event, so a payment is granted once
whatever the number, order or timing of deliveries.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from core.domain.ledger import Balance, Grant, LotKind, Reason
from core.domain.offers import Offer
from core.domain.payments import (
    ChargeRefunded,
    CheckoutClosed,
    CheckoutPaid,
    CheckoutPending,
    CheckoutSessionRecord,
    DisputeOpened,
    IntentSucceeded,
)
from core.domain.pricing import Pack

STARS_CURRENCY = "XTR"


class Channel(enum.StrEnum):
    STRIPE = "stripe"
    STARS = "stars"
    DISCORD = "discord"  # a consumable SKU bought in Discord's store (an entitlement)


class OrderState(enum.StrEnum):
    OPEN = "open"  # waiting for the money
    PAID = "paid"  # credits granted (a partial refund keeps it paid)
    CLOSED = "closed"  # expired or its payment failed: will never be paid
    REFUNDED = "refunded"  # fully refunded
    DISPUTED = "disputed"  # a chargeback was opened

    @property
    def fulfilled(self) -> bool:
        return self in (OrderState.PAID, OrderState.REFUNDED, OrderState.DISPUTED)


@dataclass(frozen=True)
class Order:
    order_id: str
    request_key: str  # "<identity>:<request id>": the same request makes one order
    person_id: int
    wallet_id: int  # where the credits go (the person's wallet, or a server wallet)
    identity: str  # who ordered, e.g. "telegram:42" (a Stars refund needs the user id)
    channel: Channel
    pack_id: str
    credits: int
    amount: int  # minor units: cents for Stripe, Stars for Telegram
    currency: str
    state: OrderState
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime | None = None
    stripe_session_id: str | None = None
    checkout_url: str | None = None
    payment_intent_id: str | None = None
    telegram_charge_id: str | None = None
    amount_refunded: int = 0  # cumulative, as the provider reports it
    amount_disputed: int = 0
    paid_at: dt.datetime | None = None
    experiment_id: str | None = None  # the pricing experiment whose arm priced this order
    arm: str | None = None
    # Credits a refund or deleted entitlement should have taken back but the person had spent
    # (the wallet never goes below zero for those): for the operator to see.
    credits_unrecovered: int = 0


def open_order(
    order_id: str,
    request_key: str,
    *,
    person_id: int,
    wallet_id: int,
    identity: str,
    channel: Channel,
    pack: Pack,
    now: dt.datetime,
    expires_at: dt.datetime | None = None,
    experiment_id: str | None = None,
    arm: str | None = None,
) -> Order:
    """A new order for `pack`, waiting for its money (price and credits from the pack table, or
    from the pricing experiment's arm `arm` it was sold under)."""
    return Order(
        order_id=order_id,
        request_key=request_key[:200],
        person_id=person_id,
        wallet_id=wallet_id,
        identity=identity,
        channel=channel,
        pack_id=pack.pack_id,
        credits=pack.credits,
        amount=pack.price,
        currency=pack.currency,
        state=OrderState.OPEN,
        created_at=now,
        updated_at=now,
        expires_at=expires_at,
        experiment_id=experiment_id,
        arm=arm,
    )


class PaymentOutcome(enum.StrEnum):
    GRANTED = "granted"  # the pack's credits were granted now
    ALREADY_DONE = "already_done"  # the order was fulfilled before: nothing moved
    CLOSED = "closed"
    TAKEN_BACK = "taken_back"  # a refund or dispute took credits back (maybe 0, if all spent)
    NOTED = "noted"  # recorded on the order, no credits moved (pending, refund before payment)
    IGNORED = "ignored"  # acknowledged, nothing changed; `detail` says why
    DUPLICATE = "duplicate"  # this very event was processed before; `detail` is its outcome


class Refusal(enum.StrEnum):
    """Why a Telegram pre-checkout is refused (catalogue: `stars_refused.<value>`)."""

    UNKNOWN_ORDER = "unknown_order"
    ORDER_NOT_OPEN = "order_not_open"
    WRONG_AMOUNT = "wrong_amount"
    NOT_YOUR_ORDER = "not_your_order"
    WALLET_FROZEN = "wallet_frozen"


@dataclass(frozen=True)
class TakeBack:
    """Bring the credits taken back for `order_ref` up to `target_total` (ledger `take_back`)."""

    key: str
    account_id: int
    order_ref: str
    target_total: int
    reason: Reason


@dataclass(frozen=True)
class Effect:
    """What one payment event does: order fields to set (None = unchanged) and ledger moves."""

    outcome: PaymentOutcome
    detail: str = ""
    state: OrderState | None = None
    grant: Grant | None = None
    take_backs: tuple[TakeBack, ...] = ()
    session_id: str | None = None
    payment_intent_id: str | None = None
    telegram_charge_id: str | None = None
    amount_refunded: int | None = None
    amount_disputed: int | None = None

    @property
    def changes_order(self) -> bool:
        return self.outcome not in (
            PaymentOutcome.IGNORED,
            PaymentOutcome.ALREADY_DONE,
            PaymentOutcome.DUPLICATE,
        )


@dataclass(frozen=True)
class PaymentResult:
    """What handling a payment event did. `credits` is how many moved by this call (granted for
    GRANTED, taken back for TAKEN_BACK); `balance` is the wallet's afterwards when credits moved."""

    outcome: PaymentOutcome
    detail: str = ""
    order: Order | None = None
    credits: int = 0
    balance: Balance | None = None
    offer: Offer | None = None


# --- what the chat adapters get back ---------------------------------------------------------


@dataclass(frozen=True)
class CheckoutLink:
    """A Stripe Checkout page for one order: post `url` to the user."""

    url: str
    pack: Pack
    order_id: str
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class StarsInvoice:
    """What `sendInvoice` needs: `payload` is the order id; one price line of `amount` Stars.
    Title and description are words, so the adapter takes them from the catalogue."""

    payload: str
    pack: Pack
    amount: int
    currency: str = STARS_CURRENCY

    @property
    def order_id(self) -> str:
        return self.payload


@dataclass(frozen=True)
class PreCheckout:
    """The answer to Telegram's `pre_checkout_query`: ok, or the refusal to show."""

    ok: bool
    refusal: Refusal | None = None


@dataclass(frozen=True)
class StarsRefund:
    """An operator refund of a Stars payment: the credits are already taken back; the payer's
    platform now gives the Stars back (`refundStarPayment(payer's user id, charge id)`).
    Asking again is safe (`already=True`, nothing more is taken) so a failed call can be retried."""

    order_id: str
    payer: str  # the identity that paid
    telegram_payment_charge_id: str
    credits_taken: int
    balance: Balance | None
    already: bool


@dataclass(frozen=True)
class ReconcileReport:
    sessions: int  # sessions Stripe listed
    fulfilled: tuple[str, ...]  # order ids granted by this run (missed webhooks)
    closed: tuple[str, ...]  # order ids closed by this run
    already: int  # paid sessions whose order was already fulfilled
    ignored: tuple[tuple[str, str], ...]  # (session id, reason)


# --- pure rules ------------------------------------------------------------------------------


def credits_for(order: Order, money: int) -> int:
    """The credits that `money` (minor units) of this order is worth, rounded down, capped."""
    if order.amount <= 0:
        return 0
    money = max(0, min(money, order.amount))
    return order.credits * money // order.amount


def purchase_grant(order: Order, key: str) -> Grant:
    """The pack's credits as a paid lot tagged with the pack (the plan) and the order (refunds)."""
    return Grant(
        key=key,
        account_id=order.wallet_id,
        amount=order.credits,
        reason=Reason.PURCHASE,
        lot_kind=LotKind.PAID,
        pack_id=order.pack_id,
        order_ref=order.order_id,
        memo=f"{order.channel.value} {order.pack_id}",
    )


def _take_back(order: Order, reason: Reason, *, refunded: int, disputed: int) -> TakeBack:
    """Bring the order's returned credits up to what its refunds + disputes cover. The ledger
    sums an order's refunds and disputes together, so the target is cumulative over both; the
    key names the cause and its cumulative amount, so a redelivery is "already done"."""
    cumulative = disputed if reason == Reason.DISPUTE else refunded
    return TakeBack(
        key=f"{reason.value}:{order.order_id}:{cumulative}",
        account_id=order.wallet_id,
        order_ref=order.order_id,
        target_total=credits_for(order, refunded + disputed),
        reason=reason,
    )


def _state_after_returns(order: Order, refunded: int, disputed: int) -> OrderState:
    if disputed > 0:
        return OrderState.DISPUTED
    if refunded >= order.amount:
        return OrderState.REFUNDED
    return OrderState.PAID


def _ignore(detail: str) -> Effect:
    return Effect(PaymentOutcome.IGNORED, detail)


def _fulfil(
    order: Order,
    grant_key: str,
    *,
    session_id: str | None = None,
    payment_intent_id: str | None = None,
    telegram_charge_id: str | None = None,
) -> Effect:
    """Grant the pack once. Money in wins over an earlier close. A refund or dispute that
    arrived before the payment is applied right after the grant, in the same transaction."""
    if order.state.fulfilled:
        return Effect(PaymentOutcome.ALREADY_DONE)
    refunded, disputed = order.amount_refunded, order.amount_disputed
    later: list[TakeBack] = []
    if refunded > 0:
        later.append(_take_back(order, Reason.REFUND, refunded=refunded, disputed=0))
    if disputed > 0:
        later.append(_take_back(order, Reason.DISPUTE, refunded=refunded, disputed=disputed))
    return Effect(
        PaymentOutcome.GRANTED,
        state=_state_after_returns(order, refunded, disputed),
        grant=purchase_grant(order, grant_key),
        take_backs=tuple(later),
        session_id=session_id,
        payment_intent_id=payment_intent_id,
        telegram_charge_id=telegram_charge_id,
    )


def _stripe_order_problem(order: Order | None, session_id: str) -> str | None:
    if order is None:
        return "unknown_order"
    if order.channel != Channel.STRIPE:
        return "wrong_channel"
    if order.stripe_session_id is not None and order.stripe_session_id != session_id:
        return "session_mismatch"
    return None


def _amount_matches(order: Order, amount: int | None, currency: str | None) -> bool:
    return amount == order.amount and (currency or "").lower() == order.currency.lower()


def on_checkout_paid(order: Order | None, event: CheckoutPaid) -> Effect:
    """`checkout.session.completed` (paid) and `async_payment_succeeded`: fulfil once per
    session."""
    problem = _stripe_order_problem(order, event.session_id)
    if problem is not None or order is None:
        return _ignore(problem or "unknown_order")
    if not _amount_matches(order, event.amount_total, event.currency):
        return _ignore("amount_mismatch")
    return _fulfil(
        order,
        f"purchase:{event.session_id}",
        session_id=event.session_id,
        payment_intent_id=event.payment_intent_id,
    )


def on_checkout_pending(order: Order | None, event: CheckoutPending) -> Effect:
    """Completed with a delayed method: nothing to grant yet; remember the session."""
    problem = _stripe_order_problem(order, event.session_id)
    if problem is not None or order is None:
        return _ignore(problem or "unknown_order")
    if order.state != OrderState.OPEN:
        return Effect(PaymentOutcome.ALREADY_DONE)
    return Effect(PaymentOutcome.NOTED, "pending", session_id=event.session_id)


def on_checkout_closed(order: Order | None, event: CheckoutClosed) -> Effect:
    """Expired, or the delayed payment failed: the order will never be paid."""
    problem = _stripe_order_problem(order, event.session_id)
    if problem is not None or order is None:
        return _ignore(problem or "unknown_order")
    if order.state != OrderState.OPEN:
        return _ignore(f"order_{order.state.value}")
    return Effect(PaymentOutcome.CLOSED, event.reason, state=OrderState.CLOSED)


def on_session_record(order: Order | None, record: CheckoutSessionRecord) -> Effect:
    """Reconciliation: a listed session that is paid (or expired) and whose webhook was missed."""
    problem = _stripe_order_problem(order, record.session_id)
    if problem is not None or order is None:
        return _ignore(problem or "unknown_order")
    if record.is_paid:
        if not _amount_matches(order, record.amount_total, record.currency):
            return _ignore("amount_mismatch")
        return _fulfil(
            order,
            f"purchase:{record.session_id}",
            session_id=record.session_id,
            payment_intent_id=record.payment_intent_id,
        )
    if record.status == "expired" and order.state == OrderState.OPEN:
        return Effect(PaymentOutcome.CLOSED, "expired", state=OrderState.CLOSED)
    return _ignore(f"session_{record.status or 'unknown'}")


def _returned(order: Order | None, channel: Channel, refunded: int, disputed: int) -> Effect:
    """A refund or dispute (cumulative amounts) on an order: take back, or note it for later."""
    if order is None:
        return _ignore("unknown_order")
    if order.channel != channel:
        return _ignore("wrong_channel")
    refunded = max(order.amount_refunded, refunded)
    disputed = max(order.amount_disputed, disputed)
    if refunded == order.amount_refunded and disputed == order.amount_disputed and order.state.fulfilled:
        return Effect(PaymentOutcome.ALREADY_DONE)
    if not order.state.fulfilled:
        # Events arrive out of order: the grant will apply this as soon as the payment lands.
        return Effect(
            PaymentOutcome.NOTED,
            "before_payment",
            amount_refunded=refunded,
            amount_disputed=disputed,
        )
    reason = Reason.DISPUTE if disputed > order.amount_disputed else Reason.REFUND
    return Effect(
        PaymentOutcome.TAKEN_BACK,
        reason.value,
        state=_state_after_returns(order, refunded, disputed),
        take_backs=(_take_back(order, reason, refunded=refunded, disputed=disputed),),
        amount_refunded=refunded,
        amount_disputed=disputed,
    )


def on_refund(order: Order | None, event: ChargeRefunded) -> Effect:
    """`charge.refunded`: `amount_refunded` is cumulative; take back the unspent credits of the
    refunded part (the ledger never goes below zero for a refund)."""
    return _returned(order, Channel.STRIPE, event.amount_refunded, 0)


def on_dispute(order: Order | None, event: DisputeOpened) -> Effect:
    """`charge.dispute.created`: take the disputed part back and freeze the wallet."""
    return _returned(order, Channel.STRIPE, 0, event.amount)


def on_intent_succeeded(order: Order | None, event: IntentSucceeded) -> Effect:
    """`payment_intent.succeeded` of an automatic top-up: fulfil its order once (the grant is
    keyed by the payment intent)."""
    if order is None:
        return _ignore("unknown_order")
    if order.channel != Channel.STRIPE:
        return _ignore("wrong_channel")
    if order.payment_intent_id is not None and order.payment_intent_id != event.payment_intent_id:
        return _ignore("intent_mismatch")
    if not _amount_matches(order, event.amount, event.currency):
        return _ignore("amount_mismatch")
    return _fulfil(order, f"purchase:{event.payment_intent_id}", payment_intent_id=event.payment_intent_id)


def on_entitlement(order: Order | None, entitlement_id: str) -> Effect:
    """A Discord entitlement for a pack's SKU: grant once, keyed by the entitlement id. A delete
    that came first was noted on the order and takes the credits back at once."""
    if order is None:
        return _ignore("unknown_order")
    if order.channel != Channel.DISCORD:
        return _ignore("wrong_channel")
    return _fulfil(order, f"discord:{entitlement_id}")


def on_entitlement_deleted(order: Order | None) -> Effect:
    """Discord deleted (refunded) the entitlement: take its credits back like a Stripe refund
    (never below zero; what was spent stays on the order as unrecovered)."""
    return _returned(order, Channel.DISCORD, order.amount if order is not None else 0, 0)


def on_stars_paid(order: Order | None, charge_id: str, amount: int, currency: str) -> Effect:
    """Telegram `successful_payment`: grant once, keyed by `telegram_payment_charge_id`."""
    if order is None:
        return _ignore("unknown_order")
    if order.channel != Channel.STARS:
        return _ignore("wrong_channel")
    if not _amount_matches(order, amount, currency):
        return _ignore("amount_mismatch")
    if order.state.fulfilled and order.telegram_charge_id != charge_id:
        return _ignore("paid_twice")  # a second charge for one invoice: an operator refunds it
    return _fulfil(order, f"stars:{charge_id}", telegram_charge_id=charge_id)


def on_stars_refund(order: Order | None) -> Effect:
    """An operator refunds a whole Stars payment: take its unspent credits back."""
    if order is None or order.channel != Channel.STARS or not order.state.fulfilled:
        return _ignore("not_a_paid_stars_order")
    return _returned(order, Channel.STARS, order.amount, 0)


def pre_checkout_refusal(
    order: Order | None,
    amount: int,
    currency: str,
    payer_person_id: int | None,
    wallet_frozen: bool,
) -> Refusal | None:
    """Telegram asks before charging: refuse anything that would not be granted."""
    if order is None or order.channel != Channel.STARS:
        return Refusal.UNKNOWN_ORDER
    if order.state != OrderState.OPEN:
        return Refusal.ORDER_NOT_OPEN
    if not _amount_matches(order, amount, currency):
        return Refusal.WRONG_AMOUNT
    if payer_person_id != order.person_id:
        return Refusal.NOT_YOUR_ORDER
    if wallet_frozen:
        return Refusal.WALLET_FROZEN
    return None
