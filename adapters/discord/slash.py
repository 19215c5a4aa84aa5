"""The conversation's commands as Discord slash commands, built from their declarations: each
argument an option of its type (a file, a member, a number with its range or choices, text with
suggestions as you type), described from the catalogue; server-admin and operator commands
hidden from others with `default_permissions`, group commands offered in servers only."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Optional

import discord
from discord import app_commands
from discord.app_commands import Choice, locale_str

from adapters.chat.commands import Audience, Command, Param, ParamKind
from adapters.chat.words import Words
from adapters.discord.views import Interaction

Run = Callable[[Interaction, Command, Command | None, Mapping[str, object]], Awaitable[None]]
Slash = app_commands.Command[app_commands.Group, ..., None]
MAX_DESCRIPTION = 100
PERMISSIONS = {
    Audience.SERVER_ADMINS: discord.Permissions(manage_guild=True),
    Audience.OPERATORS: discord.Permissions(administrator=True),
}
TYPES: dict[ParamKind, type] = {
    ParamKind.WORD: str,
    ParamKind.TEXT: str,
    ParamKind.NUMBER: int,
    ParamKind.AUDIO: discord.Attachment,
    ParamKind.MEMBER: discord.User,
}


def slash_commands(commands: list[Command], words: Words, run: Run) -> list[Slash | app_commands.Group]:
    built: list[Slash | app_commands.Group] = []
    for command in commands:
        if not command.subcommands:
            built.append(_command(command, None, words, run))
            continue
        group = app_commands.Group(
            name=locale_str(command.name),
            description=_describe(words, command.name),
            guild_only=command.groups_only,
            allowed_contexts=app_commands.AppCommandContext(guild=True) if command.groups_only else None,
            default_permissions=PERMISSIONS.get(command.audience),
        )
        for sub in command.subcommands:
            group.add_command(_command(sub, command, words, run))
        built.append(group)
    return built


def _command(command: Command, parent: Command | None, words: Words, run: Run) -> Slash:
    root = parent or command
    path = f"{parent.name}.{command.name}" if parent else command.name

    async def callback(interaction: Interaction, **options: object) -> None:
        await run(interaction, root, command if parent else None, options)

    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)]
    for param in sorted(command.params, key=lambda p: not p.required):
        params.append(
            inspect.Parameter(
                param.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_type(param) if param.required else Optional[_type(param)],  # noqa: UP045 - a runtime type
                default=inspect.Parameter.empty if param.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    described = {p.name: _describe(words, path, p.name, parent) for p in command.params}
    callback = app_commands.describe(**described)(callback)
    if command.params:  # each option's name is translated too (`name.<option>`)
        callback = app_commands.rename(**{p.name: locale_str(p.name) for p in command.params})(callback)
    choices = {p.name: _choices(p) for p in command.params if p.choices is not None}
    if choices:
        callback = app_commands.choices(**choices)(callback)
    suggestions = {p.name: _suggest(p) for p in command.params if p.suggest is not None}
    if suggestions:
        callback = app_commands.autocomplete(**suggestions)(callback)
    if parent is None and command.groups_only:
        callback = app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)(callback)
    if parent is None and command.audience in PERMISSIONS:
        callback = app_commands.default_permissions(PERMISSIONS[command.audience])(callback)
    return app_commands.Command(name=locale_str(command.name), description=_describe(words, path), callback=callback)


def _type(param: Param) -> object:
    kind = TYPES[param.kind]
    if param.kind == ParamKind.NUMBER and param.choices is None and (param.minimum or param.maximum):
        return app_commands.Range[int, param.minimum or -(2**53), param.maximum or 2**53]
    if param.kind == ParamKind.TEXT and param.maximum:
        return app_commands.Range[str, 0 if not param.required else 1, param.maximum]
    return kind


def _choices(param: Param) -> list[Choice[str]] | list[Choice[int]]:
    assert param.choices is not None
    given = param.choices()[:25]
    if param.kind == ParamKind.NUMBER:
        return [Choice(name=label[:100], value=int(value)) for label, value in given]
    return [Choice(name=label[:100], value=value) for label, value in given]


def _suggest(param: Param) -> Callable[[Interaction, str], Awaitable[list[Choice[str]]]]:
    assert param.suggest is not None
    suggest = param.suggest

    async def complete(interaction: Interaction, current: str) -> list[Choice[str]]:
        return [Choice(name=s[:100], value=s[:100]) for s in suggest(current)][:25]

    return complete


def _describe(words: Words, path: str, param: str | None = None, parent: Command | None = None) -> locale_str:
    """`command.<path>[.<param>]`; a subcommand's argument else as its group describes it for
    every subcommand (`command.<group>.<param>`, unless a subcommand has that name). The key
    travels with the English, for the translator to find the other languages' words."""
    keys = [f"command.{path}"] if param is None else [f"command.{path}.{param}"]
    if param is not None and parent is not None and parent.subcommand(param) is None:
        keys.append(f"command.{parent.name}.{param}")
    found = next((k for k in keys if words.catalogue.has(k)), None)
    if found is None:
        return locale_str("…")
    return locale_str(words.t(None, found)[:MAX_DESCRIPTION], key=found)
