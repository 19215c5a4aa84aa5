"""Recordings sent to the bot: a voice message or an audio file in a DM, or "Make music from
this" on any message that carries one (servers too) → the style × length buttons, each showing
its cost → a job, as with /generate.

The recording is downloaded at once (Discord's attachment links expire) and refused there when
it is too big; it waits on the `RecordingShelf` for a press. Each button's `custom_id` carries
what the press needs, `rec:<recording message id>:<style>:<seconds>`, so a press after a restart
works; a press whose recording is no longer kept fetches the message again (fresh links) before
giving up. Nothing is held until a press: the audio is checked then, before the hold, by the
same intake /generate uses.

DMs carry their attachments without the privileged message-content intent (only the
`dm_messages` intent is needed), and so does the message a context menu is used on.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands, ui

from adapters.chat.catalogue import plural
from adapters.chat.recordings import STYLE_EMOJI, looks_like_audio
from adapters.discord.buttons import guarded
from adapters.discord.common import (
    answer,
    bot_of,
    download,
    frozen,
    identity_of,
    locale_of,
    private,
    reply_target,
)
from core.domain.identity import Identity
from core.errors import BotError

if TYPE_CHECKING:
    from adapters.discord.client import MusicBot

logger = logging.getLogger(__name__)

MAX_ROWS, MAX_PER_ROW = 5, 5  # Discord: 5 rows of 5 buttons
CONVERSATION = (discord.MessageType.default, discord.MessageType.reply)


class NoRecording(BotError):
    """The message has no voice message or audio file."""

    code = "discord_no_recording"


class RecordingGone(BotError):
    """A press whose recording is no longer kept nor on Discord (deleted, or an old button)."""

    code = "discord_recording_gone"


def recording_of(message: discord.Message) -> discord.Attachment | None:
    """The message's voice message, else its first audio-looking attachment."""
    for attachment in message.attachments:
        if attachment.is_voice_message():
            return attachment
    for attachment in message.attachments:
        if looks_like_audio(attachment.content_type, attachment.filename):
            return attachment
    return None


async def keep(bot: MusicBot, message: discord.Message) -> None:
    """Download the message's recording now and keep it for the presses (too big: refused)."""
    attachment = recording_of(message)
    if attachment is None:
        raise NoRecording()
    async with bot.intake:
        data = await download(attachment, bot.options.max_download_bytes)
        await bot.recordings.put(message.id, data)


async def choices(bot: MusicBot, identity: Identity, message_id: int, locale: str | None) -> tuple[str, ui.View | None]:
    """'Pick a style and a length…' with the person's credits, and the buttons (nothing is written:
    someone new gets the welcome grant with their first press)."""
    glance = await bot.services.wallets.glance(identity)
    styles = bot.options.keyboard_styles[:MAX_ROWS]
    legend = " · ".join(f"{STYLE_EMOJI.get(key, '🎵')} {prompt}" for key, prompt in styles)
    lines = [bot.text.t("welcome", locale, credits=glance.welcome_credits)] if glance.welcome_credits else []
    lines.append(
        bot.text.t("discord.pick", locale, styles=legend, available=glance.available, plural=plural(glance.available))
    )
    costs = sorted(bot.services.rules.pricing.costs.items())[:MAX_PER_ROW]
    buttons = [
        RecordingButton(message_id, key, seconds, button_label(bot, key, seconds, cost, locale), row=row)
        for row, (key, _) in enumerate(styles)
        for seconds, cost in costs
    ]
    return "\n".join(lines), frozen(*buttons)


def button_label(bot: MusicBot, style: str, seconds: int, cost: int, locale: str | None) -> str:
    emoji = STYLE_EMOJI.get(style, "🎵")
    return bot.text.t("discord.button.generate", locale, emoji=emoji, seconds=seconds, credits=cost)


# --- a DM ----------------------------------------------------------------------------------


