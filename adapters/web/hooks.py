"""What the web server calls into, injected by the composition root.

Every field is read at request time, so a hook can be plugged in after the server has started
(the Telegram and generation adapters set theirs when they are built). A hook that is not set
answers 404 (503 for Stripe, so Stripe keeps retrying until payments are configured).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from core.domain.payments import PaymentEvent

# A raw webhook: the exact body bytes and the request headers (case-insensitive mapping).
# Raise `core.errors.InvalidWebhook` for an untrusted request (→ 400); any other exception
# → 500, so the sender retries.
RawWebhook = Callable[[bytes, Mapping[str, str]], Awaitable[None]]


@dataclass
class WebHooks:
    health: Callable[[], Awaitable[bool]]  # True when the database answers
    text: Callable[[str], str]  # catalogue lookup for the pages' words
    # Stripe: verify + translate (sync, raises InvalidWebhook / PaymentsNotConfigured), then act.
    parse_stripe: Callable[[bytes, str | None], PaymentEvent] | None = None
    on_stripe_event: Callable[[PaymentEvent], Awaitable[object]] | None = None
    on_replicate_webhook: RawWebhook | None = None
    on_telegram_update: RawWebhook | None = None
    # Checked against X-Telegram-Bot-Api-Secret-Token when set (it should be, in production).
    telegram_secret: str | None = None
    # discord (issue 6): GET /clips/<name> serves clips too big to upload to a chat, while their
    # link is valid: (bytes, content type), or None → 404.
    clip: Callable[[str], Awaitable[tuple[bytes, str] | None]] | None = None
