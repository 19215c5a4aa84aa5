"""`LeanBot`: PTB's `ExtBot` plus a method that sends a message and keeps only its id, and one
that edits a message's text and keeps nothing.

Why: PTB's `send_message` turns Telegram's echo of the sent message into objects: the
recording it quotes and every button of its keyboard (`edit_message_text` likewise). For the
keyboard that answers a voice note, measured under a burst of 200 (bench/telegram.py), that
parsing was more than half the bot's CPU for the reply, for a result nobody reads.
`do_api_request` would return the raw result too, but it warns on every call for a method PTB
wraps, and the warning machinery cost another tenth. The request still goes through PTB's
`_post` (defaults, the rate limiter and its 429 handling, the error mapping): only the parsing
of the answer is skipped.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, ReplyParameters
from telegram.ext import ExtBot


class LeanBot(ExtBot[None]):
    async def send_message_id(
        self,
        chat_id: int,
        text: str,
        *,
        reply_to_message_id: int | None = None,
        reply_markup: InlineKeyboardMarkup | None = None,
    ) -> int:
        """sendMessage; the new message's id."""
        data: dict[str, object] = {"chat_id": chat_id, "text": text, "reply_markup": reply_markup}
        if reply_to_message_id is not None:
            data["reply_parameters"] = ReplyParameters(reply_to_message_id, allow_sending_without_reply=True)
        sent = await self._post("sendMessage", data)
        return int(sent["message_id"])

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, *, reply_markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """editMessageText (a job's status message, edited at every stage); errors as PTB maps
        them (`BadRequest` "message is not modified", …)."""
        await self._post(
            "editMessageText",
            {"chat_id": chat_id, "message_id": message_id, "text": text, "reply_markup": reply_markup},
        )
