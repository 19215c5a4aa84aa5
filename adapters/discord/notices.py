"""`ReferralNotifier` for Discord: a referral payout announced in the person's DMs (the way
operators' support answers reach them, `adapters.discord.support`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from adapters.discord.text import fit
from core.domain.identity import Identity
from core.domain.notices import ReferralNotice

if TYPE_CHECKING:
    from adapters.discord.client import MusicBot


class DiscordReferralNotices:
    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    async def referral_paid(self, identity: str, notice: ReferralNotice) -> None:
        who = Identity.parse(identity)
        if who.platform != "discord":
            raise ValueError(f"not a Discord identity: {identity}")
        channel = await self.bot.create_dm(discord.Object(int(who.user_id)))
        await channel.send(fit(self.bot.text.rewards.referral_notice(notice)))
