"""`/balance`, `/history`, `/link [code]` (ephemeral) and `/buy` (link buttons to Stripe Checkout)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from adapters.discord.buttons import send_checkout
from adapters.discord.common import answer, bot_of, identity_of, locale_of
from adapters.discord.text import timestamp
from core.domain.jobs import JobView

if TYPE_CHECKING:
    from adapters.discord.client import MusicBot


def add_wallet_commands(bot: MusicBot) -> None:
    @bot.tree.command(name="balance")
    async def balance(interaction: discord.Interaction[Any]) -> None:
        """Your credits, plan and usage (only you can see the answer)."""
        bot = bot_of(interaction)
        locale = locale_of(interaction)
        welcome = await bot.welcome(interaction)
        me, services = identity_of(interaction.user), bot.services
        view, jobs, next_daily = await asyncio.gather(
            services.wallets.balance(me),
            services.generation.jobs(me) if services.generation else _nothing([]),
            services.rewards.next_daily_at(me) if services.rewards else _nothing(),
        )
        # The next daily credit has its own line above: the offer leaves it out.
        offer = bot.on_sale(replace(view.offer, next_daily_at=None)) if view.offer is not None else None
        text = bot.text.render.balance(view, locale)
        if next_daily is not None:
            due = next_daily <= services.clock.now()
            when = bot.text.t("discord.daily_now", locale) if due else timestamp(next_daily)
            text += "\n" + bot.text.t("discord.next_daily", locale, when=when)
        if jobs:
            text += "\n" + bot.text.generation.jobs(jobs, locale)
        if offer is not None:
            text += "\n\n" + bot.text.render.offer(offer, locale)
        buttons = bot.views.offer(offer, locale) if offer is not None else None
        await answer(interaction, bot.join(welcome, text), view=buttons)

    @bot.tree.command(name="history")
    async def history(interaction: discord.Interaction[Any]) -> None:
        """Your last credit movements and clips (only you can see the answer)."""
        bot = bot_of(interaction)
        me, services, locale = identity_of(interaction.user), bot.services, locale_of(interaction)
        entries, jobs = await asyncio.gather(
            services.wallets.history(me, 10),
            services.generation.recent(me, 10) if services.generation else _nothing([]),
        )
        text = bot.text.render.history(entries, locale)
        if jobs:
            text += "\n\n" + bot.text.generation.jobs([JobView(j) for j in jobs], locale, header="discord.recent_jobs")
        await answer(interaction, text)

    linking = bot.services.linking
    if linking is not None:

        @bot.tree.command(name="link")
        @app_commands.describe(code="The code /link gave you on your other platform (leave empty to get one)")
        async def link(interaction: discord.Interaction[Any], code: str | None = None) -> None:
            """Link your Telegram account: one wallet for both (only you can see the answer)."""
            bot = bot_of(interaction)
            locale = locale_of(interaction)
            if code is None:
                made = await linking.start(identity_of(interaction.user))
                await answer(interaction, bot.text.rewards.link_code(made.code, made.expires_at, locale))
                return
            result = await linking.redeem(identity_of(interaction.user), code.strip())
            await answer(interaction, bot.text.rewards.linked(result, locale))

    payments = bot.services.payments
    if payments is None:
        return
    packs = [Choice(name=bot.text.pack_button(p, None), value=p.pack_id) for p in payments.packs()[:25]]

    @bot.tree.command(name="buy")
    @app_commands.describe(pack="The credit pack to buy (leave empty to see them all)")
    @app_commands.choices(pack=packs)
    async def buy(interaction: discord.Interaction[Any], pack: str | None = None) -> None:
        """Buy credits: a secure Stripe Checkout link."""
        bot = bot_of(interaction)
        locale = locale_of(interaction)
        if pack is None:
            shown = payments.packs()
            text = bot.text.payments.pack_list(shown, locale)
            await answer(interaction, text, view=bot.views.packs(shown, locale))
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        link = await payments.buy(identity_of(interaction.user), pack, request_id=str(interaction.id))
        await send_checkout(interaction, bot, link)


async def _nothing(value: object = None) -> Any:
    return value
