"""A loopback stand-in for the Stripe API, plus signed-webhook builders.

Two halves:
- module functions (no server, no I/O): `make_event`, `encode_event`, `sign_payload`, and
  builders of realistic payloads for `checkout.session.completed`,
  `checkout.session.async_payment_succeeded`, `checkout.session.async_payment_failed`,
  `checkout.session.expired`, `charge.refunded` and `charge.dispute.created`. Ids are
  derived from the order id (or a per-process counter), so runs are deterministic; building and
  signing one event takes microseconds.
- `FakeStripe`: an `aiohttp.web` app on 127.0.0.1:0 that the real `stripe` client talks to
  (`base_addresses={"api": fake.base_url}`). It keeps sessions, payment intents, charges,
  Customers and saved payment methods (a paid session with a `customer` and
  `payment_intent_data[setup_future_usage]=off_session` attaches its card), and answers
  off-session PaymentIntents (`off_session=true&confirm=true`) as `card_outcome` says: success,
  or a 402 `card_error` (`authentication_required`, `card_declined`) carrying the intent. It
  honours idempotency keys like Stripe (same key + same params → same response; same key +
  other params → 400 `idempotency_error`), paginates lists, and records every request. Its
  helpers (`complete_session`, `refund`, `dispute`, ...) move an object along and return the
  event Stripe would send; `signed(event)` gives the body and `Stripe-Signature` header.

Where the order id lives: sessions carry `client_reference_id` and `metadata`; payment intents
carry `payment_intent_data.metadata`; a dispute carries none (its `charge` is an id, not
expanded). Whether Stripe copies a payment intent's metadata onto its charge was not confirmed
(Stripe staff say the API "almost never" inherits metadata), so by default the fake's charges
and `charge_refunded_event` have empty metadata: code under test must find the order through
`payment_intent_id` (or `StripeCheckout.resolve_order_id`). Opt in with
`FakeStripe(copy_metadata_to_charges=True)` / `charge_refunded_event(..., with_metadata=True)`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_VERSION = "2026-10-28.endive"  # what stripe-python 16.1 sends; only echoed in events
DEFAULT_API_KEY = "sk_test_fake"
DEFAULT_WEBHOOK_SECRET = "whsec_test_fake"

_event_counter = itertools.count(1)
_request_counter = itertools.count(1)  # separate, so HTTP traffic never shifts event ids


# --- ids, events and signatures -------------------------------------------------------------


def stable_id(prefix: str, *parts: object, length: int = 24) -> str:
    """A deterministic Stripe-looking id: `stable_id("cs_test_", "order-1")`."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return f"{prefix}{digest[:length]}"


