"""Generation use cases: submit, "again", cancel and the person's jobs.

The API the chat adapters call. The money rule: everything is validated (length, style, audio)
before `cost` credits are held for a new job; the hold is captured only after the adapter's
notifier reports the clip delivered, and released on any failure, cancel or deadline (the
`JobRunner` does that part). Adapters:

    service = GenerationService(..., notifier=chat_notices)
    await service.start()                               # resume unfinished jobs, run workers
    accepted = await service.submit(identity, audio, "warm piano", 10, platform="telegram",
                                    reply_to={"chat_id": 1, "message_id": 2}, request_id=update_id)
    await service.cancel(identity, job_id)
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from core.domain.generation import PredictionStatus, PreparedClip
from core.domain.identity import Identity, Person
from core.domain.jobs import CANCELABLE, Job, JobState, JobView, NewJob, new_job_id
from core.domain.ledger import Balance
from core.domain.operations import OperationName, OperationPrices
from core.domain.operations import operation as operation_of
from core.domain.prompts import PromptPolicy
from core.domain.rules import CreditRules
from core.domain.speech import SpeechPolicy
from core.errors import (
    ClipExpired,
    ClipOnItsWay,
    InsufficientCredits,
    JobCanceled,
    JobFinished,
    JobNotCancelable,
    JobNotFound,
    NotTaggable,
    WalletFrozen,
)
from core.ports import AudioIntake, Clock, JobNotifier, JobStore, LedgerStore, MusicGenerator
from core.services.job_runner import CaptureHook, GenerationSettings, JobRunner, SuccessHook
from core.services.offers import OfferService
from core.services.wallets import WalletService

logger = logging.getLogger(__name__)

__all__ = ["Accepted", "Canceled", "GenerationService", "GenerationSettings"]


def speech_seconds(text: str) -> int:
    """About how long `text` takes to say (~15 characters a second): the clip's shown length."""
    return max(1, -(-len(text) // 15))


def new_seed() -> int:
    return secrets.randbelow(2**31 - 1)


@dataclass(frozen=True)
class Accepted:
    job: Job
    cost: int
    balance: Balance  # after the hold
    queue_position: int | None  # None once a worker has already taken it
    duplicate: bool = False  # the same request id again: this is the first request's job

    @property
    def job_id(self) -> str:
        return self.job.job_id


@dataclass(frozen=True)
class Canceled:
    job: Job
    released: int
    balance: Balance


class GenerationService:
    def __init__(
        self,
        *,
        store: JobStore,
        ledger: LedgerStore,
        wallets: WalletService,
        intake: AudioIntake,
        generator: MusicGenerator,
        rules: CreditRules,
        clock: Clock,
        settings: GenerationSettings | None = None,
        prompts: PromptPolicy | None = None,
        ids: Callable[[], str] = new_job_id,
        seeds: Callable[[], int] = new_seed,
        on_success: SuccessHook | None = None,
        intake_executor: Executor | None = None,
        notifier: JobNotifier | None = None,
        offers: OfferService | None = None,
        prices: OperationPrices | None = None,
        speech: SpeechPolicy | None = None,
        providers: Mapping[str, MusicGenerator] | None = None,
        after_capture: CaptureHook | None = None,
    ) -> None:
        self.store = store
        self.intake_executor = intake_executor
        self.ledger = ledger
        self.wallets = wallets
        self.intake = intake
        self.rules = rules
        self.clock = clock
        self.settings = settings or GenerationSettings()
        self.prompts = prompts or PromptPolicy()
        self.prices = prices or OperationPrices(music=rules.pricing, prompt=rules.pricing)
        self.speech = speech or SpeechPolicy()
        self.ids = ids
        self.seeds = seeds
        self.runner = JobRunner(
            store=store,
            ledger=ledger,
            generator=generator,
            rules=rules,
            clock=clock,
            settings=self.settings,
            on_success=on_success,
            offers=offers,
            notifier=notifier,
            providers=providers,
            after_capture=after_capture,
        )
        self._intake_slots = asyncio.Semaphore(self.settings.intake_workers)

    # --- lifecycle (delegated to the runner) ------------------------------------------------

    async def start(self) -> None:
        """Resume or resolve every unfinished job, then run the dispatcher and the sweep."""
        await self.runner.start()

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Let jobs in flight finish for a while (setting), then leave the rest to `resume()`."""
        await self.runner.stop(grace_seconds)

    async def resume(self) -> list[str]:
        return await self.runner.resume()

    async def sweep(self) -> None:
        await self.runner.sweep()

    async def on_prediction_update(self, status: PredictionStatus) -> bool:
        """A verified Replicate webhook (`POST /webhooks/replicate`): applied once, whichever of
        webhook or poller comes first. False for an unknown prediction or a repeat."""
        return await self.runner.on_prediction_update(status)

    # --- the use cases the chat adapters call ------------------------------------------------

    async def submit(
        self,
        identity: Identity,
        audio: bytes,
        style: str,
        seconds: object,
        *,
        platform: str,
        reply_to: Mapping[str, Any],
        request_id: str,
        max_input_bytes: int | None = None,
    ) -> Accepted:
        """Validate everything (length, style, audio) before holding `cost` credits for a new job.

        Raises `InvalidLength`, `InvalidStyle`, `PromptBlocked`, an `AudioRejected` subclass,
        `InsufficientCredits(required, available)` or `WalletFrozen`; none of them holds or
        changes anything. The same `request_id` again returns the first job (`duplicate`).
        """
        cost = self.rules.pricing.cost_for(seconds)
        length = self.rules.pricing.parse_length(seconds)
        clean_style = self.prompts.clean(style)
        person = await self.wallets.person(identity)
        request_key = f"{identity.key}:{request_id}"
        existing = await self.store.find_by_request(request_key)
        if existing is not None:
            return await self._accepted_again(existing)
        await self._refuse_unaffordable(person, cost)  # before the CPU work of the intake
        limit = min(max_input_bytes or self.settings.max_input_bytes, self.settings.max_input_bytes)
        clip = await self._prepare(audio, limit)
        return await self._create(identity, person, clip, clean_style, length, cost, platform, reply_to, request_key)

    async def again(
        self,
        identity: Identity,
        source_job_id: str,
        *,
        style: str | None = None,
        seconds: object = None,
        platform: str,
        reply_to: Mapping[str, Any],
        request_id: str,
    ) -> Accepted:
        """'Again' / 'Other style' / 'Longer': a new job on the input clip of one of the person's
        jobs (kept for `input_retention`; `ClipExpired` after that)."""
        person = await self.wallets.person(identity)
        source = await self._own_job(person, source_job_id)
        if source.operation == OperationName.SPEECH:
            return await self.say(
                identity,
                source.text or "",
                voice=source.voice if style is None else style,
                platform=platform,
                reply_to=reply_to,
                request_id=request_id,
            )
        if source.operation == OperationName.VOICE_TAG and source.source_job_id is not None:
            tagged = source.source_job_id
            return await self.tag(
                identity,
                tagged,
                source.text or "",
                voice=source.voice,
                platform=platform,
                reply_to=reply_to,
                request_id=request_id,
            )
        length_asked = source.seconds if seconds is None else seconds
        if source.operation == OperationName.PROMPT:
            return await self.describe(
                identity,
                source.style if style is None else style,
                length_asked,
                platform=platform,
                reply_to=reply_to,
                request_id=request_id,
            )
        cost = self.rules.pricing.cost_for(length_asked)
        length = self.rules.pricing.parse_length(length_asked)
        clean_style = self.prompts.clean(source.style if style is None else style)
        request_key = f"{identity.key}:{request_id}"
        existing = await self.store.find_by_request(request_key)
        if existing is not None:
            return await self._accepted_again(existing)
        clip = await self.store.clip(source.job_id)
        if clip is None:
            raise ClipExpired(source.job_id)
        return await self._create(
            identity,
            person,
            clip,
            clean_style,
            length,
            cost,
            platform,
            reply_to,
            request_key,
            source.job_id,
        )

    async def describe(
        self,
        identity: Identity,
        description: str,
        seconds: object,
        *,
        platform: str,
        reply_to: Mapping[str, Any],
        request_id: str,
    ) -> Accepted:
        """Music from words alone: the description is the style; priced on its own table."""
        table = self.prices.prompt
        cost = table.cost_for(seconds)
        length = table.parse_length(seconds)
        clean = self.prompts.clean(description)
        return await self._start(
            identity, request_id, cost, platform, reply_to, style=clean, seconds=length, operation=OperationName.PROMPT
        )

    async def say(
        self,
        identity: Identity,
        text: str,
        *,
        voice: str | None = None,
        platform: str,
        reply_to: Mapping[str, Any],
        request_id: str,
    ) -> Accepted:
        """Speech: `text` in `voice`, priced by its characters. Refused before anything is held:
        `EmptyText`, `TextTooLong`, `ControlCharacters`, `UnspeakableText`, `UnknownVoice`."""
        spoken_voice = self.speech.voice(voice).key
        spoken = self.speech.clean(text, spoken_voice)
        return await self._start(
            identity,
            request_id,
            self.prices.speech.cost(spoken),
            platform,
            reply_to,
            style=spoken_voice,
            seconds=speech_seconds(spoken),
            operation=OperationName.SPEECH,
            text=spoken,
            voice=spoken_voice,
        )

    async def tag(
        self,
        identity: Identity,
        source_job_id: str,
        text: str,
        *,
        voice: str | None = None,
        platform: str,
        reply_to: Mapping[str, Any],
        request_id: str,
    ) -> Accepted:
        """A voice tag: one of the person's delivered music clips, `text` spoken over its start.
        A flat price; `NotTaggable` when the clip is not delivered music or no longer kept."""
        spoken_voice = self.speech.voice(voice).key
        spoken = self.speech.clean(text, spoken_voice, max_chars=self.speech.max_tag_chars)
        person = await self.wallets.person(identity)
        source = await self._own_job(person, source_job_id)
        if source.state == JobState.DELIVERING and operation_of(source.operation).keeps_output:
            raise ClipOnItsWay(source.job_id)
        if not operation_of(source.operation).keeps_output or source.state != JobState.SUCCEEDED:
            raise NotTaggable(source.job_id)
        request_key = f"{identity.key}:{request_id}"
        existing = await self.store.find_by_request(request_key)
        if existing is not None:
            return await self._accepted_again(existing)
        if await self.store.output(source.job_id) is None:
            raise NotTaggable(source.job_id)
        await self._refuse_unaffordable(person, self.prices.voice_tag)
        return await self._create(
            identity,
            person,
            None,
            source.style,
            source.seconds,
            self.prices.voice_tag,
            platform,
            reply_to,
            request_key,
            source.job_id,
            operation=OperationName.VOICE_TAG,
            text=spoken,
            voice=spoken_voice,
        )

    async def cancel(self, identity: Identity, job_id: str) -> Canceled:
        """Cancel one of the person's jobs and release its credits (until it is delivering)."""
        person = await self.wallets.person(identity)
        job = await self._own_job(person, job_id)
        self._refuse_cancel(job)
        concluded = await self.store.conclude(
            job.job_id, CANCELABLE, JobState.CANCELED, now=self.clock.now(), error=JobCanceled.code
        )
        if concluded is None:  # it moved on meanwhile (delivering, or ended)
            self._refuse_cancel(await self._own_job(person, job_id))
            raise JobNotCancelable(job_id, job.state.value)
        await self.runner.canceled(concluded)
        return Canceled(concluded.job, concluded.released, concluded.balance)

    async def jobs(self, identity: Identity) -> list[JobView]:
        """The person's queued and running jobs, oldest first, with queue positions."""
        person = await self.wallets.person(identity)
        return await self.store.unfinished_of(person.person_id)

    async def recent(self, identity: Identity, limit: int = 10) -> list[Job]:
        """The person's last jobs, newest first (for /history)."""
        person = await self.wallets.person(identity)
        return await self.store.recent_of(person.person_id, limit=limit)

    async def job(self, job_id: str) -> JobView | None:
        job = await self.store.get(job_id)
        if job is None:
            return None
        return JobView(job, await self.store.position(job))

    # --- events from outside -------------------------------------------------------------------

    # --- accepting ---------------------------------------------------------------------------

    async def _start(
        self,
        identity: Identity,
        request_id: str,
        cost: int,
        platform: str,
        reply_to: Mapping[str, Any],
        *,
        style: str,
        seconds: int,
        operation: OperationName,
        text: str | None = None,
        voice: str | None = None,
    ) -> Accepted:
        """A job with no recording: the repeat check, the balance check, then the job and its hold."""
        person = await self.wallets.person(identity)
        request_key = f"{identity.key}:{request_id}"
        existing = await self.store.find_by_request(request_key)
        if existing is not None:
            return await self._accepted_again(existing)
        await self._refuse_unaffordable(person, cost)
        return await self._create(
            identity,
            person,
            None,
            style,
            seconds,
            cost,
            platform,
            reply_to,
            request_key,
            operation=operation,
            text=text,
            voice=voice,
        )

    async def _refuse_unaffordable(self, person: Person, cost: int) -> None:
        balance = await self.ledger.balance(person.wallet_id)
        if balance.frozen:
            raise WalletFrozen(person.wallet_id)
        if balance.available < cost:
            raise InsufficientCredits(required=cost, available=max(balance.available, 0))

    async def _prepare(self, audio: bytes, limit: int) -> PreparedClip:
        """The intake is CPU work: off the event loop, in `intake_executor` (a process pool in
        production, so decoding does not hold this process's GIL) or else in a thread."""
        call = functools.partial(
            self.intake.prepare, audio, max_bytes=limit, max_seconds=self.settings.max_input_seconds
        )
        async with self._intake_slots:
            if self.intake_executor is None:
                return await asyncio.to_thread(call)
            return await asyncio.get_running_loop().run_in_executor(self.intake_executor, call)

    async def _create(
        self,
        identity: Identity,
        person: Person,
        clip: PreparedClip | None,
        style: str,
        seconds: int,
        cost: int,
        platform: str,
        reply_to: Mapping[str, Any],
        request_key: str,
        source_job_id: str | None = None,
        *,
        operation: OperationName = OperationName.MUSIC,
        text: str | None = None,
        voice: str | None = None,
    ) -> Accepted:
        now = self.clock.now()
        deadline = now + self.settings.deadline
        new = NewJob(
            job_id=self.ids(),
            request_key=request_key,
            person_id=person.person_id,
            wallet_id=person.wallet_id,
            identity=identity.key,
            platform=platform,
            reply_to=dict(reply_to),
            style=style,
            seconds=seconds,
            cost=cost,
            seed=self.seeds(),
            deadline_at=deadline,
            hold_expires_at=max(now + self.rules.hold_ttl, deadline + self.settings.hold_slack),
            source_job_id=source_job_id,
            operation=operation,
            text=text,
            voice=voice,
        )
        created = await self.store.create(new, clip, now=now)
        if not created.duplicate:
            self.runner.accepted(new.job_id, clip)
            logger.info(
                "job %s accepted: %s %s, %d s, %d credits held",
                new.job_id,
                operation,
                identity.key,
                seconds,
                cost,
            )
        return Accepted(created.job, created.job.cost, created.balance, created.position, created.duplicate)

    async def _accepted_again(self, job: Job) -> Accepted:
        balance = await self.ledger.balance(job.wallet_id)
        return Accepted(job, job.cost, balance, await self.store.position(job), duplicate=True)

    async def _own_job(self, person: Person, job_id: str) -> Job:
        job = await self.store.get_of(str(job_id).strip(), person.person_id)
        if job is None:
            raise JobNotFound(str(job_id))
        return job

    @staticmethod
    def _refuse_cancel(job: Job) -> None:
        if job.state.finished:
            raise JobFinished(job.job_id, job.state.value)
        if job.state not in CANCELABLE:
            raise JobNotCancelable(job.job_id, job.state.value)
