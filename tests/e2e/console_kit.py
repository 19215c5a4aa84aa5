"""The console chat of an `App`, for one identity (the console serves any identity in tests)."""

from __future__ import annotations

from adapters.console import ConsoleChat, ConsolePlatform
from bot.bootstrap import App
from core.domain.identity import Identity


def console_chat(app: App, identity: Identity | str) -> ConsoleChat:
    platform = app.platforms.get("console")
    assert isinstance(platform, ConsolePlatform), "the app runs no console (a chat token is set)"
    return platform.chat(identity if isinstance(identity, Identity) else Identity.parse(identity))
