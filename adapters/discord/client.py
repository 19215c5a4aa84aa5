"""The Discord client: a `discord.Client` with a `CommandTree`, its dependencies passed in.

    bot = make_bot(DiscordServices.from_app(app), DiscordOptions.from_settings(settings))
    bot.attach()                      # the job notifier and the support inbox, registered once
    async with bot: await bot.start(token)

`setup_hook` registers the persistent buttons (so buttons sent before a restart keep working)
and, while developing, syncs the commands to DISCORD_DEV_GUILD_ID. `python -m bot sync-commands`
syncs them globally. One error boundary (`report_error`) serves the tree and every button.

Sharding (DISCORD_SHARD_COUNT / DISCORD_SHARD_IDS): `make_bot` builds a plain client for one
shard (or none), an `AutoShardedClient` for several. Discord sends each server's events and
interactions to the shard `(server id >> 22) % shard count`, and every DM to shard 0.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands

from adapters.discord.buttons import DYNAMIC_ITEMS, Views
from adapters.discord.commands_admin import add_operator_commands, add_server_commands
from adapters.discord.commands_generate import add_generate_commands
from adapters.discord.commands_recording import RecordingButton, add_recording_commands, on_direct_message
from adapters.discord.commands_rewards import add_reward_commands
from adapters.discord.commands_wallet import add_wallet_commands
from adapters.discord.common import answer, identity_of, locale_of
from adapters.discord.notifier import DiscordNotifier
from adapters.discord.recording_shelf import RecordingShelf
from adapters.discord.services import DiscordOptions, DiscordServices
from adapters.discord.support import DiscordSupportInbox, DiscordSupportReplies
from adapters.discord.text import DiscordText
from core.domain.offers import Offer
from core.errors import InsufficientCredits, OperationFailed
from core.services.wallets import Moved

logger = logging.getLogger(__name__)


class MusicBot(discord.Client):
    def __init__(self, services: DiscordServices, options: DiscordOptions | None = None) -> None:
        options = options or DiscordOptions()
        intents = discord.Intents.none()
        intents.guilds = True  # slash commands need no privileged intents
        intents.dm_messages = True  # recordings sent in a DM (DMs carry content without the privileged intent)
        # Styles and notes are typed by people: they may ping users, never @everyone or roles.
        mentions = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False)
        shards = shard_options(options, sharded=isinstance(self, discord.AutoShardedClient))
        super().__init__(intents=intents, allowed_mentions=mentions, **shards)
        self.services = services
        self.options = options
        self.recordings = RecordingShelf(options.recordings_dir)
        self.text = DiscordText(services.catalogue)
        self.views = Views(self.text, services.rules.pricing)
        self.notifier = DiscordNotifier(self)
        self.intake = asyncio.Semaphore(self.options.intake_concurrency)
        self.tree: app_commands.CommandTree[MusicBot] = app_commands.CommandTree(self)
        self.tree.on_error = self._on_tree_error  # type: ignore[method-assign]
        add_generate_commands(self)
        add_recording_commands(self)
        add_wallet_commands(self)
        add_reward_commands(self)
        add_server_commands(self)
        add_operator_commands(self)

    def attach(self) -> None:
        """Register with the core: jobs started on Discord report here (before the job workers
        start, so resumed jobs find it), and support tickets reach the operators' channel."""
        if self.services.generation is not None:
            self.services.generation.register_notifier("discord", self.notifier)
        if self.services.support is not None:
            channel = self.options.support_channel_id
            inbox = DiscordSupportInbox(self, channel) if channel else None
            self.services.support.add_platform("discord", inbox, DiscordSupportReplies(self))

    async def setup_hook(self) -> None:
        self.add_dynamic_items(*DYNAMIC_ITEMS, RecordingButton)
        if self.options.dev_guild_id:
            guild = discord.Object(self.options.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            logger.info("synced %d commands to the development server %s", len(synced), guild.id)
        self.notifier.ready()

    async def close(self) -> None:
        self.notifier.closed()
        await super().close()

    async def on_message(self, message: discord.Message) -> None:
        await on_direct_message(self, message)

    async def sync_global(self) -> list[app_commands.AppCommand]:
        """`python -m bot sync-commands`: publish the commands to every server (takes a while
        to show up in Discord; not done on every start)."""
        return await self.tree.sync()

    # --- what handlers share ---------------------------------------------------------------

    async def welcome(self, interaction: discord.Interaction[Any]) -> str | None:
        """ "Welcome! You have 10 free credits…" on a person's first contact, else None."""
        welcome = await self.services.wallets.start(identity_of(interaction.user))
        if not welcome.welcome_credits:
            return None
        return self.text.t("discord.welcome", locale_of(interaction), credits=welcome.welcome_credits)

    @staticmethod
    def join(*parts: str | None) -> str:
        return "\n\n".join(p for p in parts if p)

    @staticmethod
    def need(service: Any) -> Any:
        if service is None:
            raise OperationFailed("not_available")
        return service

    @property
    def selling(self) -> bool:
        """Packs can be bought here (Stripe Checkout is configured)."""
        payments = self.services.payments
        return payments is not None and payments.stripe_enabled

    def on_sale(self, offer: Offer) -> Offer:
        """The offer as this bot can honour it: no pack buttons or lines when nothing is sold."""
        return offer if self.selling else replace(offer, packs=())

    def operator_moved(self, key: str, target: str, moved: Moved, locale: str | None) -> str:
        if moved.outcome.duplicate:
            return self.text.t("admin_duplicate", locale)
        return self.text.render.operator_balance(key, target, moved.outcome.amount, moved.outcome.balance, locale)

    # --- the error boundary ----------------------------------------------------------------

    async def _on_tree_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        await self.report_error(interaction, error)

    async def report_error(self, interaction: discord.Interaction[Any], error: BaseException) -> None:
        """Expected errors → an ephemeral, friendly text from the catalogue (the offer when out of
        credits); anything else is logged with a reference the person is shown."""
        if isinstance(error, app_commands.CommandInvokeError):
            error = error.original
        locale = locale_of(interaction)
        view = None
        if isinstance(error, app_commands.NoPrivateMessage):
            text = self.text.t("discord.guild_only", locale)
        elif isinstance(error, app_commands.MissingPermissions):
            text = self.text.t("discord.need_manage_server", locale)
        elif isinstance(error, app_commands.CheckFailure):
            text = self.text.t("error.not_permitted", locale)
        elif isinstance(error, app_commands.TransformerError | app_commands.CommandSignatureMismatch):
            logger.warning(
                "options of /%s could not be read: %s",
                getattr(interaction.command, "name", "?"),
                error,
            )
            text = self.text.t("discord.bad_option", locale)
        elif isinstance(error, InsufficientCredits):
            text, view = await self._refusal(interaction, error)
        else:
            text = self.text.error(error, locale)
        try:
            await answer(interaction, text, view=view)
        except discord.HTTPException as failed:
            logger.warning("could not tell %s about an error: %s", interaction.user.id, failed)

    async def _refusal(
        self, interaction: discord.Interaction[Any], error: InsufficientCredits
    ) -> tuple[str, discord.ui.View | None]:
        """'That costs 2 credits and you have 0', the packs, the next daily credit, support."""
        locale = locale_of(interaction)
        payments, rewards = self.services.payments, self.services.rewards
        next_daily = None
        if rewards is not None:
            try:
                next_daily = await rewards.next_daily_at(identity_of(interaction.user))
            except Exception:  # noqa: BLE001 - the refusal matters more than this line
                logger.exception("next daily credit unknown")
        packs = payments.packs() if payments is not None and self.selling else ()
        offer = Offer(error.available, error.available <= 0, packs, next_daily)
        text = self.join(self.services.catalogue.error(error, locale), self.text.render.offer(offer, locale))
        return text, self.views.offer(offer, locale)


class ShardedMusicBot(MusicBot, discord.AutoShardedClient):
    """The same bot running several shards in this process (`shard_ids`, or all of them)."""


def shard_options(options: DiscordOptions, *, sharded: bool) -> dict[str, Any]:
    """discord.py's shard arguments: `shard_id` for a plain client, `shard_ids` for a sharded one."""
    if options.shard_count is None:
        return {}
    shards: dict[str, Any] = {"shard_count": options.shard_count}
    ids = options.shard_ids
    if sharded and ids is not None:
        shards["shard_ids"] = list(ids)
    elif not sharded:
        shards["shard_id"] = ids[0] if ids else 0
    return shards


def make_bot(services: DiscordServices, options: DiscordOptions) -> MusicBot:
    """One connection unless sharding is set: exactly one shard → a plain client for that shard;
    a shard count alone (all shards) or several ids → an `AutoShardedClient`."""
    ids = options.shard_ids
    if options.shard_count is None or (ids is not None and len(ids) == 1):
        return MusicBot(services, options)
    return ShardedMusicBot(services, options)
