"""The job notices, written once: core's `JobNotifier` for every platform. Each job has one
status message (queued → starting → generating → uploading → done or failed, with Cancel while it
can be canceled) that never goes back to an earlier stage when a late queue update races a
worker's step; the clip with Again / Other style / Longer / Share; the offer when the job left
the balance low. The platform the job came from shows them (`ChatPlatform`).

What is kept here (stages shown, headers) is cosmetic: after a restart a job simply carries on
with a plain header. Money never depends on it."""

from __future__ import annotations

import asyncio
import collections
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from adapters.chat.actions import Verb, owned
from adapters.chat.catalogue import plural
from adapters.chat.messages import Button, Control, Reply, Request, ShareButton, Surface, joined
from adapters.chat.offers import Offers
from adapters.chat.platform import ClipMessage, JobStatus, Platforms
from adapters.chat.words import Words
from core.domain.generation import GeneratedClip
from core.domain.identity import Identity
from core.domain.jobs import Delivered, Job, JobProgress, Stage
from core.domain.ledger import Balance
from core.domain.offers import Offer
from core.domain.operations import OperationName
from core.domain.pricing import Pricing
from core.errors import BotError, DeliveryFailed, JobCanceled
from core.services.generation import Accepted

logger = logging.getLogger(__name__)

RANK = {Stage.QUEUED: 1, Stage.STARTED: 2, Stage.GENERATING: 3, Stage.DELIVERING: 4}
DONE = 5
MAX_REMEMBERED = 10_000
_SLUG = re.compile(r"[^a-z0-9]+")

V = TypeVar("V")


