"""Server admins: `/gift member amount [note]`, `/server-wallet balance|deposit|buy`.
Operators: `/admin grant|take|user|unfreeze|stats|reply|tickets`.

Server commands are hidden from members without Manage Server by `default_permissions`, which
only shapes Discord's menus: anyone can still send the interaction. So each handler passes the
Manage Server fact Discord computed for this member (`interaction.permissions`) to the core
service, which refuses without it; the options a client sends never count as permission.
Operators are checked by the core against OPERATOR_IDS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from adapters.discord.buttons import send_checkout
from adapters.discord.common import answer, bot_of, identity_of, is_server_admin, locale_of
from adapters.discord.text import fit
from core.domain.identity import Identity
from core.services.server_wallets import Server

if TYPE_CHECKING:
    from adapters.discord.client import MusicBot

MANAGE_SERVER = discord.Permissions(manage_guild=True)


def server_of(interaction: discord.Interaction[Any]) -> Server:
    """The server the interaction came from; `guild_only` only shapes Discord's menus, so a
    DM interaction sent anyway is refused here."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    return Server("discord", str(interaction.guild_id))


def add_server_commands(bot: MusicBot) -> None:
    servers = bot.services.server_wallets
    if servers is None:
        return

    @bot.tree.command(name="gift")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.describe(member="Who gets the credits", amount="How many credits", note="A note they will see")
    async def gift(
        interaction: discord.Interaction[Any],
        member: discord.User,
        amount: app_commands.Range[int, 1, 100_000],
        note: app_commands.Range[str, 0, 200] = "",
    ) -> None:
        """Gift credits to a member from this server's wallet (server admins)."""
        bot = bot_of(interaction)
        gifted = await servers.gift(
            server_of(interaction),
            identity_of(interaction.user),
            identity_of(member),
            amount,
            actor_is_admin=is_server_admin(interaction),
            request_id=str(interaction.id),
            note=note,
            member_is_bot=bool(getattr(member, "bot", False)),
        )
        text = bot.text.gifted(gifted, interaction.user.mention, member.mention, note, locale_of(interaction))
        await answer(interaction, text, ephemeral=gifted.duplicate)

    wallet = app_commands.Group(
        name="server-wallet",
        description="This server's credit wallet (server admins)",
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        default_permissions=MANAGE_SERVER,
    )

    @wallet.command(name="balance")
    async def balance(interaction: discord.Interaction[Any]) -> None:
        """How many credits this server's wallet holds."""
        bot = bot_of(interaction)
        view = await servers.balance(
            server_of(interaction),
            identity_of(interaction.user),
            actor_is_admin=is_server_admin(interaction),
        )
        await answer(interaction, bot.text.server_wallet(view, locale_of(interaction)))

    @wallet.command(name="deposit")
    @app_commands.describe(amount="How many of your own credits to move into the server wallet")
    async def deposit(interaction: discord.Interaction[Any], amount: app_commands.Range[int, 1, 1_000_000]) -> None:
        """Move some of your own credits into this server's wallet."""
        bot = bot_of(interaction)
        moved = await servers.deposit(
            server_of(interaction),
            identity_of(interaction.user),
            amount,
            actor_is_admin=is_server_admin(interaction),
            request_id=str(interaction.id),
        )
        await answer(interaction, bot.text.deposited(moved, locale_of(interaction)))

    payments = bot.services.payments
    if payments is not None:
        packs = [Choice(name=bot.text.pack_button(p, None), value=p.pack_id) for p in payments.packs()[:25]]

        @wallet.command(name="buy")
        @app_commands.describe(pack="The credit pack to buy for this server")
        @app_commands.choices(pack=packs)
        async def buy(interaction: discord.Interaction[Any], pack: str) -> None:
            """Buy a credit pack for this server's wallet (you pay, the server gets the credits)."""
            bot = bot_of(interaction)
            await interaction.response.defer(ephemeral=True, thinking=True)
            link = await servers.buy(
                server_of(interaction),
                identity_of(interaction.user),
                pack,
                actor_is_admin=is_server_admin(interaction),
                request_id=str(interaction.id),
            )
            await send_checkout(interaction, bot, link)

    bot.tree.add_command(wallet)


def target_of(user: discord.User | None, identity: str | None) -> str:
    """`/admin` targets: a Discord user, or any platform's `platform:id` as text."""
    if identity:
        return identity.strip()
    return Identity("discord", str(user.id)).key if user is not None else ""


