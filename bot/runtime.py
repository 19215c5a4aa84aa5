"""`python -m bot`: one event loop runs every registered chat platform, the job workers, the web
server and the periodic sweeps; with no chat token, the console chat in the terminal.

SIGTERM and SIGINT stop every mode the same way: the web server and the chat platforms stop
taking updates, jobs in flight get a few seconds to finish (the rest stay in the database and
resume at the next start), queued ledger writes are committed, and the worker processes
(decoding, rendering) are ended, so nothing the bot started outlives it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import getpass
import logging
import signal
from collections.abc import Coroutine
from typing import Any

from adapters.chat.economics import EconomicsWords
from adapters.console import ConsolePlatform
from adapters.storage.migrations import upgrade
from bot.bootstrap import App, build_app
from bot.config import Settings
from bot.processes import return_large_blocks
from core.domain.identity import Identity

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def console_identity() -> Identity:
    name = "".join(ch for ch in getpass.getuser() if ch.isalnum() or ch in "_.-") or "me"
    return Identity("console", name[:64])


def freeze_startup_heap() -> None:
    """What start-up built (the app, the libraries' modules) lives as long as the process: take
    it out of the collector's full passes, which otherwise scan all of it and pause the loop for
    tens of milliseconds under load (the webhook benchmark's p99: 57 ms, 22 ms frozen)."""
    gc.collect()
    gc.freeze()


class StopSignal:
    """Set by SIGTERM or SIGINT (the handlers are installed for as long as it is entered)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.received: str | None = None

    def __enter__(self) -> StopSignal:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self._on_signal, sig)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.received is None:
            self.received = sig.name
            logger.warning("%s received: stopping", sig.name)
        self.event.set()

    async def wait(self) -> None:
        await self.event.wait()


async def until_signalled() -> None:
    with StopSignal() as stop:
        await stop.wait()


async def run_until_stopped(main: Coroutine[Any, Any, None], stop: StopSignal) -> None:
    """Run `main` until it ends by itself or a stop signal comes, whichever is first."""
    work = asyncio.ensure_future(main)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work, stopped):
            task.cancel()
        await asyncio.gather(work, stopped, return_exceptions=True)
    if work.done() and not work.cancelled():
        work.result()  # its error, if it ended with one


async def run(settings: Settings) -> None:
    return_large_blocks()  # an upload's memory goes back once it has been handed over
    with StopSignal() as stop:
        await upgrade(settings.database_url)
        app = await build_app(settings)
        try:
            await warn_losing_prices(app)
            async with app.running():
                freeze_startup_heap()
                console = next((p for p in app.chats if isinstance(p, ConsolePlatform)), None)
                if console is not None:
                    await run_until_stopped(console.chat(console_identity()).run(), stop)
                else:
                    names = ", ".join(p.surface.name for p in app.chats)
                    logger.info("running %s; stop with Ctrl-C or SIGTERM", names)
                    await stop.wait()
        finally:
            await app.close()
        logger.info("stopped")


async def warn_losing_prices(app: App) -> None:
    """At start: a warning for each operation whose recent average cost is more than its credits
    bring in at the cheapest pack (the operator sees it before it hurts)."""
    if app.economics is None:
        return
    words = EconomicsWords(app.catalogue)
    for price in await app.economics.losing():
        logger.warning("%s", words.losing(price))