class Recent(collections.OrderedDict[str, V], Generic[V]):
    """A dict that forgets its oldest entries past `MAX_REMEMBERED`."""

    def put(self, key: str, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > MAX_REMEMBERED:
            self.popitem(last=False)


class JobNotices:
    def __init__(
        self,
        platforms: Platforms,
        words: Words,
        offers: Offers,
        pricing: Pricing,
        available: Callable[[int], Awaitable[Balance]],
        *,
        voices: tuple[str, ...] = ("female", "male"),
        voice_tag_cost: int = 1,
        prompt_pricing: Pricing | None = None,
        celebrate: Callable[[Job, str | None], Awaitable[str]] | None = None,
    ) -> None:
        self.platforms = platforms
        # What a delivered clip achieved, in words (awarded first): shown with "Done!", so it
        # is never a message of its own racing the person's next command.
        self.celebrate = celebrate
        self.words = words
        self.offers = offers
        self.pricing = pricing
        self.available = available  # a wallet's balance, by wallet id
        self.voices = voices  # offered under a spoken text
        self.voice_tag_cost = voice_tag_cost
        self.prompt_pricing = prompt_pricing or pricing  # "Longer" under music made from words
        self._rank: Recent[int] = Recent()
        self._locks: Recent[asyncio.Lock] = Recent()
        self._heads: Recent[str] = Recent()

    # --- right after a job was accepted ----------------------------------------------------

    async def accepted(self, accepted: Accepted, request: Request, prefix: str = "") -> None:
        """The status shows the queue or the start, under a header that names the cost and what
        is left to use (and the welcome on a first contact)."""
        job = accepted.job
        left = self.words.t(request, "status_left", available=max(accepted.balance.available, 0))
        self._heads.put(job.job_id, joined(prefix, self._status_head(request, job) + left))
        stage = Stage.QUEUED if accepted.queue_position is not None else Stage.STARTED
        await self.progress(job, JobProgress(stage, accepted.queue_position))

    # --- JobNotifier ---------------------------------------------------------------------------

    async def progress(self, job: Job, progress: JobProgress) -> None:
        platform = self.platforms.get(job.platform)
        if platform is None:
            return
        locale = locale_of(job)
        rows: tuple[tuple[Control, ...], ...] = ()
        if progress.stage != Stage.DELIVERING:
            cancel = Button(self.words.t(locale, "button.cancel"), owned(Verb.CANCEL, _owner(job), job.job_id))
            rows = ((cancel,),)
        text = joined(self._head(job), self._stage_line(job, progress, locale))
        await self._show(JobStatus(job, Reply(text, rows), progress.stage), RANK[progress.stage])

    async def deliver(self, job: Job, clip: GeneratedClip) -> bool | Delivered:
        platform = await self.platforms.wait_for(job.platform)
        if platform is None:
            logger.error("job %s: no platform %s to deliver to", job.job_id, job.platform)
            return False
        locale = locale_of(job)
        balance = await self.available(job.wallet_id)  # the credits are held already: this is what is left
        note = self.words.t(locale, "clip_resent") if clip.resent else ""
        message = ClipMessage(
            caption=joined(self.words.t(locale, _keyed("clip_caption", job), **self._about(locale, job)), note),
            note=note,
            charge=self.words.charged(locale, job.cost, max(balance.available, 0)),
            title=self.words.t(locale, _keyed("clip_title", job), **self._about(locale, job, title=True)),
            performer=self.words.t(locale, "clip_performer"),
            filename=clip_filename(job, clip.format),
            rows=self._clip_rows(job, locale),
        )
        return await platform.send_clip(job, clip, message)

    async def finished(self, job: Job, charged: int, balance: Balance, offer: Offer | None) -> None:
        platform = self.platforms.get(job.platform)
        if platform is None:
            return
        locale = locale_of(job)
        charge = self.words.charged(locale, charged, max(balance.available, 0))
        text = joined(self.words.t(locale, "done", charge=charge), await self._celebrated(job, locale))
        await self._show(JobStatus(job, Reply(text), None, charge), DONE)
        self._forget(job)
        if offer is not None:
            await platform.send_after(job, self.offers.offer(self._audience(job, platform.surface), offer))

    async def failed(self, job: Job, error: BotError, balance: Balance) -> None:
        platform = self.platforms.get(job.platform)
        if platform is None:
            return
        locale = locale_of(job)
        text = joined(
            f"{self.words.error(locale, error)} {self.words.not_charged(locale, job.cost)}",
            self.words.t(locale, "you_have", available=max(balance.available, 0)),
        )
        rows: tuple[tuple[Control, ...], ...] = ()
        if not isinstance(error, JobCanceled | DeliveryFailed):
            retry = Button(self.words.t(locale, "button.try_again"), owned(Verb.AGAIN, _owner(job), job.job_id))
            rows = ((retry,),)
        await self._show(JobStatus(job, Reply(text, rows)), DONE)
        self._forget(job)

    # --- helpers -------------------------------------------------------------------------------

    async def _celebrated(self, job: Job, locale: str | None) -> str:
        if self.celebrate is None:
            return ""
        try:
            return await self.celebrate(job, locale)
        except Exception:  # noqa: BLE001 - progress never spoils a delivered clip's notice
            logger.warning("progress check after job %s failed", job.job_id, exc_info=True)
            return ""

    async def _show(self, status: JobStatus, rank: int) -> None:
        """Show `status` unless a later stage is on screen already (or the outcome is)."""
        platform = self.platforms.get(status.job.platform)
        if platform is None:
            return
        job_id = status.job.job_id
        lock = self._locks.get(job_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks.put(job_id, lock)
        async with lock:
            shown = self._rank.get(job_id, 0)
            if rank < shown or (rank == DONE and shown == DONE):
                return
            self._rank.put(job_id, rank)
            await platform.show_status(status)

    def _head(self, job: Job) -> str:
        """The header the job was accepted with; after a restart, a plain one."""
        head = self._heads.get(job.job_id)
        return head if head is not None else self._status_head(locale_of(job), job)

    def _status_head(self, request: Request | str | None, job: Job) -> str:
        """'🎵 warm piano · 10 s · 2 credits held' (or what speech, a voice tag, holds)."""
        locale = request.locale if isinstance(request, Request) else request
        return self.words.t(
            request, _keyed("status_head", job), cost=job.cost, plural=plural(job.cost), **self._about(locale, job)
        )

    def _about(self, locale: str | None, job: Job, *, title: bool = False) -> dict[str, object]:
        """What the words of a job's messages name: its style, length, voice, text."""
        style = job.style.capitalize() if title else job.style
        voice = self.words.t(locale, f"voice.{job.voice}") if job.voice else ""
        return {
            "style": style,
            "seconds": job.seconds,
            "voice": voice,
            "text": job.text or "",
            "chars": len(job.text or ""),
        }

    def _stage_line(self, job: Job, progress: JobProgress, locale: str | None) -> str:
        if progress.stage == Stage.QUEUED:
            eta = ""
            if progress.eta_seconds is not None:
                eta = self.words.t(locale, "gen_eta_part", minutes=max(1, round(progress.eta_seconds / 60)))
            return self.words.t(locale, "gen_progress.queued", position=progress.position or 1, eta_part=eta)
        key = f"gen_progress.{progress.stage.value}"
        if progress.stage != Stage.DELIVERING:
            key = _keyed(key, job)
        return self.words.t(locale, key, **self._about(locale, job))

    def _clip_rows(self, job: Job, locale: str | None) -> tuple[tuple[Control, ...], ...]:
        owner = _owner(job)
        if job.operation == OperationName.SPEECH:  # the same text in each other voice, with its cost
            voices = tuple(
                Button(
                    self.words.t(locale, "button.voice", voice=self.words.t(locale, f"voice.{key}"), credits=job.cost),
                    owned(Verb.VOICE, owner, job.job_id, key),
                )
                for key in self.voices
                if key != job.voice
            )
            return (voices,) if voices else ()
        share = ShareButton(self.words.t(locale, "button.share"), job.job_id, owned(Verb.SHARE, owner, job.job_id))
        if job.operation == OperationName.VOICE_TAG:
            return ((share,),)
        first: list[Control] = [
            Button(self.words.t(locale, "button.again"), owned(Verb.AGAIN, owner, job.job_id)),
            Button(self.words.t(locale, "button.other_style"), owned(Verb.STYLES, owner, job.job_id)),
        ]
        table = self.prompt_pricing if job.operation == OperationName.PROMPT else self.pricing
        longer = [s for s in table.lengths if s > job.seconds]
        if longer:
            label = self.words.t(locale, "button.longer", seconds=longer[0])
            first.append(Button(label, owned(Verb.LONGER, owner, job.job_id, longer[0])))
        tag = Button(
            self.words.t(locale, "button.voice_tag", credits=self.voice_tag_cost), owned(Verb.TAG, owner, job.job_id)
        )
        return (tuple(first), (tag, share))

    def _audience(self, job: Job, surface: Surface) -> Request:
        """The person a job notice is for, as a request (offers are worded per request)."""
        return Request(Identity.parse(job.identity), surface, f"job:{job.job_id}", locale=locale_of(job))

    def _forget(self, job: Job) -> None:
        self._heads.pop(job.job_id, None)
        self._locks.pop(job.job_id, None)


def _keyed(key: str, job: Job) -> str:
    """The catalogue key of a message about `job`: speech and voice tags have their own words;
    both kinds of music share music's."""
    if job.operation in (OperationName.SPEECH, OperationName.VOICE_TAG):
        return f"{key}.{job.operation}"
    return key


def clip_filename(job: Job, fmt: str) -> str:
    slug = _SLUG.sub("-", job.style.lower()).strip("-")[:40] or "clip"
    return f"{slug}-{job.seconds}s-{job.job_id}.{fmt}"


def locale_of(job: Job) -> str | None:
    """The language of the person a job is for (None: the default)."""
    locale = job.reply_to.get("locale")
    return str(locale) if locale else None


def _owner(job: Job) -> str:
    """The buttons of a job belong to the identity that asked for it."""
    return Identity.parse(job.identity).user_id