def add_operator_commands(bot: MusicBot) -> None:
    wallets, stats, support = bot.services.wallets, bot.services.stats, bot.services.support
    admin = app_commands.Group(
        name="admin",
        description="Operators of this bot only",
        default_permissions=discord.Permissions(administrator=True),
    )
    who = {"user": "A Discord user", "identity": "Or any platform's id as text, e.g. telegram:123"}

    @admin.command(name="grant")
    @app_commands.describe(amount="Credits to add", reason="Why (kept in the ledger)", **who)
    async def grant(
        interaction: discord.Interaction[Any],
        amount: int,
        reason: str,
        user: discord.User | None = None,
        identity: str | None = None,
    ) -> None:
        """Add credits to someone's wallet."""
        bot = bot_of(interaction)
        target = target_of(user, identity)
        moved = await wallets.operator_grant(identity_of(interaction.user), target, amount, reason, str(interaction.id))
        await answer(interaction, bot.operator_moved("admin_granted", target, moved, locale_of(interaction)))

    @admin.command(name="take")
    @app_commands.describe(amount="Credits to take", reason="Why (kept in the ledger)", **who)
    async def take(
        interaction: discord.Interaction[Any],
        amount: int,
        reason: str,
        user: discord.User | None = None,
        identity: str | None = None,
    ) -> None:
        """Take credits from someone's wallet (never below zero)."""
        bot = bot_of(interaction)
        target = target_of(user, identity)
        moved = await wallets.operator_take(identity_of(interaction.user), target, amount, reason, str(interaction.id))
        await answer(interaction, bot.operator_moved("admin_taken", target, moved, locale_of(interaction)))

    @admin.command(name="user")
    @app_commands.describe(**who)
    async def user_(
        interaction: discord.Interaction[Any],
        user: discord.User | None = None,
        identity: str | None = None,
    ) -> None:
        """Someone's wallet: credits, plan, usage."""
        bot = bot_of(interaction)
        target = target_of(user, identity)
        view = await wallets.operator_view(identity_of(interaction.user), target)
        await answer(interaction, bot.text.render.operator_user(target, view, locale_of(interaction)))

    @admin.command(name="unfreeze")
    @app_commands.describe(**who)
    async def unfreeze(
        interaction: discord.Interaction[Any],
        user: discord.User | None = None,
        identity: str | None = None,
    ) -> None:
        """Unfreeze a wallet frozen by a payment dispute, once it is settled."""
        bot = bot_of(interaction)
        target = target_of(user, identity)
        balance = await wallets.operator_unfreeze(identity_of(interaction.user), target)
        text = bot.text.t("admin_unfrozen", locale_of(interaction), target=target, available=balance.available)
        await answer(interaction, text)

    if stats is not None:

        @admin.command(name="stats")
        async def stats_(interaction: discord.Interaction[Any]) -> None:
            """Usage, conversion and revenue: today, 7 and 30 days."""
            bot = bot_of(interaction)
            await interaction.response.defer(ephemeral=True, thinking=True)
            report = await stats.report(identity_of(interaction.user))
            await answer(
                interaction,
                bot.text.rewards.stats(report, bot.services.rules.packs.packs, locale_of(interaction)),
            )

    if support is not None:

        @admin.command(name="reply")
        @app_commands.describe(ticket="Ticket number", message="Your answer", grant="Credits to add with it")
        async def reply(
            interaction: discord.Interaction[Any],
            ticket: int,
            message: str,
            grant: int | None = None,
        ) -> None:
            """Answer a support ticket (delivered on the person's platform)."""
            bot = bot_of(interaction)
            await interaction.response.defer(ephemeral=True, thinking=True)
            answered = await support.reply(identity_of(interaction.user), ticket, message, grant, str(interaction.id))
            await answer(interaction, bot.text.rewards.reply_for_operator(answered, locale_of(interaction)))

        @admin.command(name="tickets")
        async def tickets(interaction: discord.Interaction[Any]) -> None:
            """The open support tickets, oldest first (answer one with /admin reply)."""
            bot = bot_of(interaction)
            await interaction.response.defer(ephemeral=True, thinking=True)
            found = await support.open_tickets(identity_of(interaction.user))
            await answer(interaction, fit(bot.text.rewards.tickets(found, locale_of(interaction), header=True)))

    bot.tree.add_command(admin)
