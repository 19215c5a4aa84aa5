"""Translate a verified Stripe event (as a plain dict) into the core's `PaymentEvent` types.

Pure functions, no network: `StripeCheckout.parse_webhook` verifies, then calls `translate_event`.
Where the order id lives (we put it in all three places when creating the session):
- checkout sessions: `client_reference_id`, else `metadata.order_id`;
- charges (`charge.refunded`): the charge's `metadata.order_id` when present. We only set it on
  the payment intent (`payment_intent_data.metadata`) and it is not confirmed that Stripe copies
  it onto the charge, so expect None and match on `payment_intent_id` (recorded from
  `CheckoutPaid`) or call `StripeCheckout.resolve_order_id`;
- disputes: never in the payload (a dispute has its own, empty metadata and the charge is not
  expanded), so `order_id` is None and the caller matches on `payment_intent_id` or calls
  `StripeCheckout.resolve_order_id`, which reads the payment intent's metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from core.domain.payments import (
    CardSaved,
    ChargeRefunded,
    CheckoutClosed,
    CheckoutPaid,
    CheckoutPending,
    CheckoutSessionRecord,
    DisputeOpened,
    IgnoredEvent,
    IntentSucceeded,
    PaymentEvent,
)
from core.errors import InvalidWebhook

logger = logging.getLogger(__name__)

SESSION_COMPLETED = "checkout.session.completed"
SESSION_ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
SESSION_ASYNC_FAILED = "checkout.session.async_payment_failed"
SESSION_EXPIRED = "checkout.session.expired"
CHARGE_REFUNDED = "charge.refunded"
DISPUTE_CREATED = "charge.dispute.created"
INTENT_SUCCEEDED = "payment_intent.succeeded"

# `metadata.purpose` of a payment intent we made for automatic top-up: its first purchase (the
# card is saved on the Customer), or an off-session charge of the saved card.
PURPOSE_SETUP = "auto_topup_setup"
PURPOSE_TOP_UP = "auto_topup"


class MalformedObject(Exception):
    """A verified event lacks a field we rely on (turned into `InvalidWebhook`)."""


def translate_event(event: Mapping[str, object]) -> PaymentEvent:
    """Map one verified event to a `PaymentEvent`; unknown types become `IgnoredEvent`."""
    event_id = event.get("id")
    event_type = event.get("type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(event_id, str) or not isinstance(event_type, str):
        raise InvalidWebhook("malformed_event")
    handler = _HANDLERS.get(event_type)
    if handler is None:
        return IgnoredEvent(event_id=event_id, type=event_type)
    if not isinstance(obj, Mapping):
        raise InvalidWebhook("malformed_event")
    try:
        return handler(event_id, event_type, obj)
    except MalformedObject as exc:
        logger.warning("stripe event %s (%s) is missing %s", event_id, event_type, exc)
        raise InvalidWebhook("malformed_event") from exc


def session_order_id(session: Mapping[str, object]) -> str | None:
    ref = session.get("client_reference_id")
    if isinstance(ref, str) and ref:
        return ref
    return metadata_order_id(session)


def metadata_order_id(obj: Mapping[str, object]) -> str | None:
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        value = metadata.get("order_id")
        if isinstance(value, str) and value:
            return value
    return None


def session_record(session: Mapping[str, object]) -> CheckoutSessionRecord:
    """A listed/retrieved session as a reconciliation record."""
    return CheckoutSessionRecord(
        session_id=_str(session, "id"),
        order_id=session_order_id(session),
        status=str(session.get("status") or ""),
        payment_status=str(session.get("payment_status") or ""),
        amount_total=_opt_int(session, "amount_total"),
        currency=_opt_str(session, "currency"),
        created=_int(session, "created"),
        payment_intent_id=_ref_id(session.get("payment_intent")),
    )


# --- one handler per event type ---------------------------------------------------------------


def _checkout_event(event_id: str, event_type: str, session: Mapping[str, object]) -> PaymentEvent:
    session_id = _str(session, "id")
    order_id = session_order_id(session)
    if order_id is None:
        # Not one of ours (a payment link or another integration on the same account).
        logger.warning("stripe %s for session %s has no order id; ignored", event_type, session_id)
        return IgnoredEvent(event_id=event_id, type=event_type, reason="no_order_id")

    if event_type == SESSION_EXPIRED:
        return CheckoutClosed(event_id, session_id, order_id, reason="expired")
    if event_type == SESSION_ASYNC_FAILED:
        return CheckoutClosed(event_id, session_id, order_id, reason="payment_failed")

    payment_status = session.get("payment_status")
    if event_type == SESSION_ASYNC_SUCCEEDED or payment_status == "paid":
        return CheckoutPaid(
            event_id=event_id,
            session_id=session_id,
            order_id=order_id,
            amount_total=_int(session, "amount_total"),
            currency=_str(session, "currency"),
            payment_intent_id=_ref_id(session.get("payment_intent")),
        )
    if payment_status == "unpaid":
        return CheckoutPending(event_id, session_id, order_id)
    # "no_payment_required" (a 100 % discount): the spec grants only on "paid".
    logger.warning("stripe session %s completed with payment_status %r; ignored", session_id, payment_status)
    reason = f"payment_status:{payment_status}"
    return IgnoredEvent(event_id=event_id, type=event_type, reason=reason)


def _charge_refunded(event_id: str, _type: str, charge: Mapping[str, object]) -> PaymentEvent:
    return ChargeRefunded(
        event_id=event_id,
        charge_id=_str(charge, "id"),
        payment_intent_id=_ref_id(charge.get("payment_intent")),
        order_id=metadata_order_id(charge),
        amount=_int(charge, "amount"),
        amount_refunded=_int(charge, "amount_refunded"),
    )


def _dispute_created(event_id: str, _type: str, dispute: Mapping[str, object]) -> PaymentEvent:
    charge = dispute.get("charge")
    charge_id = _ref_id(charge)
    if charge_id is None:
        raise MalformedObject("charge")
    # An expanded charge (some integrations/fixtures) carries the metadata; the dispute's own
    # metadata is checked too in case someone tagged it by hand.
    order_id = metadata_order_id(charge) if isinstance(charge, Mapping) else None
    return DisputeOpened(
        event_id=event_id,
        dispute_id=_str(dispute, "id"),
        charge_id=charge_id,
        payment_intent_id=_ref_id(dispute.get("payment_intent")),
        order_id=order_id or metadata_order_id(dispute),
        amount=_int(dispute, "amount"),
    )


def _intent_succeeded(event_id: str, event_type: str, intent: Mapping[str, object]) -> PaymentEvent:
    """Only automatic top-up's intents matter here; every other purchase is fulfilled from its
    Checkout session's events."""
    metadata = intent.get("metadata")
    purpose = metadata.get("purpose") if isinstance(metadata, Mapping) else None
    order_id = metadata_order_id(intent)
    if order_id is None or purpose not in (PURPOSE_SETUP, PURPOSE_TOP_UP):
        return IgnoredEvent(event_id=event_id, type=event_type, reason="not_a_top_up")
    if purpose == PURPOSE_SETUP:
        customer, method = _ref_id(intent.get("customer")), _ref_id(intent.get("payment_method"))
        if customer is None or method is None:
            raise MalformedObject("customer")
        return CardSaved(event_id, order_id, customer, method)
    return IntentSucceeded(
        event_id=event_id,
        payment_intent_id=_str(intent, "id"),
        order_id=order_id,
        amount=_int(intent, "amount"),
        currency=_str(intent, "currency"),
    )


# (event id, event type, the event's `data.object`) -> the core's event
_Handler = Callable[[str, str, Mapping[str, object]], PaymentEvent]

_HANDLERS: dict[str, _Handler] = {
    SESSION_COMPLETED: _checkout_event,
    SESSION_ASYNC_SUCCEEDED: _checkout_event,
    SESSION_ASYNC_FAILED: _checkout_event,
    SESSION_EXPIRED: _checkout_event,
    CHARGE_REFUNDED: _charge_refunded,
    DISPUTE_CREATED: _dispute_created,
    INTENT_SUCCEEDED: _intent_succeeded,
}


# --- small typed field readers ----------------------------------------------------------------


def _str(obj: Mapping[str, object], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedObject(key)
    return value


def _opt_str(obj: Mapping[str, object], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def _int(obj: Mapping[str, object], key: str) -> int:
    value = obj.get(key)
    # bool is an int subclass; a JSON true is never an amount.
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedObject(key)
    return value


def _opt_int(obj: Mapping[str, object], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ref_id(value: object) -> str | None:
    """A reference field is an id string, or the object itself when expanded."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        inner = value.get("id")
        return inner if isinstance(inner, str) and inner else None
    return None
