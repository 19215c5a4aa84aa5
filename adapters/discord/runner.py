"""`DiscordRunner`: the Discord client as a component of the shared event loop.

`start()` logs in over REST (so job notifications work at once) and runs the gateway connection
as a task; `stop()` closes the client. DISCORD_API_BASE_URL points discord.py's REST calls at a
proxy or a test fake, and the gateway at the one that API names (both are process-wide
settings of discord.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.client import MusicBot, make_bot
from adapters.discord.clip_links import ClipShelf
from adapters.discord.services import DiscordOptions, DiscordServices

logger = logging.getLogger(__name__)
CLIP_SWEEP_SECONDS = 3600.0


def use_api_base(url: str | None) -> None:
    if url:
        Route.BASE = url.rstrip("/")


class DiscordRunner:
    def __init__(self, services: DiscordServices, options: DiscordOptions) -> None:
        if not options.token:
            raise ValueError("DISCORD_BOT_TOKEN is not set")
        self.options = options
        self.bot = make_bot(services, options)
        self.bot.attach()  # now: the job workers may start (and resume jobs) before we log in
        self._gateway: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None

    @classmethod
    def from_app(cls, app: Any, *, clip_base_url: str | None = None) -> DiscordRunner:
        """From the composition root's `App` (read by attribute). With `clip_base_url` (the web
        server's public address), clips too big to upload are linked from there."""
        clips = None
        if clip_base_url:
            clips = ClipShelf(Path(app.settings.data_dir) / "discord-clips", clip_base_url)
            app.web_hooks.clip = clips.fetch
        services = DiscordServices.from_app(app, clips=clips)
        return cls(services, DiscordOptions.from_settings(app.settings))

    async def start(self) -> None:
        use_api_base(self.options.api_base_url)
        await self.bot.login(self.options.token)
        if self.options.api_base_url:
            await self._use_gateway_of_api()
        self._gateway = asyncio.create_task(self._connect(), name="discord-gateway")
        self._sweeper = asyncio.create_task(self._sweep(), name="discord-sweep")
        logger.info("discord: logged in as %s%s", self.bot.user, self._shards())

    async def _use_gateway_of_api(self) -> None:
        """The gateway that API names (`GET /gateway/bot`): discord.py's client otherwise
        connects to its built-in discord.gg address, whatever the REST base."""
        _, url, _ = await self.bot.http.get_bot_gateway()
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    def _shards(self) -> str:
        count, ids = self.options.shard_count, self.options.shard_ids
        if count is None:
            return ""
        return f" (shards {', '.join(map(str, ids)) if ids else 'all'} of {count})"

    async def _connect(self) -> None:
        try:
            await self.bot.connect(reconnect=True)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("discord gateway stopped")

    async def _sweep(self) -> None:
        """Delete expired clip links' files and old recordings now and then (a request for an
        expired one deletes it too)."""
        shelves = [s for s in (self.bot.services.clips, self.bot.recordings) if s is not None]
        while True:
            for shelf in shelves:
                try:
                    await asyncio.to_thread(shelf.sweep)
                except OSError:
                    logger.warning("sweeping old files failed", exc_info=True)
            await asyncio.sleep(CLIP_SWEEP_SECONDS)

    async def stop(self) -> None:
        await self.bot.close()
        for task in (self._gateway, self._sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def sync_commands(services: DiscordServices, options: DiscordOptions, guild_id: int | None = None) -> int:
    """`python -m bot sync-commands`: publish the slash commands (globally, or to one server)."""
    use_api_base(options.api_base_url)
    bot = MusicBot(services, DiscordOptions(token=options.token, api_base_url=options.api_base_url))
    try:
        await bot.login(options.token)
        if guild_id:
            guild = discord.Object(guild_id)
            bot.tree.copy_global_to(guild=guild)
            return len(await bot.tree.sync(guild=guild))
        return len(await bot.sync_global())
    finally:
        await bot.close()