def make_event(
    type: str,  # noqa: A002 - Stripe's field name
    obj: Mapping[str, Any],
    *,
    event_id: str | None = None,
    created: int | None = None,
    previous_attributes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A v1 snapshot event envelope around `obj`, as Stripe posts it to a webhook endpoint."""
    if event_id is None:
        event_id = stable_id("evt_", type, obj.get("id"), next(_event_counter))
    data: dict[str, Any] = {"object": dict(obj)}
    if previous_attributes is not None:
        data["previous_attributes"] = dict(previous_attributes)
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()) if created is None else created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The raw webhook body (compact JSON, like Stripe's)."""
    return json.dumps(event, separators=(",", ":")).encode()


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header: `t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


def signed_event(event: Mapping[str, Any], secret: str, timestamp: int | None = None) -> tuple[bytes, str]:
    """`(body, Stripe-Signature header)` ready to POST to a webhook endpoint."""
    body = encode_event(event)
    return body, sign_payload(body, secret, timestamp)


# --- object builders --------------------------------------------------------------------------


def order_metadata(order_id: str, pack_id: str = "popular") -> dict[str, str]:
    return {"order_id": order_id, "pack_id": pack_id}


def checkout_session_object(
    *,
    order_id: str | None,
    session_id: str | None = None,
    amount_total: int = 1500,
    currency: str = "usd",
    status: str = "open",
    payment_status: str = "unpaid",
    payment_intent_id: str | None = None,
    created: int | None = None,
    expires_at: int | None = None,
    metadata: Mapping[str, str] | None = None,
    url: str | None = None,
    success_url: str = "https://example.test/paid?session_id={CHECKOUT_SESSION_ID}",
    cancel_url: str = "https://example.test/cancel",
) -> dict[str, Any]:
    """A `checkout.session` object (payment mode, hosted page)."""
    if session_id is None:
        session_id = stable_id("cs_test_", "session", order_id, length=56)
    created = int(time.time()) if created is None else created
    if metadata is None:
        metadata = order_metadata(order_id) if order_id else {}
    return {
        "id": session_id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": cancel_url,
        "client_reference_id": order_id,
        "client_secret": None,
        "created": created,
        "currency": currency,
        "customer": None,
        "customer_creation": "if_required",
        "customer_details": None,
        "customer_email": None,
        "expires_at": created + 86_400 if expires_at is None else expires_at,
        "invoice": None,
        "livemode": False,
        "locale": None,
        "metadata": dict(metadata),
        "mode": "payment",
        "payment_intent": payment_intent_id,
        "payment_link": None,
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "status": status,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": url if status == "open" else None,
    }


def payment_intent_object(
    *,
    payment_intent_id: str,
    amount: int,
    currency: str,
    status: str,
    metadata: Mapping[str, str],
    latest_charge: str | None,
    created: int | None = None,
) -> dict[str, Any]:
    return {
        "id": payment_intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "created": int(time.time()) if created is None else created,
        "currency": currency,
        "latest_charge": latest_charge,
        "livemode": False,
        "metadata": dict(metadata),
        "status": status,
    }


def charge_object(
    *,
    charge_id: str,
    payment_intent_id: str | None,
    amount: int,
    currency: str = "usd",
    amount_refunded: int = 0,
    metadata: Mapping[str, str] | None = None,
    status: str = "succeeded",
    disputed: bool = False,
    created: int | None = None,
) -> dict[str, Any]:
    """A `charge` (recent API versions: no embedded `refunds` list)."""
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if status == "succeeded" else 0,
        "amount_refunded": amount_refunded,
        "balance_transaction": stable_id("txn_", charge_id),
        "captured": status == "succeeded",
        "created": int(time.time()) if created is None else created,
        "currency": currency,
        "customer": None,
        "disputed": disputed,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "paid": status == "succeeded",
        "payment_intent": payment_intent_id,
        "refunded": amount_refunded >= amount > 0,
        "status": status,
    }


def dispute_object(
    *,
    dispute_id: str,
    charge: str | Mapping[str, Any],
    payment_intent_id: str | None,
    amount: int,
    currency: str = "usd",
    reason: str = "fraudulent",
    created: int | None = None,
) -> dict[str, Any]:
    """A `dispute`; `charge` is an id as in real webhooks (pass a dict to mimic expansion)."""
    created = int(time.time()) if created is None else created
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge if isinstance(charge, str) else dict(charge),
        "created": created,
        "currency": currency,
        "evidence_details": {
            "due_by": created + 7 * 86_400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent_id,
        "reason": reason,
        "status": "needs_response",
    }


# --- event builders (ids derived from the order id unless given) ----------------------------


def _ids(order_id: str) -> tuple[str, str, str]:
    return (
        stable_id("cs_test_", "session", order_id, length=56),
        stable_id("pi_", "pi", order_id),
        stable_id("ch_", "ch", order_id),
    )


def checkout_completed_event(
    order_id: str,
    *,
    paid: bool = True,
    amount_total: int = 1500,
    currency: str = "usd",
    session_id: str | None = None,
    payment_intent_id: str | None = None,
    event_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """`checkout.session.completed`; `paid=False` is a delayed method still processing."""
    sid, pid, _ = _ids(order_id)
    session = checkout_session_object(
        order_id=order_id,
        session_id=session_id or sid,
        amount_total=amount_total,
        currency=currency,
        status="complete",
        payment_status="paid" if paid else "unpaid",
        payment_intent_id=payment_intent_id or pid,
    )
    return make_event("checkout.session.completed", session, event_id=event_id, created=created)


def async_payment_succeeded_event(
    order_id: str,
    *,
    amount_total: int = 1500,
    currency: str = "usd",
    session_id: str | None = None,
    payment_intent_id: str | None = None,
    event_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    sid, pid, _ = _ids(order_id)
    session = checkout_session_object(
        order_id=order_id,
        session_id=session_id or sid,
        amount_total=amount_total,
        currency=currency,
        status="complete",
        payment_status="paid",
        payment_intent_id=payment_intent_id or pid,
    )
    return make_event("checkout.session.async_payment_succeeded", session, event_id=event_id, created=created)


def async_payment_failed_event(
    order_id: str,
    *,
    amount_total: int = 1500,
    currency: str = "usd",
    session_id: str | None = None,
    payment_intent_id: str | None = None,
    event_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    sid, pid, _ = _ids(order_id)
    session = checkout_session_object(
        order_id=order_id,
        session_id=session_id or sid,
        amount_total=amount_total,
        currency=currency,
        status="complete",
        payment_status="unpaid",
        payment_intent_id=payment_intent_id or pid,
    )
    return make_event("checkout.session.async_payment_failed", session, event_id=event_id, created=created)


def session_expired_event(
    order_id: str,
    *,
    amount_total: int = 1500,
    currency: str = "usd",
    session_id: str | None = None,
    event_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    sid, _, _ = _ids(order_id)
    session = checkout_session_object(
        order_id=order_id,
        session_id=session_id or sid,
        amount_total=amount_total,
        currency=currency,
        status="expired",
        payment_status="unpaid",
    )
    return make_event("checkout.session.expired", session, event_id=event_id, created=created)


def charge_refunded_event(
    order_id: str,
    *,
    amount: int = 1500,
    amount_refunded: int | None = None,
    currency: str = "usd",
    charge_id: str | None = None,
    payment_intent_id: str | None = None,
    with_metadata: bool = False,
    event_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """`charge.refunded`; `amount_refunded` is cumulative (defaults to a full refund).

    The charge's metadata is empty unless `with_metadata=True` (see the module docstring); its
    `payment_intent` is the one `checkout_completed_event(order_id)` carries, so the two match.
    """
    _, pid, cid = _ids(order_id)
    charge = charge_object(
        charge_id=charge_id or cid,
        payment_intent_id=payment_intent_id or pid,
        amount=amount,
        currency=currency,
        amount_refunded=amount if amount_refunded is None else amount_refunded,
        metadata=order_metadata(order_id) if with_metadata else {},
    )
    return make_event(
        "charge.refunded",
        charge,
        event_id=event_id,
        created=created,
        previous_attributes={"amount_refunded": 0, "refunded": False},
    )


def dispute_created_event(
    order_id: str,
    *,
    amount: int = 1500,
    currency: str = "usd",
    charge_id: str | None = None,
    payment_intent_id: str | None = None,
    dispute_id: str | None = None,
    expand_charge: bool = False,
    event_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """`charge.dispute.created`. As from Stripe, the order id is not in it unless
    `expand_charge=True` (the charge, with its metadata, embedded in place of its id)."""
    _, pid, cid = _ids(order_id)
    charge_id = charge_id or cid
    payment_intent_id = payment_intent_id or pid
    charge: str | dict[str, Any] = charge_id
    if expand_charge:
        charge = charge_object(
            charge_id=charge_id,
            payment_intent_id=payment_intent_id,
            amount=amount,
            currency=currency,
            disputed=True,
            metadata=order_metadata(order_id),
        )
    dispute = dispute_object(
        dispute_id=dispute_id or stable_id("dp_", "dp", order_id),
        charge=charge,
        payment_intent_id=payment_intent_id,
        amount=amount,
        currency=currency,
    )
    return make_event("charge.dispute.created", dispute, event_id=event_id, created=created)


# --- form decoding ----------------------------------------------------------------------------

_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")


def unflatten_form(form: Mapping[str, str]) -> dict[str, Any]:
    """`{"a[0][b]": "1"}` → `{"a": [{"b": "1"}]}` (values stay strings, as on the wire)."""
    root: dict[str, Any] = {}
    for flat_key, value in form.items():
        parts = [m.group(1) or m.group(2) for m in _KEY.finditer(flat_key)]
        node: Any = root
        for part, following in zip(parts, parts[1:], strict=False):
            container: Any = [] if following.isdigit() else {}
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                if node[index] is None:
                    node[index] = container
                node = node[index]
            else:
                node = node.setdefault(part, container)
        last = parts[-1]
        if isinstance(node, list):
            index = int(last)
            while len(node) <= index:
                node.append(None)
            node[index] = value
        else:
            node[last] = value
    return root


# --- the server -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]  # flattened keys, e.g. "line_items[0][price_data][unit_amount]"
    headers: dict[str, str]  # lower-case names

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")

    @property
    def params(self) -> dict[str, Any]:
        return unflatten_form(self.form or self.query)


@dataclass
class _Failure:
    status: int
    error_type: str
    code: str | None
    remaining: int


@dataclass
class _Order:
    """What the fake keeps beside a session to play the payment forward."""

    session_id: str
    pi_metadata: dict[str, str]
    payment_intent_id: str | None = None
    charge_id: str | None = None
    seq: int = 0
    customer: str | None = None  # `customer` of the session
    save_card: bool = False  # `payment_intent_data[setup_future_usage]=off_session`


CARD_OUTCOMES = ("success", "authentication_required", "card_declined")


@dataclass
class FakeStripe:
    api_key: str = DEFAULT_API_KEY
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    clock: Callable[[], int] = field(default=lambda: int(time.time()))
    copy_metadata_to_charges: bool = False

    requests: list[RecordedRequest] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Saved payment methods by id -> the customer they are attached to (a paid Checkout with
    # `setup_future_usage` attaches its card).
    payment_methods: dict[str, str] = field(default_factory=dict)
    # What the next off-session charges do: "success", "authentication_required", "card_declined".
    card_outcome: str = "success"

    def __post_init__(self) -> None:
        self._orders: dict[str, _Order] = {}
        self._idempotent: dict[str, tuple[dict[str, str], int, dict[str, Any]]] = {}
        self._failures: list[_Failure] = []
        self._seq = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> FakeStripe:
        app = web.Application()
        app.router.add_post("/v1/checkout/sessions", self._create_session)
        app.router.add_get("/v1/checkout/sessions", self._list_sessions)
        app.router.add_get("/v1/checkout/sessions/{id}", self._get_session)
        app.router.add_get("/v1/payment_intents/{id}", self._get_payment_intent)
        app.router.add_post("/v1/customers", self._create_customer)
        app.router.add_post("/v1/payment_intents", self._create_payment_intent)
        app.router.add_get("/v1/charges/{id}", self._get_charge)
        app.router.add_get("/c/pay/{id}", self._checkout_page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeStripe:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- test controls ------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        *,
        error_type: str = "api_error",
        code: str | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next `count` API requests with a Stripe error of this status."""
        self._failures.append(_Failure(status, error_type, code, count))

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    async def wait_for(self, predicate: Callable[[FakeStripe], bool], *, within: float = 5.0) -> None:
        """Wait until `predicate(fake)` holds (checked after every request); fail after
        `within` seconds with TimeoutError."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    def seed_session(
        self,
        order_id: str | None,
        *,
        created: int | None = None,
        amount_total: int = 1500,
        currency: str = "usd",
        paid: bool = False,
    ) -> dict[str, Any]:
        """Add a session without an API call (for listing and reconciliation tests)."""
        seq = next(self._seq)
        session_id = stable_id("cs_test_", "seed", order_id, seq, length=56)
        session = checkout_session_object(
            order_id=order_id,
            session_id=session_id,
            amount_total=amount_total,
            currency=currency,
            created=self.clock() if created is None else created,
            url=f"{self.base_url}/c/pay/{session_id}",
        )
        self.sessions[session_id] = session
        metadata = order_metadata(order_id) if order_id else {}
        self._orders[session_id] = _Order(session_id, metadata, seq=seq)
        if paid:
            self.complete_session(session_id, paid=True)
        return session

    # --- play a payment forward; each returns the event Stripe would send --------------------

    def complete_session(self, session_id: str, *, paid: bool = True) -> dict[str, Any]:
        """The customer finished checkout: card (`paid`) or a delayed method (`paid=False`)."""
        session, order = self._open_session(session_id)
        pi_id = stable_id("pi_", "pi", session_id)
        ch_id = stable_id("ch_", "ch", session_id)
        amount, currency = session["amount_total"], session["currency"]
        self.payment_intents[pi_id] = payment_intent_object(
            payment_intent_id=pi_id,
            amount=amount,
            currency=currency,
            status="succeeded" if paid else "processing",
            metadata=order.pi_metadata,
            latest_charge=ch_id,
            created=self.clock(),
        )
        # Unconfirmed whether Stripe copies the intent's metadata to the charge: opt-in only.
        self.charges[ch_id] = charge_object(
            charge_id=ch_id,
            payment_intent_id=pi_id,
            amount=amount,
            currency=currency,
            metadata=order.pi_metadata if self.copy_metadata_to_charges else {},
            status="succeeded" if paid else "pending",
            created=self.clock(),
        )
        if order.customer is not None:
            pm_id = stable_id("pm_", "pm", session_id)
            self.payment_intents[pi_id].update(customer=order.customer, payment_method=pm_id)
            if order.save_card and paid:
                self.payment_methods[pm_id] = order.customer
                self.payment_intents[pi_id]["setup_future_usage"] = "off_session"
        order.payment_intent_id, order.charge_id = pi_id, ch_id
        session.update(
            status="complete",
            payment_status="paid" if paid else "unpaid",
            payment_intent=pi_id,
            url=None,
        )
        return self._event("checkout.session.completed", session)

    def intent_succeeded(self, payment_intent_id: str) -> dict[str, Any]:
        """`payment_intent.succeeded` for a paid intent (a Checkout's, or an off-session one)."""
        intent = self.payment_intents[payment_intent_id]
        if intent["status"] != "succeeded":
            raise ValueError(f"payment intent {payment_intent_id} is {intent['status']}")
        return self._event("payment_intent.succeeded", intent)

    def session_intent(self, session_id: str) -> str:
        intent = self._orders[session_id].payment_intent_id
        if intent is None:
            raise ValueError(f"session {session_id} has no payment intent yet")
        return intent

    def off_session_intents(self) -> list[dict[str, Any]]:
        return [pi for pi in self.payment_intents.values() if pi.get("off_session")]

    def async_payment_succeeded(self, session_id: str) -> dict[str, Any]:
        session, pi, charge = self._processing_session(session_id)
        session["payment_status"] = "paid"
        pi.update(status="succeeded", amount_received=pi["amount"])
        charge.update(status="succeeded", paid=True, captured=True, amount_captured=charge["amount"])
        return self._event("checkout.session.async_payment_succeeded", session)

    def async_payment_failed(self, session_id: str) -> dict[str, Any]:
        session, pi, charge = self._processing_session(session_id)
        pi["status"] = "requires_payment_method"
        charge["status"] = "failed"
        return self._event("checkout.session.async_payment_failed", session)

    def expire_session(self, session_id: str) -> dict[str, Any]:
        session, _ = self._open_session(session_id)
        session.update(status="expired", url=None)
        return self._event("checkout.session.expired", session)

    def refund(self, session_id: str, amount: int | None = None) -> dict[str, Any]:
        """Refund `amount` more (default: the rest); the event's `amount_refunded` is cumulative."""
        charge = self._paid_charge(session_id)
        before = charge["amount_refunded"]
        more = charge["amount"] - before if amount is None else amount
        if more <= 0 or before + more > charge["amount"]:
            raise ValueError(f"cannot refund {more} of {charge['amount']} ({before} refunded)")
        charge.update(amount_refunded=before + more, refunded=before + more >= charge["amount"])
        return self._event(
            "charge.refunded",
            charge,
            previous_attributes={"amount_refunded": before, "refunded": False},
        )

    def dispute(self, session_id: str, amount: int | None = None) -> dict[str, Any]:
        charge = self._paid_charge(session_id)
        charge["disputed"] = True
        dispute = dispute_object(
            dispute_id=stable_id("dp_", "dp", charge["id"]),
            charge=charge["id"],
            payment_intent_id=charge["payment_intent"],
            amount=charge["amount"] if amount is None else amount,
            currency=charge["currency"],
            created=self.clock(),
        )
        return self._event("charge.dispute.created", dispute)

    def signed(self, event: Mapping[str, Any], timestamp: int | None = None) -> tuple[bytes, str]:
        """`(raw body, Stripe-Signature)` signed with this fake's webhook secret."""
        return signed_event(event, self.webhook_secret, timestamp)

    def _event(self, type_: str, obj: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        # A snapshot: later changes to the stored object must not alter a sent event.
        return make_event(type_, json.loads(json.dumps(obj)), created=self.clock(), **kwargs)

    def _open_session(self, session_id: str) -> tuple[dict[str, Any], _Order]:
        session = self.sessions[session_id]
        if session["status"] != "open":
            raise ValueError(f"session {session_id} is {session['status']}, not open")
        return session, self._orders[session_id]

    def _processing_session(self, session_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The session, payment intent and charge of a delayed payment still processing."""
        session = self.sessions[session_id]
        order = self._orders[session_id]
        if (
            session["status"] != "complete"
            or session["payment_status"] != "unpaid"
            or order.payment_intent_id is None
            or order.charge_id is None
        ):
            raise ValueError(f"session {session_id} has no payment in progress")
        return session, self.payment_intents[order.payment_intent_id], self.charges[order.charge_id]

    def _paid_charge(self, session_id: str) -> dict[str, Any]:
        charge_id = self._orders[session_id].charge_id
        if charge_id is None or self.charges[charge_id]["status"] != "succeeded":
            raise ValueError(f"session {session_id} has no successful charge")
        return self.charges[charge_id]

    # --- HTTP handlers ------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> RecordedRequest:
        form: dict[str, str] = {}
        if request.can_read_body:
            form = {k: str(v) for k, v in (await request.post()).items()}
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            form=form,
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        self.requests.append(recorded)
        async with self._changed:
            self._changed.notify_all()
        return recorded

    def _refusal(self, request: web.Request) -> web.Response | None:
        """Authentication and injected failures, checked before any handler logic."""
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid_request_error", "Invalid API Key provided.")
        if self._failures:
            failure = self._failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.pop(0)
            return _error(failure.status, failure.error_type, "Injected failure.", failure.code)
        return None

    async def _create_session(self, request: web.Request) -> web.Response:
        return await self._idempotent_post(request, self._new_session)

    async def _create_customer(self, request: web.Request) -> web.Response:
        return await self._idempotent_post(request, self._new_customer)

    async def _create_payment_intent(self, request: web.Request) -> web.Response:
        return await self._idempotent_post(request, self._new_off_session_intent)

    async def _idempotent_post(
        self, request: web.Request, create: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
    ) -> web.Response:
        """Like Stripe: same key + same parameters → the first answer again (a card error too:
        Stripe stores every result but a validation refusal); same key + other parameters → 400."""
        recorded = await self._record(request)
        if (refusal := self._refusal(request)) is not None:
            return refusal
        key = recorded.idempotency_key
        if key is not None and key in self._idempotent:
            first_form, status, body = self._idempotent[key]
            if first_form != recorded.form:
                return _error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                )
            return web.json_response(body, status=status, headers={"Idempotent-Replayed": "true"})
        status, body = create(recorded.params)
        # Like Stripe, a request refused by validation does not consume the key.
        if key is not None and status in (200, 402):
            self._idempotent[key] = (recorded.form, status, body)
        return web.json_response(body, status=status, headers=_request_id())

    def _new_customer(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        customer_id = stable_id("cus_", "cus", next(self._seq), length=14)
        customer = {
            "id": customer_id,
            "object": "customer",
            "created": self.clock(),
            "metadata": params.get("metadata", {}),
            "livemode": False,
        }
        self.customers[customer_id] = customer
        return 200, customer

    def _new_off_session_intent(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """An off-session PaymentIntent on a saved card (`off_session=true&confirm=true`)."""
        customer, method = params.get("customer"), params.get("payment_method")
        if params.get("off_session") != "true" or params.get("confirm") != "true":
            return 400, _error_body("invalid_request_error", "This fake charges off-session only.", "parameter_invalid")
        if customer not in self.customers or self.payment_methods.get(str(method)) != customer:
            message = f"The payment method {method} is not attached to customer {customer}."
            return 400, _error_body("invalid_request_error", message, "resource_missing", "payment_method")
        seq = next(self._seq)
        pi_id = stable_id("pi_", "off", seq)
        outcome = self.card_outcome
        status = "succeeded" if outcome == "success" else "requires_payment_method"
        charge_id = stable_id("ch_", "off", seq) if outcome == "success" else None
        intent = payment_intent_object(
            payment_intent_id=pi_id,
            amount=int(params["amount"]),
            currency=params["currency"],
            status=status,
            metadata=params.get("metadata", {}),
            latest_charge=charge_id,
            created=self.clock(),
        )
        intent.update(customer=customer, payment_method=method, off_session=True)
        self.payment_intents[pi_id] = intent
        if charge_id is None:
            error = _error_body("card_error", "Your card was declined.", outcome)
            if outcome == "card_declined":
                error["error"]["decline_code"] = "generic_decline"
            error["error"]["payment_intent"] = dict(intent)
            return 402, error
        self.charges[charge_id] = charge_object(
            charge_id=charge_id,
            payment_intent_id=pi_id,
            amount=intent["amount"],
            currency=intent["currency"],
            metadata={},
            created=self.clock(),
        )
        return 200, intent

    def _new_session(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        problem = _validate_session_params(params, self.clock())
        if problem is not None:
            param, message = problem
            return 400, _error_body("invalid_request_error", message, "parameter_invalid", param)
        item = params["line_items"][0]
        amount = int(item["price_data"]["unit_amount"]) * int(item.get("quantity", "1"))
        seq = next(self._seq)
        session_id = stable_id("cs_test_", "api", seq, length=56)
        created = self.clock()
        session = checkout_session_object(
            order_id=params.get("client_reference_id"),
            session_id=session_id,
            amount_total=amount,
            currency=item["price_data"]["currency"],
            created=created,
            expires_at=int(params["expires_at"]) if "expires_at" in params else None,
            metadata=params.get("metadata", {}),
            url=f"{self.base_url}/c/pay/{session_id}",
            success_url=params["success_url"],
            cancel_url=params.get("cancel_url", ""),
        )
        self.sessions[session_id] = session
        intent_data = params.get("payment_intent_data", {})
        pi_metadata = intent_data.get("metadata", {})
        self._orders[session_id] = _Order(
            session_id,
            dict(pi_metadata),
            seq=seq,
            customer=params.get("customer"),
            save_card=intent_data.get("setup_future_usage") == "off_session",
        )
        session["customer"] = params.get("customer")
        return 200, session

    async def _list_sessions(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        if (refusal := self._refusal(request)) is not None:
            return refusal
        query = recorded.query
        try:
            limit = min(max(int(query.get("limit", "10")), 1), 100)
            wanted = [s for s in self._sorted_sessions() if _matches(s, query)]
        except ValueError as exc:
            return _error(400, "invalid_request_error", str(exc), "parameter_invalid")
        start = 0
        if "starting_after" in query:
            ids = [s["id"] for s in wanted]
            if query["starting_after"] not in ids:
                return _error(
                    400,
                    "invalid_request_error",
                    f"No such checkout.session: '{query['starting_after']}'",
                    "resource_missing",
                    "starting_after",
                )
            start = ids.index(query["starting_after"]) + 1
        page = wanted[start : start + limit]
        body = {
            "object": "list",
            "url": "/v1/checkout/sessions",
            "data": page,
            "has_more": start + limit < len(wanted),
        }
        return web.json_response(body, headers=_request_id())

    def _sorted_sessions(self) -> list[dict[str, Any]]:
        # Stripe lists newest first; ties (same second) by creation order.
        return sorted(
            self.sessions.values(),
            key=lambda s: (s["created"], self._orders[s["id"]].seq),
            reverse=True,
        )

    async def _get_session(self, request: web.Request) -> web.Response:
        return await self._get(request, self.sessions, "checkout.session", "session")

    async def _get_payment_intent(self, request: web.Request) -> web.Response:
        return await self._get(request, self.payment_intents, "payment_intent", "intent")

    async def _get_charge(self, request: web.Request) -> web.Response:
        return await self._get(request, self.charges, "charge", "charge")

    async def _get(self, request: web.Request, store: dict[str, dict[str, Any]], kind: str, param: str) -> web.Response:
        await self._record(request)
        if (refusal := self._refusal(request)) is not None:
            return refusal
        obj = store.get(request.match_info["id"])
        if obj is None:
            message = f"No such {kind}: '{request.match_info['id']}'"
            return _error(404, "invalid_request_error", message, "resource_missing", param)
        return web.json_response(obj, headers=_request_id())

    async def _checkout_page(self, request: web.Request) -> web.Response:
        await self._record(request)
        session = self.sessions.get(request.match_info["id"])
        if session is None or session["status"] != "open":
            return web.Response(status=404, text="This checkout session is no longer available.")
        return web.Response(text=f"Fake Stripe Checkout for {session['id']}", content_type="text/html")


# --- helpers of the server --------------------------------------------------------------------


def _validate_session_params(params: dict[str, Any], now: int) -> tuple[str, str] | None:
    """The subset of Stripe's checks our adapter could trip: (param, message) or None."""
    if params.get("mode") != "payment":
        return "mode", "This fake supports mode=payment only."
    if not params.get("success_url"):
        return "success_url", "Missing required param: success_url."
    items = params.get("line_items")
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        return "line_items", "Expected exactly one line item."
    price = items[0].get("price_data") or {}
    amount = price.get("unit_amount", "")
    if not amount.isdigit() or int(amount) < 50:
        return "line_items[0][price_data][unit_amount]", "Amount must be at least 50 cents."
    if len(price.get("currency", "")) != 3:
        return "line_items[0][price_data][currency]", "Invalid currency."
    if not (price.get("product_data") or {}).get("name"):
        return "line_items[0][price_data][product_data][name]", "Missing product name."
    if "expires_at" in params:
        expires = int(params["expires_at"])
        if not now + 30 * 60 <= expires <= now + 24 * 3600:
            return "expires_at", "expires_at must be 30 minutes to 24 hours from now."
    return None


def _matches(session: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    created = session["created"]
    bounds = {
        "created[gte]": lambda v: created >= v,
        "created[gt]": lambda v: created > v,
        "created[lte]": lambda v: created <= v,
        "created[lt]": lambda v: created < v,
        "created": lambda v: created == v,
    }
    for key, test in bounds.items():
        if key in query and not test(int(query[key])):
            return False
    for key in ("status", "payment_intent", "customer"):
        if key in query and session.get(key) != query[key]:
            return False
    return True


def _request_id() -> dict[str, str]:
    return {"Request-Id": stable_id("req_", next(_request_counter), length=14)}


def _error_body(error_type: str, message: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if code is not None:
        error["code"] = code
    if param is not None:
        error["param"] = param
    return {"error": error}


def _error(
    status: int, error_type: str, message: str, code: str | None = None, param: str | None = None
) -> web.Response:
    headers = _request_id()
    if status >= 500:
        headers["Stripe-Should-Retry"] = "true"
    return web.json_response(_error_body(error_type, message, code, param), status=status, headers=headers)
