"""The recording a Telegram message carries, and its download (the download URL carries the bot
token: it never leaves this module)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Bot, Message
from telegram.error import BadRequest

from adapters.chat.styles import looks_like_audio
from core.errors import AudioTooLarge

# Telegram lets bots download files up to 20 MB: bigger ones are refused on their declared size,
# before anything is downloaded or held.
MAX_DOWNLOAD_BYTES = 20_000_000


@dataclass(frozen=True)
class Recording:
    file_id: str
    size: int | None  # as Telegram declares it; None when unknown
    name: str


def recording_of(message: Message | None) -> Recording | None:
    """A voice note, an audio file, a video note or an audio-looking document; None otherwise."""
    if message is None:
        return None
    if message.voice is not None:
        return Recording(message.voice.file_id, message.voice.file_size, "voice.ogg")
    if message.audio is not None:
        return Recording(message.audio.file_id, message.audio.file_size, message.audio.file_name or "audio")
    if message.video_note is not None:
        return Recording(message.video_note.file_id, message.video_note.file_size, "note.mp4")
    document = message.document
    if document is not None and looks_like_audio(document.mime_type, document.file_name):
        return Recording(document.file_id, document.file_size, document.file_name or "file")
    return None


async def download(bot: Bot, recording: Recording, limit: int) -> bytes:
    if recording.size is not None and recording.size > limit:
        raise AudioTooLarge(size_bytes=recording.size, limit_bytes=limit)
    try:
        file = await bot.get_file(recording.file_id)
    except BadRequest as error:
        if "too big" in str(error).lower():
            raise AudioTooLarge(size_bytes=recording.size or limit + 1, limit_bytes=limit) from None
        raise
    if file.file_size is not None and file.file_size > limit:
        raise AudioTooLarge(size_bytes=file.file_size, limit_bytes=limit)
    return bytes(await file.download_as_bytearray())
