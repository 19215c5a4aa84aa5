"""The slash commands in every language the catalogue speaks: discord.py asks a `Translator`
for each command's and option's name and description, once per Discord locale, when the
commands are synced (`python -m bot sync-commands`), and sends them as `name_localizations` /
`description_localizations`. A description carries its catalogue key (`locale_str(..., key=)`);
a command's or option's name is looked up as `name.<name>` (a subcommand keeps its English name:
the catalogue's usage lines spell it so on every platform). English is the commands' own text."""

from __future__ import annotations

import re

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where
from discord.app_commands import locale_str

from adapters.chat.locales import DEFAULT
from adapters.chat.words import Words

MAX_DESCRIPTION = 100
NAMES = frozenset({Where.command_name, Where.group_name, Where.parameter_name})
# Discord's rule for a slash command's or option's name (its context menus may have spaces).
VALID_NAME = re.compile(r"^[-_\w]{1,32}$")


def name_key(name: str) -> str:
    return f"name.{name}"


class CatalogueTranslator(app_commands.Translator):
    def __init__(self, words: Words) -> None:
        self.words = words

    async def translate(
        self, string: locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        language = self.words.catalogue.language(locale.value)
        if language == DEFAULT:
            return None
        key = string.extras.get("key")
        slash_name = key is None and context.location in NAMES  # a context menu's name has its key
        if slash_name and context.location == Where.command_name and getattr(context.data, "parent", None):
            return None  # a subcommand
        if slash_name:
            key = name_key(string.message)
        if not key or not self.words.catalogue.has(key):
            return None
        text = self.words.t(language, key)
        if slash_name:
            return text if VALID_NAME.match(text) and text == text.lower() else None
        return text[:MAX_DESCRIPTION]
