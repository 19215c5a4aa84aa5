"""Logging set-up: one line per record, level from LOG_LEVEL."""

from __future__ import annotations

import logging


def configure(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The HTTP clients log every request at INFO, with URLs that can carry a bot token.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "aiosqlite", "stripe", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
