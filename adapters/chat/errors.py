"""The two tiers of errors at the edge: expected → friendly words; anything else → logged with
a reference the user is shown."""

from __future__ import annotations

import logging
import uuid

from adapters.chat.catalogue import Catalogue
from core.errors import BotError

logger = logging.getLogger(__name__)


def error_reply(catalogue: Catalogue, error: BaseException, locale: str | None = None) -> str:
    if isinstance(error, BotError):
        return catalogue.error(error, locale)
    ref = uuid.uuid4().hex[:8]
    logger.error("unexpected error (ref %s)", ref, exc_info=error)
    return catalogue.text("error.unexpected", locale, ref=ref)
