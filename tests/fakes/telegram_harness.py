"""Run a real python-telegram-bot ``Application`` against :class:`FakeBotAPI`.

Two ways in, both started the way an app that shares its event loop must be (never
``run_polling()``):

* :func:`polling_bot`: ``initialize``, ``start``, ``updater.start_polling``; stopped with
  ``updater.stop()``, ``stop()``, ``shutdown()``.
* :func:`webhook_bot`: no updater; an aiohttp app made by the caller receives Telegram's POSTs
  (our own web server hosts the webhook in production) and the fake is told about it with
  ``setWebhook``.

Handler exceptions only reach the log in PTB, so both register an error handler that records
them in :attr:`BotHarness.errors`; by default leaving the block fails if any were recorded.

``python -m tests.fakes.telegram_harness`` prints how many updates/s the fake + PTB polling loop
handles (:func:`measure_polling_throughput`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram_fake import FakeBotAPI, start_loopback

Configure = Callable[[Application[Any, Any, Any, Any, Any, Any]], None]
PTBApplication = Application[Any, Any, Any, Any, Any, Any]


@dataclass
class HandlerError:
    """One exception a handler raised, with the update it was handling."""

    error: BaseException
    update: object


@dataclass
class BotHarness:
    application: PTBApplication
    fake: FakeBotAPI
    errors: list[HandlerError] = field(default_factory=list)
    polling_errors: list[TelegramError] = field(default_factory=list)
    webhook_url: str | None = None
    _error_recorded: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def record_error(self, error: HandlerError) -> None:
        self.errors.append(error)
        self._error_recorded.set()

    async def wait_for_errors(
        self,
        count: int = 1,
        *,
        timeout: float = 5,  # noqa: ASYNC109 - as in FakeBotAPI.wait_for
    ) -> list[HandlerError]:
        """Wait until the error handler has recorded ``count`` exceptions."""
        async with asyncio.timeout(timeout):
            while len(self.errors) < count:
                self._error_recorded.clear()
                await self._error_recorded.wait()
        return list(self.errors)

    @property
    def bot(self) -> Any:
        return self.application.bot

    def assert_no_errors(self) -> None:
        problems = [f"{type(e.error).__name__}: {e.error}" for e in self.errors]
        problems += [f"polling: {type(e).__name__}: {e}" for e in self.polling_errors]
        assert not problems, f"the bot raised: {problems}"


def build_application(
    fake: FakeBotAPI,
    configure: Configure,
    *,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    with_updater: bool = True,
    concurrent_updates: bool | int = True,
    connection_pool_size: int | None = None,
) -> tuple[PTBApplication, BotHarness]:
    """A real Application pointed at the fake, concurrent updates on, errors recorded."""
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        Application.builder()
        .token(fake.token)
        .base_url(fake.api_url)
        .base_file_url(fake.file_url)
        .concurrent_updates(concurrent_updates)
    )
    if connection_pool_size is not None:
        builder = builder.connection_pool_size(connection_pool_size)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    if not with_updater:
        builder = builder.updater(None)
    application = builder.build()
    harness = BotHarness(application, fake)

    async def record_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Record what a handler raised, so tests can assert there was nothing."""
        assert context.error is not None
        harness.record_error(HandlerError(context.error, update))

    application.add_error_handler(record_error)
    configure(application)
    return application, harness


@asynccontextmanager
async def polling_bot(
    fake: FakeBotAPI,
    configure: Configure,
    *,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    check_errors: bool = True,
    allowed_updates: list[str] | None = Update.ALL_TYPES,
    concurrent_updates: bool | int = True,
    connection_pool_size: int | None = None,
) -> AsyncIterator[BotHarness]:
    """The bot long-polling the fake; ``fake.push_update`` feeds it."""
    application, harness = build_application(
        fake,
        configure,
        rate_limiter=rate_limiter,
        concurrent_updates=concurrent_updates,
        connection_pool_size=connection_pool_size,
    )
    updater = application.updater
    assert updater is not None
    await application.initialize()
    await application.start()
    await updater.start_polling(allowed_updates=allowed_updates, error_callback=harness.polling_errors.append)
    try:
        yield harness
    finally:
        await updater.stop()
        await application.stop()
        await application.shutdown()
    if check_errors:
        harness.assert_no_errors()


WebAppFactory = Callable[[PTBApplication], web.Application]


@asynccontextmanager
async def webhook_bot(
    fake: FakeBotAPI,
    configure: Configure,
    web_app_factory: WebAppFactory,
    *,
    path: str,
    secret_token: str,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    check_errors: bool = True,
    allowed_updates: list[str] | None = Update.ALL_TYPES,
) -> AsyncIterator[BotHarness]:
    """The bot in webhook mode: ``web_app_factory(application)`` is served on loopback at
    ``path`` and registered with ``setWebhook``; ``fake.push_update`` then POSTs to it."""
    application, harness = build_application(fake, configure, rate_limiter=rate_limiter, with_updater=False)
    base, runner = await start_loopback(web_app_factory(application))
    harness.webhook_url = f"{base}{path}"
    await application.initialize()
    await application.start()
    try:
        await application.bot.set_webhook(
            harness.webhook_url, secret_token=secret_token, allowed_updates=allowed_updates
        )
        yield harness
    finally:
        await application.stop()
        await application.shutdown()
        await runner.cleanup()
    if check_errors:
        harness.assert_no_errors()


# --- throughput -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    updates: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds


async def measure_polling_throughput(
    users: int = 200,
    *,
    concurrent_updates: bool | int = True,
    connection_pool_size: int | None = None,
) -> Throughput:
    """``users`` people each send one message at once; time until every reply reached the fake.

    Measures the loop the adapter will sit on: getUpdates batches, PTB dispatch with concurrent
    updates, one sendMessage per update, all on one event loop (fake included).
    """

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Reply to every text."""
        assert update.effective_message is not None
        await update.effective_message.reply_text("ok")

    def configure(app: PTBApplication) -> None:
        app.add_handler(MessageHandler(filters.TEXT, echo))

    async with (
        FakeBotAPI() as fake,
        polling_bot(
            fake,
            configure,
            concurrent_updates=concurrent_updates,
            connection_pool_size=connection_pool_size,
        ),
    ):
        people = [fake.new_user() for _ in range(users)]
        updates = [fake.build.text(person, "hello") for person in people]
        started = time.perf_counter()
        await fake.push_updates(updates)
        await fake.wait_for("sendMessage", count=users, timeout=60)
        elapsed = time.perf_counter() - started
        replied_to = {p["chat_id"] for p in fake.calls("sendMessage")}
        assert replied_to == {p["id"] for p in people}, "some user got no reply"
    return Throughput(users, elapsed)


if __name__ == "__main__":
    for _ in range(3):
        result = asyncio.run(measure_polling_throughput())
        print(f"{result.updates} updates in {result.seconds:.3f}s: {result.per_second:.0f}/s")
