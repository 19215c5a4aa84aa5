"""Map stripe-python exceptions to the core's typed errors (one place, one table).

| stripe error                              | core error                                   |
|-------------------------------------------|----------------------------------------------|
| AuthenticationError, PermissionError      | PaymentsNotConfigured (key wrong/revoked/restricted) |
| IdempotencyError                          | InternalError("stripe_idempotency_conflict")   |
| InvalidRequestError (other 4xx)           | InternalError("stripe_invalid_request")        |
| RateLimitError, APIConnectionError,       | OperationFailed("payment_provider_unavailable") |
| APIError (5xx), anything else             |                                              |
"""

from __future__ import annotations

import logging

import stripe

from core.errors import BotError, InternalError, OperationFailed, PaymentsNotConfigured

logger = logging.getLogger(__name__)

PROVIDER_UNAVAILABLE = "payment_provider_unavailable"


def map_stripe_error(exc: stripe.StripeError, action: str) -> BotError:
    """The core error for `exc`; logs what an operator needs (never the key)."""
    # Only safe fields: the class, the HTTP status, Stripe's code and request id.
    details = (type(exc).__name__, exc.http_status, exc.code, exc.request_id)
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        logger.error("stripe %s refused our API key: %s status=%s code=%s request=%s", action, *details)
        return PaymentsNotConfigured()
    if isinstance(exc, stripe.IdempotencyError):
        # Same idempotency key, different parameters: our bug, retrying cannot fix it.
        logger.error("stripe %s idempotency conflict: %s status=%s code=%s request=%s", action, *details)
        return InternalError("stripe_idempotency_conflict")
    if isinstance(exc, stripe.InvalidRequestError):
        logger.error(
            "stripe %s rejected our request: %s status=%s code=%s request=%s param=%s",
            action,
            *details,
            getattr(exc, "param", None),
        )
        return InternalError("stripe_invalid_request")
    logger.warning("stripe %s failed: %s status=%s code=%s request=%s", action, *details)
    return OperationFailed(PROVIDER_UNAVAILABLE)
