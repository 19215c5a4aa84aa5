"""`/generate audio:<attachment> style:<text, with suggestions> length:<choice with its cost>`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from adapters.discord.common import bot_of, download, identity_of, private, reply_target

if TYPE_CHECKING:
    from adapters.discord.client import MusicBot


def add_generate_commands(bot: MusicBot) -> None:
    generation = bot.services.generation
    if generation is None:
        return
    lengths = [
        Choice(name=name, value=seconds) for name, seconds in bot.text.length_choices(bot.services.rules.pricing)
    ]

    async def suggest_styles(interaction: discord.Interaction[Any], current: str) -> list[Choice[str]]:
        typed = current.strip()[:100]
        shown = [s for s in bot.options.styles if typed.lower() in s.lower()]
        if typed and typed not in shown:
            shown.insert(0, typed)  # free text is a style too
        return [Choice(name=s, value=s) for s in shown[:25]]

    @bot.tree.command(name="generate")
    @app_commands.describe(
        audio="A short recording of your melody: hum, sing or play it (a voice message or file)",
        style="Instrument or style, e.g. warm solo piano (pick one or type your own)",
        length="How long the music should be (the cost is shown)",
    )
    @app_commands.choices(length=lengths)
    @app_commands.autocomplete(style=suggest_styles)
    async def generate(
        interaction: discord.Interaction[Any], audio: discord.Attachment, style: str, length: int
    ) -> None:
        """Turn a hummed, sung or played melody into music."""
        bot = bot_of(interaction)
        is_private = private(interaction)
        callback = await interaction.response.defer(ephemeral=is_private, thinking=True)
        async with bot.intake:
            welcome = await bot.welcome(interaction)
            data = await download(audio, bot.options.max_download_bytes)
            reply_to = reply_target(interaction, getattr(callback, "message_id", None), is_private=is_private)
            accepted = await generation.submit(
                identity_of(interaction.user),
                data,
                style,
                length,
                platform="discord",
                reply_to=reply_to,
                request_id=str(interaction.id),
                max_input_bytes=bot.options.max_download_bytes,
            )
        await bot.notifier.accepted(accepted, prefix=welcome)
