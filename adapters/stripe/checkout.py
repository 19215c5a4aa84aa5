"""`StripeCheckout`: Checkout sessions, webhook verification and session listing.

Built on `stripe.StripeClient` with the async httpx transport, so every call is awaited on the
bot's own event loop. `api_base` (setting STRIPE_API_BASE) points it at a loopback fake in tests.
The adapter knows nothing of orders or the ledger: it turns requests into Stripe calls and
Stripe objects/events into `core.domain.payments` values.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import stripe
from stripe.params.checkout import SessionCreateParams

from adapters.stripe.errors import map_stripe_error
from adapters.stripe.events import (
    PURPOSE_SETUP,
    PURPOSE_TOP_UP,
    MalformedObject,
    metadata_order_id,
    session_record,
    translate_event,
)
from adapters.web.bodies import json_object
from core.domain.numbers import whole_number
from core.domain.payments import (
    ChargeRefunded,
    CheckoutRequest,
    CheckoutSession,
    CheckoutSessionRecord,
    DisputeOpened,
    IntentStatus,
    OffSessionCharge,
    OffSessionResult,
    PaymentEvent,
)
from core.errors import InvalidWebhook, OperationFailed, PaymentsNotConfigured

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.stripe.com"
SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"
WEBHOOK_TOLERANCE_SECONDS = 300


class StripeCheckout:
    """Stripe Checkout for credit packs. Close with `await aclose()` at shutdown."""

    def __init__(
        self,
        secret_key: str | None,
        webhook_secret: str | None,
        api_base: str = DEFAULT_API_BASE,
        *,
        max_network_retries: int = 2,
        timeout_seconds: float = 20.0,
        webhook_tolerance_seconds: int = WEBHOOK_TOLERANCE_SECONDS,
    ) -> None:
        self._has_key = bool(secret_key)
        self._webhook_secret = webhook_secret or None
        self._tolerance = webhook_tolerance_seconds
        self._http = stripe.HTTPXClient(timeout=timeout_seconds)
        # StripeClient refuses a None key; an empty one is never sent (see _require_key).
        self._client = stripe.StripeClient(
            secret_key or "",
            base_addresses={"api": api_base.rstrip("/")},
            http_client=self._http,
            # Retries are safe: every POST carries our idempotency key.
            max_network_retries=max_network_retries,
        )

    @property
    def configured(self) -> bool:
        return self._has_key

    async def aclose(self) -> None:
        # stripe leaves `HTTPXClient.close_async` unannotated; it returns nothing.
        await self._http.close_async()  # type: ignore[no-untyped-call]

    # --- checkout -----------------------------------------------------------------------------

    async def create_checkout(self, req: CheckoutRequest) -> CheckoutSession:
        """Open a hosted Checkout page for one order.

        Idempotent per order (`checkout:<order id>`): asking again returns the same session for
        24 h, *provided the request is identical* (Stripe rejects a reused key with different
        parameters: keep `expires_at_unix` in the order row rather than recomputing it).
        """
        self._require_key()
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                checkout_params(req),
                options={"idempotency_key": f"checkout:{req.order_id}"},
            )
        except stripe.StripeError as exc:
            raise map_stripe_error(exc, "create_checkout") from exc
        if not session.url:
            logger.error("stripe checkout session %s has no url", session.id)
            raise OperationFailed("payment_provider_unavailable")
        logger.info("stripe checkout session %s created for order %s", session.id, req.order_id)
        return CheckoutSession(session_id=session.id, url=session.url, order_id=req.order_id)

    async def get_session(self, session_id: str) -> CheckoutSessionRecord:
        """One session's current state (for a status page or a manual check)."""
        self._require_key()
        try:
            session = await self._client.v1.checkout.sessions.retrieve_async(session_id)
        except stripe.StripeError as exc:
            raise map_stripe_error(exc, "get_session") from exc
        return session_record(session.to_dict())

    async def list_recent_sessions(self, created_after_unix: int) -> list[CheckoutSessionRecord]:
        """Every session created at or after `created_after_unix`, newest first (all pages)."""
        self._require_key()
        records: list[CheckoutSessionRecord] = []
        try:
            page = await self._client.v1.checkout.sessions.list_async(
                {"created": {"gte": created_after_unix}, "limit": 100}
            )
            async for session in page.auto_paging_iter():
                try:
                    records.append(session_record(session.to_dict()))
                except MalformedObject as exc:
                    logger.warning("stripe session %s lacks %s; skipped", getattr(session, "id", "?"), exc)
        except stripe.StripeError as exc:
            raise map_stripe_error(exc, "list_sessions") from exc
        return records

    # --- webhooks -----------------------------------------------------------------------------

    def parse_webhook(self, raw_body: bytes, signature_header: str | None) -> PaymentEvent:
        """Verify the `Stripe-Signature` of the raw body and translate the event.

        Raises `InvalidWebhook(reason)` with reason one of "missing_signature",
        "bad_signature", "stale_timestamp", "malformed_body", "malformed_event";
        `PaymentsNotConfigured` when no webhook secret is set (answer 5xx so Stripe retries).
        No network: refunds and disputes may come back with `order_id=None`, see
        `resolve_order_id`.
        """
        if self._webhook_secret is None:
            raise PaymentsNotConfigured()
        if not signature_header:
            raise InvalidWebhook("missing_signature")
        # The SDK's own check of the raw bytes, then plain json: `construct_event` would also
        # build a StripeObject tree we only turn back into dicts (~10x the cost per event).
        try:
            stripe.WebhookSignature.verify_header(
                raw_body, signature_header, self._webhook_secret, tolerance=self._tolerance
            )
        except stripe.SignatureVerificationError as exc:
            reason = _signature_failure_reason(signature_header, self._tolerance)
            logger.warning("stripe webhook rejected: %s", reason)
            raise InvalidWebhook(reason) from exc
        except (ValueError, TypeError) as exc:  # a body the SDK cannot read as text (not UTF-8)
            logger.warning("stripe webhook rejected: malformed body (%s)", type(exc).__name__)
            raise InvalidWebhook("malformed_body") from exc
        try:
            event = json_object(raw_body)
        except InvalidWebhook as exc:  # signed, but not a JSON object we can walk
            logger.warning("stripe webhook rejected: malformed body (%s)", exc.reason)
            raise InvalidWebhook("malformed_body") from None
        return translate_event(event)

    async def resolve_order_id(self, event: PaymentEvent) -> PaymentEvent:
        """Fill `order_id` of a refund/dispute from its payment intent's metadata.

        Returns `event` unchanged when it already has one, has no payment intent, or the
        payment intent is unknown to Stripe. Network failures raise `OperationFailed` (answer
        5xx so Stripe redelivers). Prefer matching `payment_intent_id` against the order
        recorded at fulfilment and call this only as a fallback.
        """
        if not isinstance(event, ChargeRefunded | DisputeOpened):
            return event
        if event.order_id is not None or event.payment_intent_id is None:
            return event
        self._require_key()
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(event.payment_intent_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                logger.warning("stripe payment intent %s not found", event.payment_intent_id)
                return event
            raise map_stripe_error(exc, "resolve_order_id") from exc
        except stripe.StripeError as exc:
            raise map_stripe_error(exc, "resolve_order_id") from exc
        order_id = metadata_order_id(intent.to_dict())
        if order_id is None:
            return event
        return _with_order_id(event, order_id)

    # --- saved cards (automatic top-up) -------------------------------------------------------

    async def create_customer(self, wallet_ref: str) -> str:
        """A Customer for one wallet (no personal data: only our reference), idempotent per
        wallet so a retried `/autotopup` makes no second one."""
        self._require_key()
        try:
            customer = await self._client.v1.customers.create_async(
                {"metadata": {"wallet_ref": wallet_ref}},
                options={"idempotency_key": f"customer:{wallet_ref}"},
            )
        except stripe.StripeError as exc:
            raise map_stripe_error(exc, "create_customer") from exc
        return customer.id

    async def charge_saved_card(self, charge: OffSessionCharge) -> OffSessionResult:
        """Create and confirm an off-session PaymentIntent on the saved card. A card that needs
        the person (`authentication_required`) or is declined comes back as a `CardError`: that
        is a result here, with the PaymentIntent Stripe attached to the error."""
        self._require_key()
        metadata = {"order_id": charge.order_id, "pack_id": charge.pack_id, "purpose": PURPOSE_TOP_UP}
        try:
            intent = await self._client.v1.payment_intents.create_async(
                {
                    "amount": charge.amount_cents,
                    "currency": charge.currency.lower(),
                    "customer": charge.customer_id,
                    "payment_method": charge.payment_method_id,
                    "off_session": True,
                    "confirm": True,
                    "metadata": metadata,
                    "description": f"Automatic top-up: {charge.pack_id}",
                },
                options={"idempotency_key": charge.idempotency_key},
            )
        except stripe.CardError as exc:
            failed = getattr(exc.error, "payment_intent", None) if exc.error is not None else None
            failure = "authentication_required" if exc.code == "authentication_required" else "card_declined"
            logger.info("stripe off-session charge for order %s refused: %s", charge.order_id, exc.code)
            return OffSessionResult(getattr(failed, "id", None), "requires_payment_method", failure)
        except stripe.StripeError as exc:
            raise map_stripe_error(exc, "charge_saved_card") from exc
        logger.info("stripe off-session payment %s for order %s: %s", intent.id, charge.order_id, intent.status)
        return OffSessionResult(intent.id, intent.status)

    async def payment_intent(self, payment_intent_id: str) -> IntentStatus:
        """A payment intent as it is now (a top-up whose webhook is late)."""
        self._require_key()
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(payment_intent_id)
        except stripe.StripeError as exc:
            raise map_stripe_error(exc, "payment_intent") from exc
        return IntentStatus(intent.id, intent.status, intent.amount, intent.currency)

    def _require_key(self) -> None:
        if not self._has_key:
            raise PaymentsNotConfigured()


def checkout_params(req: CheckoutRequest) -> SessionCreateParams:
    """The `POST /v1/checkout/sessions` parameters for one order (a plain dict, typed by the SDK)."""
    metadata = {"order_id": req.order_id, "pack_id": req.pack_id}
    if req.customer_ref:
        metadata["customer_ref"] = req.customer_ref
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": req.currency.lower(),
                    "unit_amount": req.amount_cents,
                    "product_data": {"name": product_name(req.pack_name, req.credits)},
                },
                "quantity": 1,
            }
        ],
        "client_reference_id": req.order_id,
        "metadata": metadata,
        # Copied onto the payment intent (and its charge), so refunds/disputes trace back.
        "payment_intent_data": {"metadata": dict(metadata)},
        "success_url": with_session_placeholder(req.success_url),
        "cancel_url": req.cancel_url,
    }
    if req.expires_at_unix is not None:
        params["expires_at"] = req.expires_at_unix
    if req.save_card_for:
        # Automatic top-up's first purchase: pay as the Customer and keep the card for charges
        # made without the person; the intent's `payment_intent.succeeded` says which card.
        params["customer"] = req.save_card_for
        params["payment_intent_data"] = {
            "metadata": {**metadata, "purpose": PURPOSE_SETUP},
            "setup_future_usage": "off_session",
        }
    return params


def product_name(pack_name: str, credits: int) -> str:
    """The line item's name, e.g. 'Popular pack: 400 credits' (shown on the Checkout page)."""
    title = pack_name[:1].upper() + pack_name[1:]
    return f"{title} pack: {credits:,} credits"


def with_session_placeholder(url: str) -> str:
    """The success URL with `{CHECKOUT_SESSION_ID}` in it, appended as a query if missing."""
    if SESSION_ID_PLACEHOLDER in url:
        return url
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}session_id={SESSION_ID_PLACEHOLDER}"


def _signature_failure_reason(header: str, tolerance: int) -> str:
    """Tell a stale timestamp from a bad signature, for logs and metrics only.

    "stale_timestamp" when the header is well formed (a `t` and a `v1`) but older than the
    tolerance; anything else is "bad_signature". The SDK has already refused it either way.
    """
    fields: dict[str, str] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, value)
    timestamp = whole_number(fields.get("t"))
    if "v1" in fields and timestamp is not None and timestamp < time.time() - tolerance:
        return "stale_timestamp"
    return "bad_signature"


def _with_order_id(event: ChargeRefunded | DisputeOpened, order_id: str) -> PaymentEvent:
    return replace(event, order_id=order_id)
