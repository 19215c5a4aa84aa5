"""Verify a Replicate webhook delivery and read the prediction it carries.

Replicate signs like Standard Webhooks: `webhook-signature` holds one or more space-separated
`v1,<base64 HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>`, where the key is the
base64 part of the `whsec_...` secret. We verify here rather than with
`replicate.webhooks.validate` because that checks the timestamp against the wall clock only when
asked, cannot take an injected `now`, and puts the secret itself in one of its error messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from collections.abc import Mapping

from adapters.replicate.mapping import status_from_prediction
from adapters.web.bodies import json_object
from core.domain.generation import PredictionStatus
from core.errors import InvalidWebhook

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"


def parse_webhook_secret(secret: str) -> bytes:
    """The HMAC key inside a `whsec_<base64>` secret. ValueError (secret not shown) if malformed,
    so configuration can check it at start-up."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a Replicate webhook secret starts with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as error:
        raise ValueError("the Replicate webhook secret is not valid base64 after 'whsec_'") from error
    if not key:
        raise ValueError("the Replicate webhook secret is empty")
    return key


def verify_replicate_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    now: float,
    tolerance_seconds: float = 300,
) -> PredictionStatus:
    """Check signature and freshness of a delivery; return the prediction's status.

    Raises `InvalidWebhook(reason)` with reason one of: missing_header, bad_timestamp,
    stale_timestamp, bad_signature, not_json, not_a_prediction. A duplicate delivery verifies
    the same; deduplicating is the caller's business (key it on `webhook-id`).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    webhook_id = lowered.get("webhook-id")
    timestamp_text = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not webhook_id or not timestamp_text or not signatures:
        raise InvalidWebhook("missing_header")
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise InvalidWebhook("bad_timestamp") from None
    if abs(now - timestamp) > tolerance_seconds:
        raise InvalidWebhook("stale_timestamp")

    expected = hmac.new(
        parse_webhook_secret(secret),
        _signed_content(webhook_id, timestamp_text, body),
        hashlib.sha256,
    ).digest()
    if not any(hmac.compare_digest(expected, given) for given in _v1_signatures(signatures)):
        logger.warning("replicate webhook %r has no matching signature", webhook_id[:64])
        raise InvalidWebhook("bad_signature")

    try:
        payload = json_object(body)
    except InvalidWebhook as error:
        raise InvalidWebhook("not_json" if error.reason == "not_json" else "not_a_prediction") from None
    if not isinstance(payload.get("id"), str) or not payload["id"] or not isinstance(payload.get("status"), str):
        raise InvalidWebhook("not_a_prediction")
    return status_from_prediction(payload)


def _signed_content(webhook_id: str, timestamp: str, body: bytes) -> bytes:
    # Sign the raw bytes as received: re-serialising the JSON would change them.
    return f"{webhook_id}.{timestamp}.".encode() + body


def _v1_signatures(header: str) -> list[bytes]:
    """Decoded `v1` signatures from the header; other versions and garbage are skipped."""
    found = []
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except binascii.Error:
            continue
    return found
