"""The bot's web server (aiohttp): payment and generation webhooks, health, metrics, the operator
dashboard, checkout pages.

The server (aiohttp, Jinja) loads on first use, not with this package: a bot that serves no web
page never loads it, while the plain parts here (`hooks`, `bodies`) are used everywhere."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.web.hooks import Dashboard, WebHooks
    from adapters.web.server import WebServer

_HOMES = {"Dashboard": "adapters.web.hooks", "WebHooks": "adapters.web.hooks", "WebServer": "adapters.web.server"}

__all__ = ["Dashboard", "WebHooks", "WebServer"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
