"""How Telegram shows a job: one status message (the picker it was started from, or one sent on
its first update), edited; the chat action ("recording a voice…" / "sending a voice…") repeated
by one ticker for every running job; the clip with `sendAudio`, its caption corrected if the
capture differed from the estimate.

What is kept here (message ids, captions) is cosmetic: after a restart a job simply gets a fresh
status message. Money never depends on it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from telegram import InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from adapters.chat.jobs import Recent
from adapters.chat.messages import Reply, joined
from adapters.chat.platform import ClipMessage, JobStatus
from adapters.telegram.bot import LeanBot
from adapters.telegram.replies import Replies
from core.domain.generation import GeneratedClip
from core.domain.jobs import Delivered, Job, Stage

logger = logging.getLogger(__name__)

ACTING_AT_MOST_SECONDS = 1800.0  # longer than any job may run (deadline + delivery)
STOP_GRACE_SECONDS = 5.0  # at shutdown, sends under way (an upload) may finish this long
ACTIONS = {Stage.STARTED: ChatAction.RECORD_VOICE, Stage.GENERATING: ChatAction.RECORD_VOICE}


class TelegramJobs:
    def __init__(self, bot: LeanBot, replies: Replies, action_interval: float) -> None:
        self.bot = bot
        self.replies = replies
        self.action_interval = action_interval
        self._ready = asyncio.Event()  # the bot is initialised and may send
        self._stopped = False  # the platform stopped: cosmetic updates are dropped at once
        self._in_flight = 0  # sends under way (stop lets them finish)
        self._idle = asyncio.Event()
        self._idle.set()
        self._status: Recent[int] = Recent()  # job id → status message id
        self._captions: Recent[tuple[int, int, str, str, InlineKeyboardMarkup | None]] = Recent()
        self._acting: dict[str, tuple[int, str, float]] = {}  # job id → (chat, action, since)
        self._ticker: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._stopped = False
        self._ready.set()
        self._ticker = asyncio.create_task(self._repeat_chat_actions(), name="telegram-chat-actions")

    async def stop(self) -> None:
        """New status updates are dropped; sends already under way may finish (briefly)."""
        self._stopped = True
        self._ready.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), STOP_GRACE_SECONDS)
        tasks = [t for t in [self._ticker, *self._side_tasks] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._ticker = None

    # --- the status message ---------------------------------------------------------------------

    async def show_status(self, status: JobStatus) -> None:
        job = status.job
        if status.final:
            self._acting.pop(job.job_id, None)
        elif status.stage == Stage.DELIVERING:
            self._act(job, ChatAction.UPLOAD_VOICE)
        elif status.stage in ACTIONS:  # not while queued: the queue may be long
            self._act(job, ACTIONS[status.stage])
        if self._stopped:
            return  # shutting down: the status is cosmetic, the job's row is what counts
        async with self._sending():
            await asyncio.wait_for(self._ready.wait(), timeout=60)
            # A delivered clip's "Done" only edits a status message there is.
            await self._show(job, status.reply, create=status.charge is None)
            if status.charge is not None:
                await self._fix_caption(job, status.charge)

    async def _show(self, job: Job, reply: Reply, *, create: bool) -> None:
        chat_id = int(job.reply_to["chat_id"])
        markup = self.replies.keyboard(reply.rows)
        message_id = self._status.get(job.job_id) or job.reply_to.get("status_message_id")
        if message_id is not None:
            try:
                await self.bot.edit_text(chat_id, message_id, reply.text, reply_markup=markup)
                return
            except BadRequest as error:
                if "not modified" in str(error).lower() or not create:
                    return
                logger.info("job %s: status message not editable (%s); sending a new one", job.job_id, error)
        elif not create:
            return
        sent = await self.bot.send_message_id(
            chat_id, reply.text, reply_to_message_id=_quoted_id(job), reply_markup=markup
        )
        self._status.put(job.job_id, sent)

    # --- the clip -------------------------------------------------------------------------------

    async def send_clip(self, job: Job, clip: GeneratedClip, message: ClipMessage) -> Delivered | bool:
        # Not started yet (a job resumed at start-up): wait. Stopped: wait to be cancelled, so
        # the job stays "delivering" and is delivered after the restart instead of failing.
        await self._ready.wait()
        markup = self.replies.keyboard(message.rows)
        voice = clip.format == "ogg"  # speech: a voice message, played in place
        async with self._sending():
            try:
                sent: Message
                if voice:
                    sent = await self.bot.send_voice(
                        chat_id=int(job.reply_to["chat_id"]),
                        voice=clip.audio,
                        filename=message.filename,
                        caption=joined(message.charge, message.note),
                        reply_markup=markup,
                        reply_parameters=_quoting(job),
                        write_timeout=120,
                    )
                else:
                    sent = await self.bot.send_audio(
                        chat_id=int(job.reply_to["chat_id"]),
                        audio=clip.audio,
                        filename=message.filename,
                        title=message.title,
                        performer=message.performer,
                        duration=int(round(clip.seconds)),
                        caption=joined(message.charge, message.note),
                        reply_markup=markup,
                        reply_parameters=_quoting(job),
                        write_timeout=120,
                    )
            except TelegramError as error:
                logger.warning("job %s: %s refused: %s", job.job_id, "sendVoice" if voice else "sendAudio", error)
                return False
        self._captions.put(job.job_id, (sent.chat_id, sent.message_id, message.charge, message.note, markup))
        if voice:  # a voice note is not shared (the Share picker sends audio files)
            return Delivered()
        # The file id, stored with the job, lets the Share picker send the clip again without
        # uploading it, also after a restart.
        return Delivered(ref=sent.audio.file_id if sent.audio is not None else None)

    async def _fix_caption(self, job: Job, charge: str) -> None:
        """The caption was written before the capture; correct it if the capture differed."""
        sent = self._captions.pop(job.job_id, None)
        if sent is None or sent[2] == charge:
            return
        chat_id, message_id, _, note, markup = sent
        with contextlib.suppress(TelegramError):
            await self.bot.edit_message_caption(
                chat_id=chat_id, message_id=message_id, caption=joined(charge, note), reply_markup=markup
            )

    async def send_after(self, job: Job, reply: Reply) -> None:
        if not self._stopped:
            async with self._sending():
                await self.replies.send(int(job.reply_to["chat_id"]), reply)

    # --- the chat action ------------------------------------------------------------------------

    def _act(self, job: Job, action: str) -> None:
        chat_id = int(job.reply_to["chat_id"])
        if self._acting.get(job.job_id, (None, None, 0.0))[:2] == (chat_id, action):
            return
        self._acting[job.job_id] = (chat_id, action, time.monotonic())
        if self._ready.is_set():  # show it at once; the ticker repeats it
            task = asyncio.create_task(self._send_actions({(chat_id, action)}))
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)

    async def _repeat_chat_actions(self) -> None:
        while True:
            await asyncio.sleep(self.action_interval)
            # A job ended elsewhere (another process took it over) is forgotten after a while.
            too_old = time.monotonic() - ACTING_AT_MOST_SECONDS
            for job_id in [j for j, (_, _, since) in self._acting.items() if since < too_old]:
                del self._acting[job_id]
            if self._acting:
                await self._send_actions({(chat, action) for chat, action, _ in self._acting.values()})

    async def _send_actions(self, actions: set[tuple[int, str]]) -> None:
        async def one(chat_id: int, action: str) -> None:
            try:
                await self.bot.send_chat_action(chat_id, action)
            except TelegramError as error:  # cosmetic: never worth more than a debug line
                logger.debug("chat action to %s failed: %s", chat_id, error)

        await asyncio.gather(*(one(c, a) for c, a in actions))

    @contextlib.asynccontextmanager
    async def _sending(self) -> AsyncIterator[None]:
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()


def _quoted_id(job: Job) -> int | None:
    """The job's messages quote what it was asked from (the recording, or the clip pressed)."""
    reply_to = job.reply_to.get("reply_to_message_id")
    return int(str(reply_to)) if reply_to else None


def _quoting(job: Job) -> ReplyParameters | None:
    quoted = _quoted_id(job)
    return ReplyParameters(quoted, allow_sending_without_reply=True) if quoted is not None else None
