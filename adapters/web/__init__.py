"""The bot's web server (aiohttp): payment and generation webhooks, health, metrics, the operator
dashboard, checkout pages."""

from adapters.web.hooks import Dashboard, WebHooks
from adapters.web.server import WebServer

__all__ = ["Dashboard", "WebHooks", "WebServer"]
