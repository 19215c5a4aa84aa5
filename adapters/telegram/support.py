"""Support on Telegram: `/support <text>` opens a ticket; tickets are forwarded to the operators'
chat (SUPPORT_TELEGRAM_CHAT_ID); an operator answers by replying to the forwarded ticket there
(or with `/admin reply <ticket> <text>`), and the answer reaches the person in their chat."""

from __future__ import annotations

import re
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from adapters.chat.render_rewards import RewardRenderer
from adapters.telegram.common import identity_of, me, reply, split_text
from adapters.telegram.deps import BotContext
from core.domain.identity import Identity
from core.domain.support import Ticket, TicketReply
from core.errors import UsageError

TICKET_ID = re.compile(r"#(\d+)")


class TelegramSupportDesk:
    """`SupportInbox` (to the operators' chat) and `SupportReplies` (to the person)."""

    def __init__(self, bot: Any, render: RewardRenderer, operators_chat_id: int | None) -> None:
        self.bot = bot
        self.render = render
        self.operators_chat_id = operators_chat_id

    async def forward(self, ticket: Ticket) -> None:
        if self.operators_chat_id is None:
            return
        for chunk in split_text(self.render.ticket_for_operators(ticket)):
            await self.bot.send_message(self.operators_chat_id, chunk)

    async def deliver(self, answer: TicketReply) -> None:
        user_id = int(Identity.parse(answer.ticket.identity).user_id)  # a private chat's id is the user's
        for chunk in split_text(self.render.reply_for_person(answer)):
            await self.bot.send_message(user_id, chunk)


async def support(update: Update, context: BotContext) -> None:
    """`/support <text>`: a ticket for the operators (with your balance and last job)."""
    identity, locale = me(update)
    message = update.effective_message
    assert message is not None and message.text is not None
    text = message.text.partition(" ")[2].strip()
    if not text:
        raise UsageError("support")
    ticket = await rewards(context).support.open_ticket(identity, text)
    await reply(message, context.deps.rewards_text.ticket_opened(ticket, locale))


async def operator_reply(update: Update, context: BotContext) -> None:
    """An operator replies to a forwarded ticket in the operators' chat: the person gets it."""
    message = update.effective_message
    assert message is not None and message.text is not None and message.from_user is not None
    original = message.reply_to_message
    found = TICKET_ID.search(original.text or "") if original is not None else None
    if found is None or original is None or original.from_user is None or original.from_user.id != context.bot.id:
        return  # an ordinary conversation among operators
    words, grant = message.text.split(), None
    if len(words) >= 3 and words[-2].lower() == "grant":
        grant, words = words[-1], words[:-2]
    answer = await rewards(context).support.reply(
        identity_of(message.from_user),
        found.group(1),
        " ".join(words),
        grant,
        f"{message.chat_id}:{message.message_id}",
    )
    await reply(
        message,
        context.deps.rewards_text.reply_for_operator(answer, message.from_user.language_code),
    )


def rewards(context: BotContext) -> Any:
    parts = context.deps.services.rewards
    if parts is None:
        raise RuntimeError("the rewards services are not wired")
    return parts


def register(app: Application, operators_chat_id: int | None) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("support", support))
    if operators_chat_id is not None:
        in_operators_chat = filters.Chat(operators_chat_id) & filters.REPLY & filters.TEXT & ~filters.COMMAND
        app.add_handler(MessageHandler(in_operators_chat, operator_reply))
