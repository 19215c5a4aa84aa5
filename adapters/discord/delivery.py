"""How Discord shows a job: through the interaction that started it (`job.reply_to`, stored with
the job), whose deferred reply is the status message, edited; the clip as a follow-up with the
file when it fits the interaction's upload limit, else a link served by our web server for a
while (when it runs); after Discord's 15-minute follow-up window (or when the token is refused)
the clip goes to the person's DMs (the channel when their DMs are closed), the outcome to DMs.

`send_clip` answers True only once Discord accepted the message: only then are credits
captured. What is kept here (refused tokens) is cosmetic."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import time
from typing import TYPE_CHECKING

import discord

from adapters.chat.jobs import Recent, locale_of
from adapters.chat.messages import Reply, Surface
from adapters.chat.platform import ClipMessage, JobStatus
from adapters.chat.words import Words
from adapters.discord.clip_links import ClipShelf
from adapters.discord.interactions import fit
from adapters.discord.views import view_of
from core.domain.generation import GeneratedClip
from core.domain.jobs import Delivered, Job

if TYPE_CHECKING:
    from discord.types.webhook import Webhook as WebhookPayload

logger = logging.getLogger(__name__)

TOKEN_GONE = {10015, 10062, 50027}  # Discord's answers meaning "this interaction token no longer works"
TOO_LARGE = 40005
FOLLOWUP_WINDOW = dt.timedelta(minutes=14)  # tokens work for 15 minutes


class TokenExpired(Exception):
    """The interaction's follow-up window is over."""


