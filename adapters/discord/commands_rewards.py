"""`/daily`, `/refer [code]`, `/support <text>`, `/verify-email <address or code>`.

Each is registered only when its service is wired (`DiscordServices`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.discord.common import answer, bot_of, identity_of, locale_of

if TYPE_CHECKING:
    from adapters.discord.client import MusicBot


def add_reward_commands(bot: MusicBot) -> None:
    services = bot.services
    rewards, referrals, support, email = (
        services.rewards,
        services.referrals,
        services.support,
        services.email,
    )

    if rewards is not None:

        @bot.tree.command(name="daily")
        async def daily(interaction: discord.Interaction[Any]) -> None:
            """Claim your free daily credit (free plan, once per UTC day)."""
            bot, locale = bot_of(interaction), locale_of(interaction)
            claimed = await rewards.claim_daily(identity_of(interaction.user))
            text = bot.text.rewards.daily(claimed, locale)
            offer = bot.on_sale(claimed.offer) if claimed.offer is not None else None  # still low: the packs
            if offer is not None:
                text += "\n\n" + bot.text.render.offer(offer, locale)
            await answer(interaction, text, view=bot.views.offer(offer, locale) if offer is not None else None)

    if referrals is not None:

        @bot.tree.command(name="refer")
        @app_commands.describe(code="A friend's referral code (leave empty to see your own)")
        async def refer(interaction: discord.Interaction[Any], code: str | None = None) -> None:
            """Invite friends: you both get credits when they make their first clip."""
            bot = bot_of(interaction)
            locale = locale_of(interaction)
            credits = referrals.rules.referral_credits
            if code is None:
                summary = await referrals.my_code(identity_of(interaction.user))
                await answer(interaction, bot.text.rewards.referral_code(summary, credits, locale))
                return
            record = await referrals.record_referral(identity_of(interaction.user), code)
            await answer(interaction, bot.text.rewards.referral_recorded(record.duplicate, credits, locale))

    if support is not None:

        @bot.tree.command(name="support")
        @app_commands.describe(message="What happened? The operators answer here, in a DM.")
        async def support_(interaction: discord.Interaction[Any], message: app_commands.Range[str, 1, 2000]) -> None:
            """Send a message to the people who run this bot."""
            bot = bot_of(interaction)
            await interaction.response.defer(ephemeral=True, thinking=True)
            ticket = await support.open_ticket(identity_of(interaction.user), message)
            await answer(interaction, bot.text.rewards.ticket_opened(ticket, locale_of(interaction)))

    if email is not None:

        @bot.tree.command(name="verify-email")
        @app_commands.describe(address_or_code="Your email address, then the 6-digit code we mail you")
        async def verify_email(interaction: discord.Interaction[Any], address_or_code: str) -> None:
            """Verify your email address for bonus credits."""
            bot = bot_of(interaction)
            await interaction.response.defer(ephemeral=True, thinking=True)
            result = await email.verify(identity_of(interaction.user), address_or_code)
            minutes = int(email.rules.email_code_ttl.total_seconds() // 60)
            await answer(interaction, bot.text.rewards.email(result, minutes, locale_of(interaction)))
