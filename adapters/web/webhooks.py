"""POST /webhooks/stripe, /webhooks/replicate, /webhooks/telegram.

Status codes are what the senders act on: 2xx = done (never sent again), 400 = untrusted
(signature, timestamp, body), 5xx = our problem, retry later. A handler error is 500 with
nothing half-applied, because the core applies each event in one transaction.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from adapters.web.hooks import RawWebhook, WebHooks
from core.errors import InvalidWebhook, PaymentsNotConfigured

logger = logging.getLogger(__name__)

HOOKS: web.AppKey[WebHooks] = web.AppKey("hooks", WebHooks)
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _answer(status: int, **body: object) -> web.Response:
    return web.json_response(body, status=status)


async def stripe_webhook(request: web.Request) -> web.Response:
    hooks = request.app[HOOKS]
    if hooks.parse_stripe is None or hooks.on_stripe_event is None:
        return _answer(503, error="payments_not_configured")
    raw = await request.read()  # the exact bytes: the signature covers them
    try:
        event = hooks.parse_stripe(raw, request.headers.get("Stripe-Signature"))
    except InvalidWebhook as error:
        return _answer(400, error=error.reason)
    except PaymentsNotConfigured:
        logger.error("a Stripe webhook arrived but STRIPE_WEBHOOK_SECRET is not set")
        return _answer(503, error="payments_not_configured")
    try:
        result = await hooks.on_stripe_event(event)
    except Exception:
        logger.exception("stripe event %s failed; Stripe will retry", event.event_id)
        return _answer(500, error="internal")
    return _answer(200, received=True, outcome=str(result.outcome))


async def _raw(request: web.Request, hook: RawWebhook | None, name: str) -> web.Response:
    if hook is None:
        return _answer(404, error=f"{name}_webhook_not_configured")
    raw = await request.read()
    try:
        await hook(raw, request.headers)
    except InvalidWebhook as error:
        logger.warning("%s webhook rejected: %s", name, error.reason)
        return _answer(400, error=error.reason)
    except Exception:
        logger.exception("%s webhook failed", name)
        return _answer(500, error="internal")
    return _answer(200, ok=True)


async def replicate_webhook(request: web.Request) -> web.Response:
    return await _raw(request, request.app[HOOKS].on_replicate_webhook, "replicate")


async def telegram_webhook(request: web.Request) -> web.Response:
    hooks = request.app[HOOKS]
    if hooks.on_telegram_update is not None and hooks.telegram_secret:
        given = request.headers.get(TELEGRAM_SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), hooks.telegram_secret.encode()):
            logger.warning("telegram webhook with a wrong secret token refused")
            return _answer(403, error="bad_secret_token")
    return await _raw(request, hooks.on_telegram_update, "telegram")
