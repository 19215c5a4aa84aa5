"""A chat in the terminal against the same core. Works with piped input, so it can be scripted.

Commands live in small per-area modules (`commands_*.py`), each a `dict` of `/name` → handler;
a handler translates: parse the words, call one core service, render the result.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

from adapters.chat.catalogue import Catalogue
from adapters.chat.errors import error_reply
from core.errors import InsufficientCredits, UnknownCommand

logger = logging.getLogger(__name__)

Handler = Callable[[list[str]], Awaitable[str]]
# What follows a refusal for lack of credits: the packs, the next daily credit, support.
Refusal = Callable[[InsufficientCredits], Awaitable[str]]


class ConsoleChat:
    def __init__(
        self,
        commands: dict[str, Handler],
        catalogue: Catalogue,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        refusal: Refusal | None = None,
    ) -> None:
        self.commands = commands
        self.catalogue = catalogue
        self.refusal = refusal
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout

    async def run(self) -> None:
        """Read commands until end of input or /quit."""
        interactive = self.stdin.isatty()
        self.say(await self.handle("/start"))
        while True:
            if interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            line = await asyncio.to_thread(self.stdin.readline)
            if not line or line.strip() in ("/quit", "/exit"):
                break
            if line.strip():
                self.say(await self.handle(line))

    def say(self, text: str) -> None:
        self.stdout.write(text.rstrip() + "\n")
        self.stdout.flush()

    async def handle(self, line: str) -> str:
        """One line in, one reply out; errors become words here, once."""
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        if not words:
            return ""
        handler = self.commands.get(words[0].lower())
        try:
            if handler is None:
                raise UnknownCommand(words[0])
            return await handler(words[1:])
        except Exception as error:  # noqa: BLE001 - the edge turns every error into words
            text = error_reply(self.catalogue, error)
            if isinstance(error, InsufficientCredits) and self.refusal is not None:
                text = await self._with_offer(text, error)
            return text

    async def _with_offer(self, text: str, error: InsufficientCredits) -> str:
        assert self.refusal is not None
        try:
            offer = await self.refusal(error)
        except Exception:  # noqa: BLE001 - the refusal itself is said either way
            logger.exception("the offer after a refusal failed")
            return text
        return f"{text}\n{offer}" if offer else text
