"""`/balance`, `/history` (ephemeral) and `/buy` (link buttons to Stripe Checkout)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from adapters.discord.buttons import send_checkout
from adapters.discord.common import answer, bot_of, identity_of, locale_of

if TYPE_CHECKING:
    from adapters.discord.client import MusicBot


def add_wallet_commands(bot: MusicBot) -> None:
    @bot.tree.command(name="balance")
    async def balance(interaction: discord.Interaction[Any]) -> None:
        """Your credits, plan and usage (only you can see the answer)."""
        bot = bot_of(interaction)
        locale = locale_of(interaction)
        welcome = await bot.welcome(interaction)
        view = await bot.services.wallets.balance(identity_of(interaction.user))
        offer = bot.on_sale(view.offer) if view.offer is not None else None
        text = bot.text.render.balance(view, locale)
        if offer is not None:
            text += "\n\n" + bot.text.render.offer(offer, locale)
        buttons = bot.views.offer(offer, locale) if offer is not None else None
        await answer(interaction, bot.join(welcome, text), view=buttons)

    @bot.tree.command(name="history")
    async def history(interaction: discord.Interaction[Any]) -> None:
        """Your last credit movements (only you can see the answer)."""
        bot = bot_of(interaction)
        entries = await bot.services.wallets.history(identity_of(interaction.user))
        await answer(interaction, bot.text.render.history(entries, locale_of(interaction)))

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
