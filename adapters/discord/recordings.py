"""Recordings sent to the bot on Discord: a voice message or an audio file in a DM, or "Make
music from this" on any message that carries one → the style × length picker.

Discord's attachment links are signed and expire, so a recording is downloaded the moment it
arrives (refused there when too big) and kept on the `RecordingShelf` for the presses; a press
whose recording is no longer kept fetches the message again (fresh links) before giving up.
Each picker button carries the recording's message id, so a press after a restart works."""

from __future__ import annotations

import asyncio
import logging

import discord

from adapters.chat.generation import RecordingGone
from adapters.chat.messages import Attachment
from adapters.chat.styles import looks_like_audio
from adapters.discord.recording_shelf import RecordingShelf
from adapters.discord.views import Interaction
from core.errors import AudioTooLarge

logger = logging.getLogger(__name__)


def recording_of(message: discord.Message) -> discord.Attachment | None:
    """The message's voice message, else its first audio-looking attachment."""
    for attachment in message.attachments:
        if attachment.is_voice_message():
            return attachment
    for attachment in message.attachments:
        if looks_like_audio(attachment.content_type, attachment.filename):
            return attachment
    return None


async def download(attachment: discord.Attachment, limit: int) -> bytes:
    """The attachment's bytes, at once; a file over `limit` is refused on its declared size,
    before anything is downloaded or held."""
    if attachment.size > limit:
        raise AudioTooLarge(size_bytes=attachment.size, limit_bytes=limit)
    data = await attachment.read()
    if len(data) > limit:
        raise AudioTooLarge(size_bytes=len(data), limit_bytes=limit)
    return data


class Recordings:
    def __init__(self, client: discord.Client, shelf: RecordingShelf, limit: int, concurrency: int) -> None:
        self.client = client
        self.shelf = shelf
        self.limit = limit
        # Downloads at once, bounded: a burst does not slow down the acknowledgements of others.
        self.intake = asyncio.Semaphore(concurrency)

    def attachment_of(self, attachment: discord.Attachment) -> Attachment:
        """A file given with a command, downloaded when the job needs it."""

        async def read() -> bytes:
            async with self.intake:
                return await download(attachment, self.limit)

        return Attachment(attachment.filename, read, attachment.size)

    async def keep(self, message_id: int, attachment: discord.Attachment) -> None:
        """Download a message's recording now and keep it for the presses."""
        async with self.intake:
            await self.shelf.put(message_id, await download(attachment, self.limit))

    def kept(self, interaction: Interaction, message_id: int) -> Attachment:
        """The kept recording of a picker's button; else the message fetched again (its links
        are fresh) and downloaded."""

        async def read() -> bytes:
            found = await self.shelf.get(message_id)
            if found is not None:
                return found
            channel = self.client.get_partial_messageable(interaction.channel_id or 0)
            try:
                message = await channel.fetch_message(message_id)
            except discord.HTTPException:
                raise RecordingGone() from None
            attachment = recording_of(message)
            if attachment is None:
                raise RecordingGone()
            async with self.intake:
                data = await download(attachment, self.limit)
            await self.shelf.put(message_id, data)
            return data

        return Attachment(str(message_id), read)
