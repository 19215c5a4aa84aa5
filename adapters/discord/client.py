"""The Discord client: a `discord.Client` whose `CommandTree` holds the conversation's commands,
with the persistent items that answer every button registered in `setup_hook` (so buttons sent
before a restart keep working) and, while developing, the commands synced to one server.

Sharding (DISCORD_SHARD_COUNT / DISCORD_SHARD_IDS): `make_bot` builds a plain client for one
shard (or none), an `AutoShardedClient` for several. Discord sends each server's events and
interactions to the shard `(server id >> 22) % shard count`, and every DM to shard 0."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from adapters.discord.views import Interaction, Press, persistent_items

logger = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]
OnMessage = Callable[[discord.Message], Awaitable[None]]
OnError = Callable[[Interaction, app_commands.AppCommandError], Awaitable[None]]
OnEntitlement = Callable[[discord.Entitlement, bool], Awaitable[None]]


async def _no_store(entitlement: discord.Entitlement, deleted: bool) -> None:
    return None


class MusicBot(discord.Client):
    def __init__(
        self,
        *,
        press: Press,
        on_error: OnError,
        on_direct_message: OnMessage,
        on_ready_hook: Hook,
        dev_guild_id: int | None = None,
        shard_count: int | None = None,
        shard_ids: tuple[int, ...] | None = None,
        on_entitlement: OnEntitlement = _no_store,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # slash commands need no privileged intents
        intents.dm_messages = True  # recordings sent in a DM (DMs carry content without the privileged intent)
        # Styles and notes are typed by people: they may ping users, never @everyone or roles.
        mentions = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False)
        shards = shard_options(shard_count, shard_ids, sharded=isinstance(self, discord.AutoShardedClient))
        super().__init__(intents=intents, allowed_mentions=mentions, **shards)
        self.press = press
        self.on_direct_message = on_direct_message
        self.on_ready_hook = on_ready_hook
        self.on_store = on_entitlement  # a purchase in Discord's store, or its refund (deleted=True)
        self.dev_guild_id = dev_guild_id
        self.tree: app_commands.CommandTree[MusicBot] = app_commands.CommandTree(self)
        self.tree.error(on_error)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(*persistent_items(self.press))
        if self.dev_guild_id:
            guild = discord.Object(self.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            logger.info("synced %d commands to the development server %s", len(synced), guild.id)
        await self.on_ready_hook()

    async def on_message(self, message: discord.Message) -> None:
        await self.on_direct_message(message)

    # Discord's store: the gateway's entitlement events, and the entitlements every interaction
    # carries (a purchase whose event was missed is granted at the person's next click).
    async def on_entitlement_create(self, entitlement: discord.Entitlement) -> None:
        await self.on_store(entitlement, False)

    async def on_entitlement_update(self, entitlement: discord.Entitlement) -> None:
        await self.on_store(entitlement, entitlement.deleted)

    async def on_entitlement_delete(self, entitlement: discord.Entitlement) -> None:
        await self.on_store(entitlement, True)

    async def on_interaction(self, interaction: Interaction) -> None:
        for entitlement in interaction.entitlements:
            if not entitlement.consumed:  # one already consumed was granted before
                await self.on_store(entitlement, entitlement.deleted)


class ShardedMusicBot(MusicBot, discord.AutoShardedClient):
    """The same bot running several shards in this process (`shard_ids`, or all of them)."""


def shard_options(count: int | None, ids: tuple[int, ...] | None, *, sharded: bool) -> dict[str, int | list[int]]:
    """discord.py's shard arguments: `shard_id` for a plain client, `shard_ids` for a sharded one."""
    if count is None:
        return {}
    shards: dict[str, int | list[int]] = {"shard_count": count}
    if sharded and ids is not None:
        shards["shard_ids"] = list(ids)
    elif not sharded:
        shards["shard_id"] = ids[0] if ids else 0
    return shards


def make_bot(
    shard_count: int | None,
    shard_ids: tuple[int, ...] | None,
    *,
    press: Press,
    on_error: OnError,
    on_direct_message: OnMessage,
    on_ready_hook: Hook,
    dev_guild_id: int | None = None,
    on_entitlement: OnEntitlement = _no_store,
) -> MusicBot:
    """One connection unless sharding is set: exactly one shard → a plain client for that shard;
    a shard count alone (all shards) or several ids → an `AutoShardedClient`."""
    sharded = not (shard_count is None or (shard_ids is not None and len(shard_ids) == 1))
    return (ShardedMusicBot if sharded else MusicBot)(
        press=press,
        on_error=on_error,
        on_direct_message=on_direct_message,
        on_ready_hook=on_ready_hook,
        dev_guild_id=dev_guild_id,
        shard_count=shard_count,
        shard_ids=shard_ids,
        on_entitlement=on_entitlement,
    )
