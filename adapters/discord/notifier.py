"""`JobNotifier` for Discord: one status message, edited; the clip as a follow-up; the outcome.

Each job answers through the interaction that started it (`job.reply_to`, stored with the job):
- the status message is the deferred reply, edited queued (position, ETA as a Discord
  timestamp) → starting → generating → uploading → done/failed, with a Cancel button while the
  job can be canceled; it never goes backwards when a late queue update races a worker's step;
- the clip is a follow-up with the file when it fits the interaction's upload limit, else a
  link served by our web server for a limited time (when the web server is configured), with
  Again / Other style / Longer / Share buttons;
- after Discord's 15-minute follow-up window (or when the token is refused) the clip goes to the
  person's DMs (the channel when their DMs are closed), and the outcome to their DMs.

What is kept here (ranks, locks) is cosmetic: after a restart a job simply carries on editing
the same message, or posts a new one. Money never depends on it: `deliver` returns True only
once Discord accepted the message, and only then are the credits captured.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord.buttons import clip_file
from core.domain.generation import GeneratedClip
from core.domain.jobs import Job, JobProgress, Stage
from core.domain.ledger import Balance
from core.domain.offers import Offer
from core.errors import BotError

if TYPE_CHECKING:
    from adapters.discord.client import MusicBot
    from core.services.generation import Accepted

logger = logging.getLogger(__name__)

RANK = {Stage.QUEUED: 1, Stage.STARTED: 2, Stage.GENERATING: 3, Stage.DELIVERING: 4}
DONE = 5
MAX_REMEMBERED = 10_000
# Discord's answers meaning "this interaction token no longer works".
TOKEN_GONE = {10015, 10062, 50027}
TOO_LARGE = 40005


class _Lru(collections.OrderedDict[str, Any]):
    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > MAX_REMEMBERED:
            self.popitem(last=False)


class TokenExpired(Exception):
    """The interaction's follow-up window is over."""


