"""The slash commands Discord shows: every command, subcommand and option described in the
catalogue's words (a description it cannot find is shown as "…")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import discord
from discord import app_commands

from adapters.chat.catalogue import ENGLISH
from adapters.discord.platform import DiscordOptions, DiscordPlatform
from adapters.discord.slash import slash_commands
from tests.unit.conversation_kit import kit

MISSING = "…"


def described(commands: list[object]) -> Iterator[tuple[str, str]]:
    """(where, description) of every command, subcommand and option in a tree."""
    for command in commands:
        if isinstance(command, app_commands.Group):
            yield command.qualified_name, command.description
            yield from described(list(command.commands))
        elif isinstance(command, app_commands.Command):
            yield command.qualified_name, command.description
            for param in command.parameters:
                yield f"{command.qualified_name} {param.name}", param.description


async def test_every_registered_command_and_option_has_its_description(tmp_path: Path) -> None:
    bot = kit(tmp_path)
    try:
        platform = DiscordPlatform(DiscordOptions(token="x"), bot.conversation, bot.app.words)
        tree = platform.client.tree
        shown = dict(described(list(tree.get_commands())))
        assert {"start payload", "admin grant member", "admin user identity", "admin reply grant"} <= set(shown)
        assert [where for where, text in shown.items() if text == MISSING or not text] == []
        assert not [where for where, text in shown.items() if text.startswith("command.")]
        assert shown["admin grant member"] == ENGLISH["command.admin.member"]
        assert shown["admin user"] != shown["admin user member"]  # an option is not its subcommand
        menus = tree.get_commands(type=discord.AppCommandType.message)
        assert [menu.name for menu in menus] == [ENGLISH["context_menu.make_music"]]
    finally:
        await bot.app.close()


async def test_every_declared_command_would_be_described_on_any_platform(tmp_path: Path) -> None:
    """Also the commands Discord does not offer (the console's /share)."""
    bot = kit(tmp_path)
    try:

        async def run(*_: object) -> None:
            return None

        every = slash_commands(list(bot.conversation.commands), bot.app.words, run)
        shown = dict(described(list(every)))
        assert "share job" in shown
        assert [where for where, text in shown.items() if text == MISSING or not text] == []
    finally:
        await bot.app.close()
