"""`DiscordPlatform`: the Discord client in the shared event loop, translating interactions and
DMs into the conversation and showing its replies and job notices.

`start()` logs in over REST (so job notices work at once) and runs the gateway connection as a
task. A stop comes in two steps: `stop_receiving()` takes nothing new (the gateway is closed,
and what still reaches a handler is left unanswered) while the interactions and DMs already
being handled go on, over REST; `stop()` waits a little for those, then closes the client.
DISCORD_API_BASE_URL points discord.py's REST calls at a proxy or a test fake, and the gateway
at the one that API names (both are process-wide settings of discord.py)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.chat.commands import Command
from adapters.chat.conversation import Conversation
from adapters.chat.messages import PayBy, Place, Reply, Request, Surface
from adapters.chat.platform import ClipMessage, JobStatus
from adapters.chat.words import Words
from adapters.discord.client import MusicBot, make_bot
from adapters.discord.clip_links import ClipShelf
from adapters.discord.delivery import DiscordJobs
from adapters.discord.interactions import NAME, Interactions, fit, identity_of
from adapters.discord.recording_shelf import RecordingShelf
from adapters.discord.recordings import Recordings, recording_of
from adapters.discord.slash import slash_commands
from adapters.discord.translator import CatalogueTranslator
from adapters.discord.views import Interaction, view_of
from core.domain.generation import GeneratedClip
from core.domain.identity import Identity
from core.domain.jobs import Delivered, Job

logger = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20_000_000  # what we download from Discord at most
CONVERSATION = (discord.MessageType.default, discord.MessageType.reply)


def discord_time(at: dt.datetime) -> str:
    """A Discord timestamp: every client shows it in its own time zone ("in 2 hours")."""
    return f"<t:{int(at.timestamp())}:R>"


@dataclass(frozen=True)
class DiscordOptions:
    token: str = ""
    api_base_url: str | None = None  # a REST proxy, or a test fake (…/api/v10)
    dev_guild_id: int | None = None  # sync the commands to this server at start (development)
    support_channel_id: int | None = None  # the operators' channel that receives support tickets
    max_download_bytes: int = MAX_DOWNLOAD_BYTES
    ready_timeout_seconds: float = 60.0  # a job finishing before login waits this long for it
    intake_concurrency: int = 16  # recordings downloaded at once (the rest wait, acknowledged)
    recordings_dir: Path | None = None  # recordings waiting for a press (None: in memory)
    shard_count: int | None = None  # unset: one connection (fine below 2,500 servers)
    shard_ids: tuple[int, ...] | None = None  # the shards this process runs (None: all)
    stop_wait_seconds: float = 3.0  # at a stop, how long the interactions being handled may take


class DiscordPlatform:
    def __init__(
        self, options: DiscordOptions, conversation: Conversation, words: Words, clips: ClipShelf | None = None
    ) -> None:
        self.options = options
        self.conversation = conversation
        self.words = words
        self.clips = clips  # clips too big to upload, linked from our web server
        self._surface = Surface(
            NAME,
            payment_methods=(PayBy.CARD, PayBy.STORE),
            command_attachments=True,
            group_kind="server",
            max_file_bytes=options.max_download_bytes,
            when=discord_time,
            localized_names=True,
        )
        self.client: MusicBot = make_bot(
            options.shard_count,
            options.shard_ids,
            press=self._press,
            on_error=self._refused,
            on_direct_message=self.on_direct_message,
            on_ready_hook=self._logged_in,
            dev_guild_id=options.dev_guild_id,
            on_entitlement=self.on_entitlement,
        )
        self.recording_shelf = RecordingShelf(options.recordings_dir)
        self.recordings = Recordings(
            self.client, self.recording_shelf, options.max_download_bytes, options.intake_concurrency
        )
        self.interactions = Interactions(conversation, self._surface, self.recordings)
        self.jobs = DiscordJobs(self.client, words, self._surface, clips, options.ready_timeout_seconds)
        for command in slash_commands(conversation.available(self._surface), words, self._command):
            self.client.tree.add_command(command)
        menu_name = app_commands.locale_str(words.t(None, "context_menu.make_music"), key="context_menu.make_music")
        menu = app_commands.ContextMenu(name=menu_name, callback=self.make_music)
        self.translator = CatalogueTranslator(words)
        self.client.tree.add_command(menu)
        self._gateway: asyncio.Task[None] | None = None
        self._receiving = True
        self._handling = 0  # interactions and DMs being handled
        self._handled = asyncio.Event()  # set whenever none is
        self._handled.set()

    @property
    def surface(self) -> Surface:
        return self._surface

    @property
    def shelves(self) -> list[RecordingShelf | ClipShelf]:
        """What keeps files on disk for a while (swept every hour)."""
        return [self.recording_shelf, *([self.clips] if self.clips is not None else [])]

    # --- the runtime ----------------------------------------------------------------------------

    async def start(self) -> None:
        use_api_base(self.options.api_base_url)
        await self.client.tree.set_translator(self.translator)  # a development sync at login is localized too
        await self.client.login(self.options.token)
        if self.options.api_base_url:  # the gateway that API names, not discord.py's built-in one
            _, url, _ = await self.client.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        self._gateway = asyncio.create_task(self._connect(), name="discord-gateway")
        logger.info("discord: logged in as %s%s", self.client.user, self._shards())

    async def stop_receiving(self) -> None:
        """Take no new interaction or DM: close the gateway (Discord tells people who click now
        that the bot did not respond) and leave unanswered what it already passed on. Those being
        handled go on: REST stays open until `stop`."""
        self._receiving = False
        if self._gateway is not None:
            # The connect loop first: it would take the closed connection for a drop and reconnect.
            self._gateway.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._gateway
        if isinstance(self.client, discord.AutoShardedClient):
            for shard in self.client.shards.values():
                await shard.disconnect()
        elif self.client.ws is not None and self.client.ws.open:
            await self.client.ws.close(code=1000)

    async def stop(self) -> None:
        await self.stop_receiving()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.options.stop_wait_seconds):
                await self._handled.wait()
        if self._handling:
            logger.warning("discord: stopping with %d interactions still being handled", self._handling)
        self.jobs.closed()
        await self.client.close()

    @contextlib.asynccontextmanager
    async def _new_work(self, what: str) -> AsyncIterator[bool]:
        """Whether to handle an interaction or DM that just came: not once the stop began. One
        taken counts as being handled until its handler returns (the stop waits for it)."""
        if not self._receiving:
            logger.info("discord: stopping: %s left unanswered", what)
            yield False
            return
        self._handling += 1
        self._handled.clear()
        try:
            yield True
        finally:
            self._handling -= 1
            if not self._handling:
                self._handled.set()

    async def sync_commands(self, guild_id: int | None = None) -> int:
        """Publish the slash commands (globally, or to one server): `python -m bot sync-commands`."""
        use_api_base(self.options.api_base_url)
        await self.client.tree.set_translator(self.translator)
        try:
            await self.client.login(self.options.token)
            if guild_id:
                guild = discord.Object(guild_id)
                self.client.tree.copy_global_to(guild=guild)
                return len(await self.client.tree.sync(guild=guild))
            return len(await self.client.tree.sync())
        finally:
            await self.client.close()

    async def _connect(self) -> None:
        try:
            await self.client.connect(reconnect=True)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("discord gateway stopped")

    async def _logged_in(self) -> None:
        self.jobs.ready()

    def _shards(self) -> str:
        count, ids = self.options.shard_count, self.options.shard_ids
        if count is None:
            return ""
        return f" (shards {', '.join(map(str, ids)) if ids else 'all'} of {count})"

    # --- the platform ---------------------------------------------------------------------------

    async def send(self, to: Identity, reply: Reply) -> None:
        channel = await self.client.create_dm(discord.Object(int(to.user_id)))
        await channel.send(fit(reply.text), view=view_of(reply.rows) or discord.utils.MISSING)

    async def send_to_operators(self, reply: Reply) -> bool:
        if not self.options.support_channel_id:
            return False
        channel = self.client.get_partial_messageable(self.options.support_channel_id)
        await channel.send(fit(reply.text), allowed_mentions=discord.AllowedMentions.none())
        return True

    async def show_status(self, status: JobStatus) -> None:
        await self.jobs.show_status(status)

    async def send_clip(self, job: Job, clip: GeneratedClip, message: ClipMessage) -> Delivered | bool:
        return await self.jobs.send_clip(job, clip, message)

    async def send_after(self, job: Job, reply: Reply) -> None:
        await self.jobs.send_after(job, reply)

    # --- Discord's store ------------------------------------------------------------------------

    async def on_entitlement(self, entitlement: discord.Entitlement, deleted: bool) -> None:
        """A pack bought in Discord's store: granted once (keyed by the entitlement id), then
        consumed, then thanked for; a deleted one (a refund) takes the credits back."""
        if entitlement.user_id is None:
            return  # a server's subscription: no pack of ours
        async with self._new_work(f"entitlement {entitlement.id}") as taking:
            if taking:  # when stopping, it is granted at the person's next click after the start
                await self._entitle(entitlement, deleted)

    async def _entitle(self, entitlement: discord.Entitlement, deleted: bool) -> None:
        identity = Identity(NAME, str(entitlement.user_id))
        request = Request(identity, self._surface, f"entitlement:{entitlement.id}", place=Place())
        reply = await self.conversation.entitlement(
            request, str(entitlement.id), str(entitlement.sku_id), deleted=deleted
        )
        if reply is None or deleted:
            return
        if not entitlement.consumed:
            try:
                await entitlement.consume()
            except discord.HTTPException as failed:  # granted already; the next event consumes it
                logger.warning("could not consume entitlement %s: %s", entitlement.id, failed)
        if reply.text:
            try:
                await self.send(identity, reply)
            except discord.HTTPException as failed:
                logger.warning("could not thank %s for entitlement %s: %s", identity.key, entitlement.id, failed)

    # --- recordings -----------------------------------------------------------------------------

    async def on_direct_message(self, message: discord.Message) -> None:
        """A DM with a recording gets the style × length picker; any other DM, how it works."""
        if message.guild is not None or message.author.bot or message.type not in CONVERSATION:
            return
        async with self._new_work(f"message {message.id}") as taking:
            if taking:
                await self._answer_dm(message)

    async def _answer_dm(self, message: discord.Message) -> None:
        request = Request(identity_of(message.author), self._surface, str(message.id), place=Place())
        attachment = recording_of(message)
        if attachment is None:
            reply = self.conversation.hint(request)
        else:
            reply = await self._picker(request, message, attachment)
        try:
            await message.reply(
                fit(reply.text), view=view_of(reply.rows) or discord.utils.MISSING, mention_author=False
            )
        except discord.HTTPException as failed:
            logger.warning("could not answer %s's DM: %s", message.author.id, failed)

    async def make_music(self, interaction: Interaction, message: discord.Message) -> None:
        """ "Make music from this" on a message with a voice message or an audio file."""
        async with self._new_work(f"interaction {interaction.id}") as taking:
            if taking:
                await self._make_music(interaction, message)

    async def _make_music(self, interaction: Interaction, message: discord.Message) -> None:
        request = self.interactions.request(interaction)
        attachment = recording_of(message)
        if attachment is None:
            reply = await self.conversation.recording(request, found=False)
        else:

            async def acknowledge() -> None:
                await self.interactions.acknowledge(interaction, job=True)

            reply = await self._picker(request, message, attachment, acknowledge)
        await self.interactions.answer(interaction, reply)

    async def _picker(
        self,
        request: Request,
        message: discord.Message,
        attachment: discord.Attachment,
        acknowledge: Callable[[], Awaitable[None]] | None = None,
    ) -> Reply:
        """The style × length picker for the message's recording, downloaded and kept for the
        presses (after `acknowledge`, where the download must not keep Discord waiting), or why
        not."""
        try:
            if acknowledge is not None:
                await acknowledge()
            await self.recordings.keep(message.id, attachment)
            return await self.conversation.recording(request, str(message.id))
        except Exception as error:  # noqa: BLE001 - the error boundary of a recording
            return await self.conversation.failure(request, error)

    async def _press(self, interaction: Interaction, data: str) -> None:
        async with self._new_work(f"interaction {interaction.id}") as taking:
            if taking:
                await self.interactions.press(interaction, data)

    async def _command(
        self, interaction: Interaction, command: Command, sub: Command | None, options: Mapping[str, object]
    ) -> None:
        async with self._new_work(f"interaction {interaction.id}") as taking:
            if taking:
                await self.interactions.command(interaction, command, sub, options)

    async def _refused(self, interaction: Interaction, error: BaseException) -> None:
        await self.interactions.refused(interaction, error)


def use_api_base(url: str | None) -> None:
    if url:
        Route.BASE = url.rstrip("/")
