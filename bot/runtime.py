"""`python -m bot`: one event loop runs every registered chat platform, the job workers, the web
server and the periodic sweeps; with no chat token, the console chat in the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import getpass
import logging
import signal

from adapters.chat.economics import EconomicsWords
from adapters.console import ConsolePlatform
from adapters.storage.migrations import upgrade
from bot.bootstrap import App, build_app
from bot.config import Settings
from core.domain.identity import Identity

logger = logging.getLogger(__name__)


def console_identity() -> Identity:
    name = "".join(ch for ch in getpass.getuser() if ch.isalnum() or ch in "_.-") or "me"
    return Identity("console", name[:64])


def freeze_startup_heap() -> None:
    """What start-up built (the app, the libraries' modules) lives as long as the process: take
    it out of the collector's full passes, which otherwise scan all of it and pause the loop for
    tens of milliseconds under load (the webhook benchmark's p99: 57 ms, 22 ms frozen)."""
    gc.collect()
    gc.freeze()


async def until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run(settings: Settings) -> None:
    await upgrade(settings.database_url)
    app = await build_app(settings)
    try:
        await warn_losing_prices(app)
        async with app.running():
            freeze_startup_heap()
            console = next((p for p in app.chats if isinstance(p, ConsolePlatform)), None)
            if console is not None:
                await console.chat(console_identity()).run()
            else:
                logger.info("running %s; stop with Ctrl-C", ", ".join(p.surface.name for p in app.chats))
                await until_signalled()
    finally:
        await app.close()


async def warn_losing_prices(app: App) -> None:
    """At start: a warning for each operation whose recent average cost is more than its credits
    bring in at the cheapest pack (the operator sees it before it hurts)."""
    if app.economics is None:
        return
    words = EconomicsWords(app.catalogue)
    for price in await app.economics.losing(app.settings.economics_warning_days):
        logger.warning("%s", words.losing(price))
