"""The Discord side of support: tickets go to the operators' channel (SUPPORT_DISCORD_CHANNEL_ID)
and operators' answers reach Discord users in a DM."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from adapters.discord.text import fit
from core.domain.support import Ticket, TicketReply

if TYPE_CHECKING:
    from adapters.discord.client import MusicBot

logger = logging.getLogger(__name__)


class DiscordSupportInbox:
    """`SupportInbox`: posts each ticket to the operators' channel."""

    def __init__(self, bot: MusicBot, channel_id: int) -> None:
        self.bot = bot
        self.channel_id = channel_id

    async def forward(self, ticket: Ticket) -> None:
        text = self.bot.text.rewards.ticket_for_operators(ticket)
        await self.bot.get_partial_messageable(self.channel_id).send(
            fit(text), allowed_mentions=discord.AllowedMentions.none()
        )


class DiscordSupportReplies:
    """`SupportReplies`: an operator's answer, in the person's DMs."""

    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    async def deliver(self, reply: TicketReply) -> None:
        platform, user_id = reply.ticket.identity.split(":", 1)
        if platform != "discord":
            raise ValueError(f"not a Discord identity: {reply.ticket.identity}")
        channel = await self.bot.create_dm(discord.Object(int(user_id)))
        await channel.send(fit(self.bot.text.rewards.reply_for_person(reply)))
