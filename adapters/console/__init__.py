"""The console chat: the embedded default when no chat token is configured."""

from adapters.console.platform import ConsoleChat, ConsolePlatform

CONSOLE_USER_ID = r"[A-Za-z0-9_.\-]{1,64}"  # the name of whoever sits at the terminal

__all__ = ["CONSOLE_USER_ID", "ConsoleChat", "ConsolePlatform"]