class DiscordJobs:
    def __init__(
        self, client: discord.Client, words: Words, surface: Surface, clips: ClipShelf | None, ready_timeout: float
    ) -> None:
        self.client = client
        self.words = words
        self.surface = surface  # how a link's expiry is shown
        self.clips = clips
        self.ready_timeout = ready_timeout
        self._ready = asyncio.Event()
        self._expired: Recent[bool] = Recent()  # tokens Discord refused

    def ready(self) -> None:
        """The client is logged in (REST works)."""
        self._ready.set()

    def closed(self) -> None:
        self._ready.clear()

    async def _wait_ready(self) -> bool:
        try:
            async with asyncio.timeout(self.ready_timeout):
                await self._ready.wait()
        except TimeoutError:
            logger.error("discord client not logged in: cannot answer a job")
            return False
        return True

    # --- the status message ---------------------------------------------------------------------

    async def show_status(self, status: JobStatus) -> None:
        if not await self._wait_ready():
            return
        job, view = status.job, view_of(status.reply.rows)
        try:
            await self._webhook(job).edit_message(_status_id(job), content=fit(status.reply.text), view=view)
            return
        except TokenExpired:
            pass
        except discord.HTTPException as error:
            if not self._token_gone(job, error):
                logger.warning("job %s: status edit refused: %s", job.job_id, error)
                return
        if status.final:  # the last word goes to the person's DMs once the token is gone
            try:
                await self._dm(job, fit(status.reply.text), view)
            except discord.HTTPException as error:  # DMs closed: the clip itself was delivered
                logger.info("job %s: could not send the outcome by DM: %s", job.job_id, error)

    async def send_after(self, job: Job, reply: Reply) -> None:
        if not await self._wait_ready():
            return
        text, view = fit(reply.text), view_of(reply.rows)
        try:
            await self._webhook(job).send(
                text, view=view or discord.utils.MISSING, ephemeral=bool(job.reply_to.get("private")), wait=True
            )
            return
        except TokenExpired:
            pass
        except discord.HTTPException as error:
            if not self._token_gone(job, error):
                logger.warning("job %s: follow-up refused: %s", job.job_id, error)
                return
        try:
            await self._dm(job, text, view)
        except discord.HTTPException as error:
            logger.info("job %s: could not send a follow-up by DM: %s", job.job_id, error)

    # --- the clip -------------------------------------------------------------------------------

    async def send_clip(self, job: Job, clip: GeneratedClip, message: ClipMessage) -> Delivered | bool:
        if not await self._wait_ready():
            return False
        view = view_of(message.rows, share=job.reply_to.get("guild") is not None)
        fits = len(clip.audio) <= int(str(job.reply_to.get("limit") or 10 * 1024 * 1024))
        content = message.caption if fits else await self._link(job, clip)
        if content is None:
            logger.warning("job %s: clip of %d bytes is over the upload limit; no link", job.job_id, len(clip.audio))
            return False
        while True:  # once more, with a link, when Discord finds the file too large after all
            try:
                sent = await self._webhook(job).send(
                    content=content,
                    file=_file(clip, message) if fits else discord.utils.MISSING,
                    view=view or discord.utils.MISSING,
                    ephemeral=bool(job.reply_to.get("private")),
                    wait=True,
                )
                # The message's id is recorded with the capture, in the same transaction.
                return Delivered(ref=str(sent.id))
            except TokenExpired:
                break
            except discord.HTTPException as error:
                if fits and error.code == TOO_LARGE:  # the limit was smaller than the payload said
                    linked = await self._link(job, clip)
                    if linked is not None:
                        fits, content = False, linked
                        continue
                if not self._token_gone(job, error):
                    logger.warning("job %s: Discord refused the clip: %s", job.job_id, error)
                    return False
                break
        return await self._deliver_late(job, clip, message, view, None if fits else content)

    async def _deliver_late(
        self, job: Job, clip: GeneratedClip, message: ClipMessage, view: discord.ui.View | None, link: str | None
    ) -> bool:
        """Past the follow-up window: the person's DMs first (a job from a server was private
        there), else the channel it came from, with a mention; `link`: the clip's words with its
        link, when it is not uploaded."""
        caption = link or f"<@{job.reply_to.get('user')}> {message.caption}"
        for send in (self._dm, self._channel):
            try:
                if await send(job, caption, view, _file(clip, message) if link is None else None):
                    return True
            except discord.HTTPException as error:
                logger.info("job %s: late delivery via %s refused: %s", job.job_id, send.__name__, error)
        return False

    async def _link(self, job: Job, clip: GeneratedClip) -> str | None:
        """The clip's words with a link to it on our web server (None without one)."""
        if self.clips is None:
            return None
        url, until = await self.clips.publish(clip.audio, clip.format)
        return self.words.on(
            self.surface, locale_of(job), "clip_link", seconds=job.seconds, style=job.style, url=url, until=until
        )

    # --- sending --------------------------------------------------------------------------------

    def _webhook(self, job: Job) -> discord.Webhook:
        reply = job.reply_to
        token = str(reply.get("token") or "")
        age = time.time() - float(str(reply.get("at") or 0))
        if not token or token in self._expired or age > FOLLOWUP_WINDOW.total_seconds():
            raise TokenExpired()
        # An application webhook (type 3): the interaction's own, which may send ephemeral messages.
        payload: WebhookPayload = {"id": int(str(reply["app"])), "type": 3, "token": token}  # type: ignore[typeddict-item]
        return discord.Webhook.from_state(data=payload, state=self.client._connection)

    def _token_gone(self, job: Job, error: discord.HTTPException) -> bool:
        if error.code in TOKEN_GONE or error.status == 401:
            self._expired.put(str(job.reply_to.get("token")), True)
            return True
        return False

    async def _dm(self, job: Job, text: str, view: discord.ui.View | None, file: discord.File | None = None) -> bool:
        user = job.reply_to.get("user")
        if not user:
            return False
        channel = await self.client.create_dm(discord.Object(int(str(user))))
        await channel.send(text, view=view or discord.utils.MISSING, file=file or discord.utils.MISSING)
        return True

    async def _channel(
        self, job: Job, text: str, view: discord.ui.View | None, file: discord.File | None = None
    ) -> bool:
        channel_id = job.reply_to.get("channel")
        if not channel_id:
            return False
        messageable = self.client.get_partial_messageable(int(str(channel_id)))
        await messageable.send(text, view=view or discord.utils.MISSING, file=file or discord.utils.MISSING)
        return True


def _status_id(job: Job) -> int | str:
    status = job.reply_to.get("status")
    return int(str(status)) if status else "@original"


def _file(clip: GeneratedClip, message: ClipMessage) -> discord.File:
    return discord.File(io.BytesIO(clip.audio), filename=message.filename)
