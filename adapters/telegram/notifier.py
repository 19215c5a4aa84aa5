"""`JobNotifier` for Telegram: the status message, the chat action, the clip, the outcome.

Each job has one status message (the keyboard message it was started from, or one sent on the
first update) that is edited queued → generating → uploading → done/failed; it never goes
backwards when a late queue update races a worker's step. While a job runs its chat shows
"recording a voice…" / "sending a voice…", repeated by one ticker for every running job.

State kept here (message ids, what was shown) is only cosmetic: after a restart a job simply
gets a fresh status message. Money never depends on it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from adapters.chat.catalogue import plural
from adapters.telegram.keyboards import Keyboards
from adapters.telegram.offers import offer_message
from core.domain.generation import GeneratedClip
from core.domain.identity import Identity
from core.domain.jobs import Delivered, Job, JobProgress, Stage
from core.domain.ledger import Balance
from core.domain.offers import Offer
from core.errors import BotError, DeliveryFailed, JobCanceled

if TYPE_CHECKING:
    from adapters.telegram.deps import Deps
    from core.services.generation import Accepted

logger = logging.getLogger(__name__)

RANK = {Stage.QUEUED: 1, Stage.STARTED: 2, Stage.GENERATING: 3, Stage.DELIVERING: 4}
DONE = 5
MAX_REMEMBERED = 10_000
ACTING_AT_MOST_SECONDS = 1800.0  # longer than any job may run (deadline + delivery)
STOP_GRACE_SECONDS = 5.0  # at shutdown, sends under way (an upload) may finish this long
_FILENAME = re.compile(r"[^a-z0-9]+")


class _Lru(collections.OrderedDict[str, Any]):
    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > MAX_REMEMBERED:
            self.popitem(last=False)


class TelegramNotifier:
    def __init__(self) -> None:
        self.deps: Deps | None = None  # set by `build_application`
        self.keyboards: Keyboards | None = None
        self.bot: Any = None
        self._ready = asyncio.Event()  # the bot is initialised and may send
        self._stopped = False  # the adapter stopped: cosmetic updates are dropped at once
        self._in_flight = 0  # calls sending right now (stop lets them finish)
        self._idle = asyncio.Event()
        self._idle.set()
        self._locks = _Lru()  # job id → lock of its status message
        self._status = _Lru()  # job id → status message id
        self._rank = _Lru()  # job id → the furthest stage shown
        self._captions = _Lru()  # job id → (chat id, message id, caption, markup)
        self._acting: dict[str, tuple[int, str, float]] = {}  # job id → (chat, action, since)
        self._ticker: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[Any]] = set()

    # --- lifecycle (the runner) ---------------------------------------------------------------

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

    # --- called by the generate handlers -----------------------------------------------------

    async def accepted(self, accepted: Accepted) -> None:
        """Right after a job was accepted: the status message shows the queue or the start."""
        job = accepted.job
        if accepted.queue_position is not None:
            await self.progress(job, JobProgress(Stage.QUEUED, accepted.queue_position))
        else:
            await self.progress(job, JobProgress(Stage.STARTED))

    # --- JobNotifier --------------------------------------------------------------------------

    async def progress(self, job: Job, progress: JobProgress) -> None:
        if self._stopped:
            return
        async with self._sending():
            await self._progress(job, progress)

    async def _progress(self, job: Job, progress: JobProgress) -> None:
        deps, kb, locale = self._parts(job)
        line = deps.generation_text.progress(job, progress, locale)
        markup = None if progress.stage == Stage.DELIVERING else kb.cancel(self._owner(job), job.job_id, locale)
        # While it runs (not while queued: the queue may be long) the chat shows the bot busy.
        if progress.stage == Stage.DELIVERING:
            self._act(job, ChatAction.UPLOAD_VOICE)
        elif progress.stage != Stage.QUEUED:
            self._act(job, ChatAction.RECORD_VOICE)
        await self._show(job, RANK[progress.stage], f"{self._head(job)}\n{line}", markup)

    async def deliver(self, job: Job, clip: GeneratedClip) -> bool | Delivered:
        # Not started yet (a job resumed at start-up): wait. Stopped: wait to be cancelled, so
        # the job stays "delivering" and is delivered after the restart instead of failing.
        await self._ready.wait()
        async with self._sending():
            return await self._deliver(job, clip)

    async def _deliver(self, job: Job, clip: GeneratedClip) -> bool | Delivered:
        deps, kb, locale = self._parts(job)
        available = await self._available_after(job)
        caption = self._caption(job, job.cost, available)
        markup = kb.result(self._owner(job), job.job_id, job.seconds, deps.services.rules.pricing, locale)
        title = deps.t("tg.audio_title", locale, style=job.style.capitalize(), seconds=job.seconds)
        reply_to = job.reply_to.get("reply_to_message_id")
        try:
            message: Message = await self.bot.send_audio(
                chat_id=job.reply_to["chat_id"],
                audio=clip.audio,
                filename=f"{_slug(job.style)}-{job.seconds}s.{clip.format}",
                title=title,
                performer=deps.t("tg.audio_performer", locale),
                duration=int(round(clip.seconds)),
                caption=caption,
                reply_markup=markup,
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None,
                write_timeout=120,
            )
        except TelegramError as error:
            logger.warning("job %s: sendAudio refused: %s", job.job_id, error)
            return False
        self._captions.put(job.job_id, (message.chat_id, message.message_id, caption, markup))
        # The file id, stored with the job, lets the Share button's inline query send the clip
        # again without uploading it, also after a restart.
        return Delivered(ref=message.audio.file_id if message.audio is not None else None)

    async def finished(self, job: Job, charged: int, balance: Balance, offer: Offer | None) -> None:
        self._stop_acting(job)
        if self._stopped:
            return
        async with self._sending():
            await self._finished(job, charged, balance, offer)

    async def _finished(self, job: Job, charged: int, balance: Balance, offer: Offer | None) -> None:
        deps, kb, locale = self._parts(job)
        await self._show(job, DONE, deps.t("tg.done", locale), None, create=False)
        await self._fix_caption(job, charged, max(balance.available, 0))
        if offer is not None:
            text, markup = offer_message(deps, kb, self._owner(job), offer, locale)
            await self.bot.send_message(job.reply_to["chat_id"], text, reply_markup=markup)
        self._forget(job)

    async def failed(self, job: Job, error: BotError, balance: Balance) -> None:
        self._stop_acting(job)
        if self._stopped:
            return
        async with self._sending():
            await self._failed(job, error, balance)

    async def _failed(self, job: Job, error: BotError, balance: Balance) -> None:
        deps, kb, locale = self._parts(job)
        text = "\n".join(
            [
                deps.generation_text.failed(job, error, locale),
                deps.t("tg.you_have", locale, available=max(balance.available, 0)),
            ]
        )
        retry = not isinstance(error, JobCanceled | DeliveryFailed)
        markup = kb.try_again(self._owner(job), job.job_id, locale) if retry else None
        await self._show(job, DONE, text, markup)
        self._forget(job)

    # --- the status message -------------------------------------------------------------------

    async def _show(
        self,
        job: Job,
        rank: int,
        text: str,
        markup: InlineKeyboardMarkup | None,
        *,
        create: bool = True,
    ) -> None:
        """Edit (or first send) the job's status message, never going back to an earlier stage."""
        if self._stopped:
            return  # shutting down: the status is cosmetic, the job's row is what counts
        await asyncio.wait_for(self._ready.wait(), timeout=60)
        lock = self._locks.get(job.job_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks.put(job.job_id, lock)
        async with lock:
            shown = self._rank.get(job.job_id, 0)
            if rank < shown or (rank == DONE and shown == DONE):
                return
            self._rank.put(job.job_id, rank)
            chat_id = job.reply_to["chat_id"]
            message_id = self._status.get(job.job_id) or job.reply_to.get("status_message_id")
            if message_id is not None:
                try:
                    await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
                    return
                except BadRequest as error:
                    if "not modified" in str(error).lower():
                        return
                    if not create:
                        return
                    logger.info(
                        "job %s: status message not editable (%s); sending a new one",
                        job.job_id,
                        error,
                    )
            elif not create:
                return
            reply_to = job.reply_to.get("reply_to_message_id")
            sent = await self.bot.send_message(
                chat_id,
                text,
                reply_markup=markup,
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None,
            )
            self._status.put(job.job_id, sent.message_id)

    async def _fix_caption(self, job: Job, charged: int, available: int) -> None:
        """The caption was written before the capture; correct it if the capture differed."""
        sent = self._captions.get(job.job_id)
        if sent is None or self._stopped:
            return
        chat_id, message_id, caption, markup = sent
        actual = self._caption(job, charged, available)
        if actual != caption:
            with contextlib.suppress(TelegramError):
                await self.bot.edit_message_caption(
                    chat_id=chat_id, message_id=message_id, caption=actual, reply_markup=markup
                )

    def _caption(self, job: Job, charged: int, available: int) -> str:
        deps, _, locale = self._parts(job)
        if charged:
            return deps.t("gen_charged", locale, charged=charged, plural=plural(charged), available=available)
        return deps.t("gen_charged_nothing", locale, available=available)

    def _head(self, job: Job) -> str:
        deps, _, locale = self._parts(job)
        return deps.t(
            "tg.status_head",
            locale,
            style=job.style,
            seconds=job.seconds,
            cost=job.cost,
            plural=plural(job.cost),
        )

    async def _available_after(self, job: Job) -> int:
        """What the person will have once this job is charged (its credits are already held)."""
        deps, _, _ = self._parts(job)
        generation = deps.services.generation
        assert generation is not None
        quote = await generation.quote(Identity.parse(job.identity), job.seconds)
        return quote.available

    # --- the chat action ----------------------------------------------------------------------

    def _act(self, job: Job, action: str) -> None:
        chat_id = int(job.reply_to["chat_id"])
        if self._acting.get(job.job_id, (None, None, 0.0))[:2] == (chat_id, action):
            return
        self._acting[job.job_id] = (chat_id, action, time.monotonic())
        if self._ready.is_set():  # show it at once; the ticker repeats it
            task = asyncio.create_task(self._send_actions({(chat_id, action)}))
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)

    def _stop_acting(self, job: Job) -> None:
        self._acting.pop(job.job_id, None)

    async def _repeat_chat_actions(self) -> None:
        assert self.deps is not None
        while True:
            await asyncio.sleep(self.deps.config.chat_action_interval)
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

    # --- helpers ------------------------------------------------------------------------------

    def _parts(self, job: Job) -> tuple[Deps, Keyboards, str | None]:
        assert self.deps is not None and self.keyboards is not None
        return self.deps, self.keyboards, job.reply_to.get("locale")

    @staticmethod
    def _owner(job: Job) -> int:
        return int(job.reply_to.get("user_id") or Identity.parse(job.identity).user_id)

    def _forget(self, job: Job) -> None:
        self._acting.pop(job.job_id, None)


def _slug(style: str) -> str:
    return _FILENAME.sub("-", style.lower()).strip("-") or "clip"
