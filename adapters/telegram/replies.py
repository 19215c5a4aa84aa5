"""A `Reply` as Telegram messages: its text (cut under 4,096 characters), its controls as an inline
keyboard (buttons carry the action's data, a link button its URL, Share opens the inline share
picker, a menu becomes rows of two), a Stars invoice, a private answer sent to the person's
private chat when they asked in a group; and a button press answered (a toast, a pop-up, an
edited message, or a message)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, Message
from telegram._utils.types import JSONDict
from telegram.error import BadRequest, Forbidden

from adapters.chat.messages import SILENT, Button, Control, LinkButton, Menu, Place, Reply, ShareButton
from adapters.chat.words import Words
from adapters.telegram.bot import LeanBot

logger = logging.getLogger(__name__)

MAX_TEXT = 4096
ALERT_LIMIT = 200  # answerCallbackQuery's text limit
Rows = tuple[tuple[Control, ...], ...]


class PrebuiltKeyboard(InlineKeyboardMarkup):
    """A keyboard sent unchanged to many, serialised once instead of at every send."""

    __slots__ = ("_as_dict",)

    def __init__(self, inline_keyboard: list[list[InlineKeyboardButton]]) -> None:
        super().__init__(inline_keyboard)
        with self._unfrozen():
            self._as_dict = super().to_dict()

    def to_dict(self, recursive: bool = True) -> JSONDict:
        return dict(self._as_dict) if recursive else super().to_dict(recursive)


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


class Replies:
    def __init__(self, bot: LeanBot, words: Words) -> None:
        self.bot = bot
        self.words = words
        # Keyboards the conversation sends to many (the picker), built once: rows id → keyboard.
        self._prebuilt: dict[int, tuple[Rows, PrebuiltKeyboard]] = {}

    def keyboard(self, rows: Rows) -> InlineKeyboardMarkup | None:
        if not rows:
            return None
        cached = self._prebuilt.get(id(rows))
        if cached is not None and cached[0] is rows:
            return cached[1]
        markup = PrebuiltKeyboard([[_button(c) for c in row] for row in _lay_out(rows)])
        if len(self._prebuilt) > 1000:
            self._prebuilt.clear()
        self._prebuilt[id(rows)] = (rows, markup)  # the rows are kept: their id stays theirs
        return markup

    # --- sending --------------------------------------------------------------------------------

    async def send(self, chat_id: int, reply: Reply, *, reply_to: int | None = None) -> None:
        """`reply` as new messages in a chat (the keyboard under the last part)."""
        if reply.invoice is not None:
            invoice = reply.invoice
            await self.bot.send_invoice(
                chat_id=chat_id,
                title=invoice.title,
                description=invoice.description,
                payload=invoice.payload,
                currency=invoice.currency,
                prices=[LabeledPrice(invoice.title, invoice.amount)],
            )
        if reply.text:  # alone, or under an invoice (the upsell's bigger pack)
            # Telegram's echo of each message is not parsed (see `LeanBot`): nobody reads it.
            chunks = split_text(reply.text)
            for chunk in chunks[:-1]:
                await self.bot.send_message_id(chat_id, chunk, reply_to_message_id=reply_to)
            await self.bot.send_message_id(
                chat_id, chunks[-1], reply_to_message_id=reply_to, reply_markup=self.keyboard(reply.rows)
            )

    async def answer(self, message: Message, reply: Reply, *, place: Place, locale: str | None = None) -> None:
        """The answer to a message: in place, or, when private and asked in a group, in the
        person's private chat (the group is told where it went)."""
        if reply is SILENT or (not reply.text and reply.invoice is None):
            return
        user = message.from_user
        if not reply.private or place.private or user is None:
            await self.send(message.chat_id, reply, reply_to=message.message_id if not place.private else None)
            return
        try:
            await self.send(user.id, reply)
        except Forbidden:
            text = self.words.t(locale, "open_private_chat", link=f"https://t.me/{self.bot.username}")
            await self.send(message.chat_id, Reply(text), reply_to=message.message_id)
            return
        await self.send(message.chat_id, Reply(self.words.t(locale, "sent_privately")), reply_to=message.message_id)

    async def quote(self, message: Message, reply: Reply) -> None:
        """The answer to a recording, quoting it, without parsing Telegram's echo of the sent
        message (see `LeanBot`): the hot path of a burst of voice notes."""
        chunks = split_text(reply.text)
        for chunk in chunks[:-1]:
            await message.reply_text(chunk)
        await self.bot.send_message_id(
            message.chat_id, chunks[-1], reply_to_message_id=message.message_id, reply_markup=self.keyboard(reply.rows)
        )

    async def pressed(self, query: CallbackQuery, message: Message | None, reply: Reply) -> None:
        """A button press answered: a toast or a pop-up, the pressed message edited or its
        buttons taken off, or a message (or an invoice) in its chat."""
        if reply.note:
            await answer_quietly(query, reply.text, alert=reply.alert)
            if reply.dismiss and message is not None:
                await message.edit_reply_markup(None)
            return
        await answer_quietly(query)
        if message is None or reply is SILENT:
            return
        if reply.edit:
            await message.edit_text(reply.text, reply_markup=self.keyboard(reply.rows))
        elif reply.text or reply.invoice is not None:
            await self.send(message.chat_id, reply, reply_to=message.message_id)


async def answer_quietly(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button press; a press already answered (or too old) is not worth an error."""
    try:
        await query.answer(text[:ALERT_LIMIT] if text else None, show_alert=alert)
    except BadRequest as error:
        logger.debug("callback answer refused: %s", error)


def _lay_out(rows: Rows) -> Sequence[Sequence[Control]]:
    """A menu becomes rows of two of its options."""
    laid: list[Sequence[Control]] = []
    for row in rows:
        if len(row) == 1 and isinstance(row[0], Menu):
            options = row[0].options
            laid += [options[i : i + 2] for i in range(0, len(options), 2)]
        else:
            laid.append(row)
    return laid


def _button(control: Control) -> InlineKeyboardButton:
    if isinstance(control, LinkButton):
        return InlineKeyboardButton(control.label, url=control.url)
    if isinstance(control, ShareButton):
        return InlineKeyboardButton(control.label, switch_inline_query=f"clip {control.job_id}")
    if isinstance(control, Button):
        return InlineKeyboardButton(control.label, callback_data=control.action.encode())
    raise TypeError(f"a {type(control).__name__} has no single button")
