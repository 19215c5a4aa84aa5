"""Value types that cross the payments boundary (Stripe Checkout in, events out).

The payment adapter turns the provider's objects into these; the core never sees a provider
object. Amounts are integers in the currency's smallest unit (cents), currencies are lower-case
ISO codes ("usd"), times are Unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias


@dataclass(frozen=True)
class CheckoutRequest:
    """Everything needed to open a hosted checkout page for one order.

    Price and credits come from the server's pack table, never from the client. `success_url`
    should contain the literal `{CHECKOUT_SESSION_ID}` (Stripe substitutes it); the adapter
    appends it when missing. `customer_ref` is our internal user reference (no personal data),
    stored in the session's metadata for support look-ups; empty means "none".
    """

    order_id: str
    pack_id: str
    pack_name: str
    credits: int
    amount_cents: int
    currency: str
    success_url: str
    cancel_url: str
    expires_at_unix: int | None
    customer_ref: str
    # Automatic top-up's first purchase: pay as this Stripe Customer and save the card for
    # charges without the person (`setup_future_usage=off_session`).
    save_card_for: str | None = None


@dataclass(frozen=True)
class CheckoutSession:
    """A created checkout: send the user to `url`; `session_id` keys the purchase."""

    session_id: str
    url: str
    order_id: str


@dataclass(frozen=True)
class CheckoutSessionRecord:
    """A checkout session as listed by the provider, for reconciliation.

    `status` is "open" | "complete" | "expired"; `payment_status` is "paid" | "unpaid" |
    "no_payment_required". `order_id` is None for sessions we did not create.
    """

    session_id: str
    order_id: str | None
    status: str
    payment_status: str
    amount_total: int | None
    currency: str | None
    created: int
    payment_intent_id: str | None

    @property
    def is_paid(self) -> bool:
        return self.payment_status == "paid"


# --- webhook events: a small closed set ------------------------------------------------------


@dataclass(frozen=True)
class CheckoutPaid:
    """The money is in: fulfil the order (once per `session_id`)."""

    event_id: str
    session_id: str
    order_id: str
    amount_total: int
    currency: str
    payment_intent_id: str | None


@dataclass(frozen=True)
class CheckoutPending:
    """The customer finished checkout with a delayed method (bank debit); wait for the outcome."""

    event_id: str
    session_id: str
    order_id: str


CloseReason: TypeAlias = Literal["expired", "payment_failed"]


@dataclass(frozen=True)
class CheckoutClosed:
    """The session will never be paid: it expired or its delayed payment failed."""

    event_id: str
    session_id: str
    order_id: str
    reason: CloseReason


@dataclass(frozen=True)
class ChargeRefunded:
    """A charge was (partly) refunded. `amount_refunded` is cumulative: work from the difference.

    `order_id` is None when the charge carries no order metadata; match the order on
    `payment_intent_id` (recorded at fulfilment) or ask the adapter to resolve it.
    """

    event_id: str
    charge_id: str
    payment_intent_id: str | None
    order_id: str | None
    amount: int
    amount_refunded: int


@dataclass(frozen=True)
class DisputeOpened:
    """A chargeback was opened. Stripe's dispute object does not carry the charge's metadata, so
    `order_id` is usually None straight from the webhook (see `ChargeRefunded`)."""

    event_id: str
    dispute_id: str
    charge_id: str
    payment_intent_id: str | None
    order_id: str | None
    amount: int


@dataclass(frozen=True)
class IgnoredEvent:
    """A verified event we do not act on; acknowledge it so the provider stops retrying."""

    event_id: str
    type: str
    reason: str = "unhandled_type"


@dataclass(frozen=True)
class CardSaved:
    """The first purchase of an automatic top-up succeeded: its card is saved on the Customer."""

    event_id: str
    order_id: str
    customer_id: str
    payment_method_id: str


@dataclass(frozen=True)
class IntentSucceeded:
    """An automatic top-up's off-session payment succeeded: fulfil its order (once)."""

    event_id: str
    payment_intent_id: str
    order_id: str
    amount: int
    currency: str


PaymentEvent: TypeAlias = (
    CheckoutPaid
    | CheckoutPending
    | CheckoutClosed
    | ChargeRefunded
    | DisputeOpened
    | CardSaved
    | IntentSucceeded
    | IgnoredEvent
)


# --- charging a saved card -----------------------------------------------------------------


@dataclass(frozen=True)
class OffSessionCharge:
    """Charge a saved card without the person (automatic top-up). `idempotency_key` comes from
    the top-up row, so a retry after a crash makes no second payment."""

    order_id: str
    pack_id: str
    customer_id: str
    payment_method_id: str
    amount_cents: int
    currency: str
    idempotency_key: str


@dataclass(frozen=True)
class OffSessionResult:
    """`failure` is None when Stripe accepted it (credits then come from the webhook), else
    "authentication_required" or "card_declined"."""

    payment_intent_id: str | None
    status: str
    failure: str | None = None


@dataclass(frozen=True)
class IntentStatus:
    """A PaymentIntent as Stripe reports it now (for a top-up whose webhook never came)."""

    payment_intent_id: str
    status: str  # "succeeded", "processing", "requires_payment_method", "canceled", ...
    amount: int
    currency: str
