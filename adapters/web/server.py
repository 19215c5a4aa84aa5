"""`WebServer`: one aiohttp application on WEB_HOST:WEB_PORT, sharing the bot's event loop."""

from __future__ import annotations

import logging

from aiohttp import web, web_protocol
from aiohttp.http_exceptions import BadHttpMessage

from adapters.web import dashboard, metrics, pages, webhooks
from adapters.web.hooks import WebHooks

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # webhooks are small; refuse anything bigger before reading it
# On stop, requests in flight (a webhook being applied) get this long; the senders retry one cut
# short. aiohttp's default, 60 s, would break the bot's 10 s stop.
SHUTDOWN_SECONDS = 3.0


class MalformedRequestsAsWarnings(logging.Filter):
    """aiohttp answers a request it cannot parse (a header over 8 KB, a broken request line)
    with 400 and logs it as an error with a traceback. It is the client's mistake: one warning
    line, naming the kind of mistake and not echoing what was sent."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, BadHttpMessage):
            record.msg, record.args = f"{record.getMessage()}: {type(error).__name__}", None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


_MALFORMED = MalformedRequestsAsWarnings()


def application(hooks: WebHooks) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[metrics.count_webhooks])
    if _MALFORMED not in web_protocol.server_logger.filters:
        web_protocol.server_logger.addFilter(_MALFORMED)
    app[webhooks.HOOKS] = hooks
    app[metrics.PROCESS_METRICS] = metrics.ProcessMetrics()
    app.router.add_post("/webhooks/stripe", webhooks.stripe_webhook)
    app.router.add_post("/webhooks/replicate", webhooks.replicate_webhook)
    app.router.add_post("/webhooks/telegram", webhooks.telegram_webhook)
    app.router.add_get("/healthz", pages.healthz)
    app.router.add_get("/checkout/success", pages.checkout_success)
    app.router.add_get("/checkout/cancel", pages.checkout_cancel)
    app.router.add_get("/clips/{name}", pages.clip)  # oversized clips
    app.router.add_get("/metrics", metrics.metrics)  # Prometheus; bearer token when METRICS_TOKEN is set
    app.router.add_get("/dashboard", dashboard.dashboard)  # operators; 404 unless DASHBOARD_TOKEN is set
    return app


class WebServer:
    """Start with `await server.start()` (port 0 picks a free one: see `base_url`)."""

    def __init__(
        self, hooks: WebHooks, host: str = "127.0.0.1", port: int = 8080, *, shutdown_seconds: float = SHUTDOWN_SECONDS
    ) -> None:
        self.hooks = hooks
        self.host = host
        self.port = port
        self.shutdown_seconds = shutdown_seconds
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(
            application(self.hooks), access_log=None, handle_signals=False, shutdown_timeout=self.shutdown_seconds
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        logger.info("web server listening on %s", self.base_url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> WebServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
