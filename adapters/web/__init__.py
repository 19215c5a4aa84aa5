"""The bot's web server (aiohttp): payment and generation webhooks, health, metrics, checkout pages."""

from adapters.web.hooks import WebHooks
from adapters.web.server import WebServer

__all__ = ["WebHooks", "WebServer"]
