"""One event loop runs every enabled adapter: console, Discord, Telegram, the web server and
the job workers."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import signal
from collections.abc import AsyncIterator
from typing import Protocol

from adapters.chat.render import Renderer
from adapters.console.chat import ConsoleChat, Handler
from adapters.console.commands_wallet import wallet_commands
from adapters.storage.migrations import upgrade
from bot.bootstrap import App, build_app
from bot.config import Settings
from core.domain.identity import Identity

logger = logging.getLogger(__name__)


class Component(Protocol):
    """Something that runs in the shared loop: a chat adapter, the web server, the job workers."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def console_identity() -> Identity:
    name = "".join(ch for ch in getpass.getuser() if ch.isalnum() or ch in "_.-") or "me"
    return Identity("console", name[:64])


def console_commands(app: App, identity: Identity) -> dict[str, Handler]:
    """Every console command, gathered from the per-area modules."""
    render = Renderer(app.catalogue)
    commands: dict[str, Handler] = {}
    commands.update(
        wallet_commands(app.wallets, app.rules.pricing, identity, render, lambda: " ".join(sorted(commands)))
    )
    return commands


def background_components(app: App) -> list[Component]:
    """Always-on parts (job workers; the web server when a payment or webhook setting is set)."""
    components: list[Component] = []
    return components


def chat_components(app: App) -> list[Component]:
    """The chat adapters whose token is configured (Telegram, Discord)."""
    components: list[Component] = []
    return components


@contextlib.asynccontextmanager
async def running(components: list[Component]) -> AsyncIterator[None]:
    started: list[Component] = []
    try:
        for component in components:
            await component.start()
            started.append(component)
        yield
    finally:
        for component in reversed(started):
            try:
                await component.stop()
            except Exception:
                logger.exception("stopping %s failed", type(component).__name__)


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
        chats = chat_components(app)
        async with running(background_components(app) + chats):
            if chats:
                logger.info("running %s; stop with Ctrl-C", ", ".join(type(c).__name__ for c in chats))
                await until_signalled()
            else:
                await ConsoleChat(console_commands(app, console_identity()), app.catalogue).run()
    finally:
        await app.close()
