"""Small helpers every handler module uses: who is talking, in which language, long texts,
button ownership, and the recording a message carries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden

from adapters.chat.recordings import looks_like_audio
from adapters.telegram.bot import LeanBot
from adapters.telegram.deps import BotContext
from adapters.telegram.keyboards import Press, parse
from core.domain.identity import Identity
from core.errors import AudioTooLarge

logger = logging.getLogger(__name__)

MAX_TEXT = 4096


def identity_of(user: User) -> Identity:
    return Identity("telegram", str(user.id))


def locale_of(update: object) -> str | None:
    user = update.effective_user if isinstance(update, Update) else None
    return user.language_code if user is not None else None


def me(update: Update) -> tuple[Identity, str | None]:
    """The person behind an update and their language."""
    assert update.effective_user is not None
    return identity_of(update.effective_user), update.effective_user.language_code


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Telegram refuses texts over 4,096 characters: cut at line ends where possible."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest or not chunks:
        chunks.append(rest)
    return chunks


async def reply(
    message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None, **kwargs: Any
) -> Message:
    """Reply with `text`, split when too long; the keyboard goes under the last part."""
    chunks = split_text(text)
    for chunk in chunks[:-1]:
        await message.reply_text(chunk, **kwargs)
    return await message.reply_text(chunks[-1], reply_markup=reply_markup, **kwargs)


async def reply_lean(
    context: BotContext, message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> int:
    """Like `reply` (quoting `message`), but without parsing Telegram's echo of the sent message
    (see `LeanBot`); the new message's id."""
    chunks = split_text(text)
    for chunk in chunks[:-1]:
        await message.reply_text(chunk)
    bot = context.bot
    assert isinstance(bot, LeanBot)
    return await bot.send_message_id(
        message.chat_id, chunks[-1], reply_to_message_id=message.message_id, reply_markup=reply_markup
    )


async def reply_privately(
    update: Update, context: BotContext, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Answer in the person's private chat: at once in a DM; asked in a group, by DM (with a
    pointer in the group), or a request to open the DM first when Telegram refuses."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if message.chat.type == ChatType.PRIVATE:
        await reply(message, text, reply_markup)
        return
    locale = user.language_code
    try:
        await send(context, user.id, text, reply_markup)
    except Forbidden:
        await reply(message, context.deps.t("tg.dm_first", locale, bot=context.bot.username))
        return
    await reply(message, context.deps.t("tg.sent_privately", locale))


async def send(
    context: BotContext,
    chat_id: int,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    **kwargs: Any,
) -> Message:
    chunks = split_text(text)
    for chunk in chunks[:-1]:
        await context.bot.send_message(chat_id, chunk, **kwargs)
    return await context.bot.send_message(chat_id, chunks[-1], reply_markup=reply_markup, **kwargs)


async def own_press(update: Update, context: BotContext) -> Press | None:
    """The parsed button press, or None after answering a stale button or someone else's."""
    query = update.callback_query
    assert query is not None
    press = parse(query.data)
    locale = query.from_user.language_code
    if press is None or (press.owner is None and press.verb != "g"):
        await query.answer(context.deps.t("tg.stale", locale), show_alert=True)
        return None
    owner = press.owner
    if owner is None:  # a generate keyboard belongs to whoever sent the recording it answers
        message = query.message if isinstance(query.message, Message) else None
        answered = message.reply_to_message if message is not None else None
        owner = answered.from_user.id if answered is not None and answered.from_user is not None else None
        if owner is None:
            return press  # the recording is gone: the handler says so
    if owner != query.from_user.id:
        await query.answer(context.deps.t("tg.not_yours", locale), show_alert=True)
        return None
    return press


async def answer_quietly(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button press; a press already answered (or too old) is not worth an error."""
    try:
        await query.answer(text[:200] if text else None, show_alert=alert)
    except BadRequest as error:
        logger.debug("callback answer refused: %s", error)


# --- the recording a message carries ---------------------------------------------------------


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
    if document is not None:
        if looks_like_audio(document.mime_type, document.file_name):
            return Recording(document.file_id, document.file_size, document.file_name or "file")
    return None


def refuse_if_too_big(recording: Recording, limit: int) -> None:
    """Refuse before anything is downloaded or held (Telegram's 20 MB download limit)."""
    if recording.size is not None and recording.size > limit:
        raise AudioTooLarge(size_bytes=recording.size, limit_bytes=limit)


async def download(context: BotContext, recording: Recording) -> bytes:
    """The file's bytes (the download URL carries the bot token: it never leaves this function)."""
    limit = context.deps.config.max_download_bytes
    refuse_if_too_big(recording, limit)
    try:
        file = await context.bot.get_file(recording.file_id)
    except BadRequest as error:
        if "too big" in str(error).lower():
            raise AudioTooLarge(size_bytes=recording.size or limit + 1, limit_bytes=limit) from None
        raise
    if file.file_size is not None and file.file_size > limit:
        raise AudioTooLarge(size_bytes=file.file_size, limit_bytes=limit)
    return bytes(await file.download_as_bytearray())