class DiscordNotifier:
    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot
        self._ready = asyncio.Event()
        self._rank = _Lru()  # job id → the furthest stage shown
        self._locks = _Lru()  # job id → the lock that keeps its edits in order
        self._headers = _Lru()  # job id → what the status said on acceptance (cost, welcome)
        self._expired = _Lru()  # tokens Discord refused

    def ready(self) -> None:
        """Called once the client is logged in (REST works)."""
        self._ready.set()

    def closed(self) -> None:
        self._ready.clear()

    async def _wait_ready(self) -> bool:
        if self._ready.is_set():
            return True
        try:
            async with asyncio.timeout(self.bot.options.ready_timeout_seconds):
                await self._ready.wait()
        except TimeoutError:
            logger.error("discord client not logged in: cannot answer a job")
            return False
        return True

    # --- the handler's side: a job was accepted --------------------------------------------

    async def accepted(self, accepted: Accepted, prefix: str | None = None) -> None:
        job = accepted.job
        locale = _locale(job)
        text = self.bot.text.generation.accepted(accepted, locale)
        if prefix:
            text = f"{prefix}\n{text}"
        self._headers.put(job.job_id, text)
        view = None if accepted.duplicate or job.state.finished else self.bot.views.status(job.job_id, locale)
        await self._status(job, RANK[Stage.QUEUED], text, view)

    # --- JobNotifier ---------------------------------------------------------------------------

    async def progress(self, job: Job, progress: JobProgress) -> None:
        if not await self._wait_ready():
            return
        locale = _locale(job)
        text = self.bot.text.progress(job, progress, self.bot.services.clock.now(), locale)
        header = self._headers.get(job.job_id)
        if header:
            text = f"{header}\n{text}"
        cancelable = progress.stage != Stage.DELIVERING
        view = self.bot.views.status(job.job_id, locale) if cancelable else None
        await self._status(job, RANK[progress.stage], text, view)

    async def deliver(self, job: Job, clip: GeneratedClip) -> bool:
        if not await self._wait_ready():
            return False
        reply = job.reply_to
        locale = _locale(job)
        in_server = reply.get("guild") is not None
        view = self.bot.views.clip(job, locale, in_server=in_server)
        limit = int(reply.get("limit") or 10 * 1024 * 1024)
        fits = len(clip.audio) <= limit
        message: dict[str, Any]
        if fits:
            message = {"content": self.bot.text.clip_caption(job, locale)}
        else:
            linked = await self._link(job, clip, locale)
            if linked is None:
                logger.warning(
                    "job %s: clip of %d bytes is over the %d limit and no link can be made",
                    job.job_id,
                    len(clip.audio),
                    limit,
                )
                return False
            message = {"content": linked}
        try:
            await self._followup(job, message, clip if fits else None, view)
            return True
        except TokenExpired:
            pass
        except discord.HTTPException as error:
            if fits and error.code == TOO_LARGE:  # the limit was smaller than the payload said
                linked = await self._link(job, clip, locale)
                if linked is not None:
                    await self._followup(job, {"content": linked}, None, view)
                    return True
            if not self._token_gone(job, error):
                logger.warning("job %s: Discord refused the clip: %s", job.job_id, error)
                return False
        return await self._deliver_late(job, clip, fits, view, locale)

    async def _followup(
        self,
        job: Job,
        message: dict[str, Any],
        clip: GeneratedClip | None,
        view: discord.ui.View | None,
    ) -> None:
        await self._webhook(job).send(
            **message,
            file=clip_file(job, clip.audio, clip.format) if clip is not None else discord.utils.MISSING,
            view=view or discord.utils.MISSING,
            ephemeral=bool(job.reply_to.get("private")),
            wait=True,
        )

    async def finished(self, job: Job, charged: int, balance: Balance, offer: Offer | None) -> None:
        if not await self._wait_ready():
            return
        locale = _locale(job)
        offer = self.bot.on_sale(offer) if offer is not None else None
        text = self.bot.text.generation.charged(charged, balance, offer, locale)
        view = self.bot.views.offer(offer, locale) if offer is not None else None
        await self._outcome(job, text, view)

    async def failed(self, job: Job, error: BotError, balance: Balance) -> None:
        if not await self._wait_ready():
            return
        locale = _locale(job)
        await self._outcome(job, self.bot.text.generation.failed(job, error, locale), None)

    # --- the status message --------------------------------------------------------------------

    async def _status(self, job: Job, rank: int, text: str, view: discord.ui.View | None) -> bool:
        """Edit the status message unless it already shows a later stage. False when the
        interaction token no longer works."""
        lock = self._locks.get(job.job_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks.put(job.job_id, lock)
        async with lock:
            if rank < self._rank.get(job.job_id, 0):
                return True
            self._rank.put(job.job_id, rank)
            try:
                await self._webhook(job).edit_message(self._status_id(job), content=text, view=view)
            except TokenExpired:
                return False
            except discord.HTTPException as error:
                if self._token_gone(job, error):
                    return False
                logger.warning("job %s: status edit refused: %s", job.job_id, error)
            return True

    async def _outcome(self, job: Job, text: str, view: discord.ui.View | None) -> None:
        """The last word on a job: on the status message, or in a DM once the token is gone."""
        try:
            if not await self._status(job, DONE, text, view):
                await self._dm(job, {"content": text, "view": view or discord.utils.MISSING})
        except discord.HTTPException as error:  # DMs closed: the clip itself was delivered
            logger.info("job %s: could not send the outcome by DM: %s", job.job_id, error)
        finally:
            self._locks.pop(job.job_id, None)
            self._headers.pop(job.job_id, None)

    # --- sending -------------------------------------------------------------------------------

    def _webhook(self, job: Job) -> discord.Webhook:
        reply = job.reply_to
        token = str(reply.get("token") or "")
        age = time.time() - float(reply.get("at") or 0)
        if not token or token in self._expired or age > self.bot.options.followup_window.total_seconds():
            raise TokenExpired()
        data: Any = {"id": int(reply["app"]), "type": 3, "token": token}
        return discord.Webhook.from_state(data=data, state=self.bot._connection)

    @staticmethod
    def _status_id(job: Job) -> Any:
        status = job.reply_to.get("status")
        return int(status) if status else "@original"

    def _token_gone(self, job: Job, error: discord.HTTPException) -> bool:
        if error.code in TOKEN_GONE or error.status == 401:
            self._expired.put(str(job.reply_to.get("token")), True)
            return True
        return False

    async def _link(self, job: Job, clip: GeneratedClip, locale: str) -> str | None:
        shelf = self.bot.services.clips
        if shelf is None:
            return None
        url, until = await shelf.publish(clip.audio, clip.format)
        return self.bot.text.clip_link(job, url, until, locale)

    async def _deliver_late(
        self, job: Job, clip: GeneratedClip, fits: bool, view: discord.ui.View | None, locale: str
    ) -> bool:
        """Past the follow-up window: the person's DMs first for a job from a server (it was
        private there), else the channel it came from, with a mention."""
        mention = f"<@{job.reply_to.get('user')}>"
        caption = self.bot.text.clip_caption(job, locale, mention=mention)
        if not fits:
            caption = await self._link(job, clip, locale) or caption
        for send in (self._dm, self._channel):
            message: dict[str, Any] = {"content": caption, "view": view or discord.utils.MISSING}
            if fits:
                message["file"] = clip_file(job, clip.audio, clip.format)
            try:
                if await send(job, message):
                    return True
            except discord.HTTPException as error:
                logger.info("job %s: late delivery via %s refused: %s", job.job_id, send.__name__, error)
        return False

    async def _dm(self, job: Job, message: dict[str, Any]) -> bool:
        user = job.reply_to.get("user")
        if not user:
            return False
        channel = await self.bot.create_dm(discord.Object(int(user)))
        await channel.send(**message)
        return True

    async def _channel(self, job: Job, message: dict[str, Any]) -> bool:
        channel_id = job.reply_to.get("channel")
        if not channel_id:
            return False
        await self.bot.get_partial_messageable(int(channel_id)).send(**message)
        return True


def _locale(job: Job) -> str:
    return str(job.reply_to.get("locale") or "en-US")