async def on_direct_message(bot: MusicBot, message: discord.Message) -> None:
    """A DM with a recording gets the style × length buttons; any other DM, how it works."""
    if message.guild is not None or message.author.bot or message.type not in CONVERSATION:
        return
    view = None
    try:
        if recording_of(message) is None:
            text = bot.text.t("discord.send_audio")
        else:
            await keep(bot, message)
            text, view = await choices(bot, identity_of(message.author), message.id, None)
    except Exception as error:  # noqa: BLE001 - the error boundary of a DM
        text = bot.text.error(error)  # expected → words; anything else logged with a reference
    try:
        if view is None:
            await message.reply(text, mention_author=False)
        else:
            await message.reply(text, view=view, mention_author=False)
    except discord.HTTPException as failed:
        logger.warning("could not answer %s's DM: %s", message.author.id, failed)


# --- "Make music from this" ------------------------------------------------------------------


def add_recording_commands(bot: MusicBot) -> None:
    if bot.services.generation is None:
        return

    @app_commands.context_menu(name="Make music from this")
    async def make_music(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        bot = bot_of(interaction)
        is_private = private(interaction)
        if recording_of(message) is None:
            raise NoRecording()
        await interaction.response.defer(ephemeral=is_private, thinking=True)
        await keep(bot, message)
        text, view = await choices(bot, identity_of(interaction.user), message.id, locale_of(interaction))
        await answer(interaction, text, view=view, ephemeral=is_private)

    bot.tree.add_command(make_music)


# --- the buttons -----------------------------------------------------------------------------


class RecordingButton(
    ui.DynamicItem[ui.Button[Any]],
    template=r"rec:(?P<message>\d{1,20}):(?P<style>[a-z0-9_]{1,20}):(?P<seconds>\d{1,3})",
):
    def __init__(self, message_id: int, style: str, seconds: int, label: str = "", *, row: int | None = None) -> None:
        custom_id = f"rec:{message_id}:{style}:{seconds}"
        button: ui.Button[Any] = ui.Button(label=(label or f"{seconds}s")[:80], custom_id=custom_id)
        super().__init__(button, row=row)
        self.message_id, self.style, self.seconds = message_id, style, seconds

    @classmethod
    async def from_custom_id(cls, interaction: Any, item: Any, match: re.Match[str], /) -> RecordingButton:
        return cls(int(match["message"]), match["style"], int(match["seconds"]))

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """A new job on the recording, in this style and length (a second press of the same
        button makes no second job)."""
        bot = bot_of(interaction)
        generation = bot.need(bot.services.generation)
        style = dict(bot.options.keyboard_styles).get(self.style)
        if style is None:
            raise RecordingGone()
        is_private = private(interaction)
        callback = await interaction.response.defer(ephemeral=is_private, thinking=True)
        keyboard = interaction.message.id if interaction.message is not None else interaction.id
        async with bot.intake:
            accepted = await generation.submit(
                identity_of(interaction.user),
                await recording(bot, interaction, self.message_id),
                style,
                self.seconds,
                platform="discord",
                reply_to=reply_target(interaction, getattr(callback, "message_id", None), is_private=is_private),
                request_id=f"rec:{keyboard}:{self.style}:{self.seconds}",
                max_input_bytes=bot.options.max_download_bytes,
            )
        if accepted.duplicate:
            made = "discord.already_made" if accepted.job.state.finished else "discord.already"
            await answer(interaction, bot.text.t(made, locale_of(interaction)))
            return
        await bot.notifier.accepted(accepted)


async def recording(bot: MusicBot, interaction: discord.Interaction[Any], message_id: int) -> bytes:
    """The kept recording; else the message fetched again (its links are fresh) and downloaded."""
    kept = await bot.recordings.get(message_id)
    if kept is not None:
        return kept
    channel = bot.get_partial_messageable(interaction.channel_id or 0)
    try:
        message = await channel.fetch_message(message_id)
    except discord.HTTPException:
        raise RecordingGone() from None
    attachment = recording_of(message)
    if attachment is None:
        raise RecordingGone()
    data = await download(attachment, bot.options.max_download_bytes)
    await bot.recordings.put(message_id, data)
    return data
