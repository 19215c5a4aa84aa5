"""Commands declared once, as data: their names, arguments, who may see them and the function
that answers them. Telegram builds its command menu from this table, Discord its slash commands
(options with their types and choices), the console its `/help`; text platforms parse words with
`parse_words`, Discord passes its options by name.

Words are catalogue keys: `command.<name>` describes a command, `command.<name>.<param>` an
argument (`command.<group>.<name>...` for a subcommand; an argument several subcommands share
may be described once, as `command.<group>.<param>`).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from adapters.chat.messages import Reply, Request, Surface
from core.domain.numbers import whole_number
from core.errors import UsageError

Handler = Callable[[Request], Awaitable[Reply]]


class ParamKind(enum.StrEnum):
    WORD = "word"  # one word
    TEXT = "text"  # several words (the rest, or as many as leave one for each later argument)
    NUMBER = "number"  # a whole number in ASCII digits (else the usage line); core checks its range
    AUDIO = "audio"  # a recording attached to the command
    MEMBER = "member"  # another person (an option, or the author of the message replied to)


class Audience(enum.StrEnum):
    EVERYONE = "everyone"
    SERVER_ADMINS = "server_admins"  # hidden from other members where the platform can hide it
    OPERATORS = "operators"  # the bot's operators (OPERATOR_IDS); core checks, menus hide


class Menu(enum.Flag):
    """Where a command is listed in the platform's command menu."""

    NONE = 0
    PRIVATE = enum.auto()
    GROUPS = enum.auto()
    BOTH = PRIVATE | GROUPS


@dataclass(frozen=True)
class Param:
    name: str
    kind: ParamKind = ParamKind.WORD
    required: bool = True
    choices: Callable[[], Sequence[tuple[str, str]]] | None = None  # (label, value), fixed lists
    suggest: Callable[[str], Sequence[str]] | None = None  # free text with suggestions as you type
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Command:
    name: str
    run: Handler | None = None  # None: a group, run through `subcommands`
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()  # other names text platforms accept (the first they can spell is shown)
    subcommands: tuple[Command, ...] = ()
    default: str | None = None  # the subcommand when a text platform gives none
    audience: Audience = Audience.EVERYONE
    groups_only: bool = False
    menu: Menu = Menu.NONE
    slow: bool = False  # calls the network or the disk: acknowledge first, answer after
    slow_with_args: bool = False  # slow only when given arguments (`/buy <pack>` asks Stripe)
    greets: bool = True  # a first contact is greeted (with the welcome grant) before it runs
    where: Callable[[Surface], bool] = lambda surface: True  # the platforms that offer it

    def available(self, surface: Surface) -> bool:
        return self.where(surface)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def subcommand(self, word: str) -> Command | None:
        word = word.lower()
        return next((sub for sub in self.subcommands if word in sub.names), None)

    def is_slow(self, args: object) -> bool:
        return self.slow or (self.slow_with_args and bool(args))

    @property
    def takes_audio(self) -> bool:
        return any(p.kind == ParamKind.AUDIO for p in self.params) or any(s.takes_audio for s in self.subcommands)


@dataclass(frozen=True)
class Parsed:
    command: Command  # the one to run (a subcommand when the words named one)
    args: dict[str, str]


def parse_words(command: Command, words: Sequence[str]) -> Parsed:
    """Words typed after a command → its arguments by name. Raises `UsageError` when a required
    argument is missing or a word is left over."""
    usage = command.name
    if command.subcommands:
        sub = command.subcommand(words[0]) if words else None
        if sub is not None:
            return parse_words_of(sub, words[1:], f"{usage}.{sub.name}")
        default = command.subcommand(command.default) if command.default else None
        if default is None:
            raise UsageError(usage)
        return parse_words_of(default, words, usage)
    return parse_words_of(command, words, usage)


def parse_words_of(command: Command, words: Sequence[str], usage: str) -> Parsed:
    params = [p for p in command.params if p.kind != ParamKind.MEMBER]
    args: dict[str, str] = {}
    rest = list(words)
    for index, param in enumerate(params):
        later = sum(1 for p in params[index + 1 :] if p.required)
        if param.kind == ParamKind.TEXT:
            take = max(len(rest) - later, 0)
            if take == 0:
                if param.required:
                    raise UsageError(usage)
                continue
            args[param.name], rest = " ".join(rest[:take]), rest[take:]
        elif rest and (param.required or len(rest) > later):
            args[param.name], rest = rest[0], rest[1:]
        elif param.required:
            raise UsageError(usage)
    if rest:
        raise UsageError(usage)
    return Parsed(command, checked_args(command, args, usage))


def checked_args(command: Command, args: Mapping[str, str], usage: str) -> dict[str, str]:
    """`args` with every number argument written plainly ("007" → "7"); raises `UsageError`
    when one is not a whole number in ASCII digits ("²", "٥", "-3", "1e3", thirty digits), or
    when any argument carries a NUL (no text means one, and PostgreSQL cannot store it)."""
    if any("\0" in value for value in args.values()):
        raise UsageError(usage)
    checked = dict(args)
    for param in command.params:
        if param.kind == ParamKind.NUMBER and param.name in checked:
            given = checked[param.name].strip()
            if param.name == "ticket":
                given = given.removeprefix("#")  # lists show tickets as #12
            value = whole_number(given)
            if value is None:
                raise UsageError(usage)
            checked[param.name] = str(value)
    return checked


def flatten(commands: Sequence[Command]) -> dict[str, Command]:
    """Every name and alias → its command (top level)."""
    table: dict[str, Command] = {}
    for command in commands:
        for name in command.names:
            table.setdefault(name, command)
    return table
