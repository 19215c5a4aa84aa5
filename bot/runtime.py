"""One event loop runs every enabled adapter: console, Discord, Telegram, the web server and
the job workers."""

from __future__ import annotations

import getpass
import logging

from adapters.chat.render import Renderer
from adapters.console.chat import ConsoleChat, Handler
from adapters.console.commands_wallet import wallet_commands
from adapters.storage.migrations import upgrade
from bot.bootstrap import App, build_app
from bot.config import Settings
from core.domain.identity import Identity

logger = logging.getLogger(__name__)


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


async def run(settings: Settings) -> None:
    await upgrade(settings.database_url)
    app = await build_app(settings)
    try:
        chat = ConsoleChat(console_commands(app, console_identity()), app.catalogue)
        await chat.run()
    finally:
        await app.close()
