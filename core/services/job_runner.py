"""The job workers: they run accepted jobs to an end without losing a credit.

One dispatcher per process claims queued jobs (oldest first; a person at their limit does not
hold up the others) while there is room under the global limit, and one task drives each claimed
job: submit → poll (or be woken by the Replicate webhook) → download → deliver → capture. Each
step is a guarded update of the job row; the terminal one carries the capture (delivered) or the
release (failed, canceled, expired) in the same transaction, so a job ends either captured with
a delivered clip or released. No transaction is open while the network is called: a step is
persisted, then the service calls out, then the outcome is recorded.

Jobs carry a lease. A process that dies leaves jobs behind; another process adopts them when the
lease runs out, and the same process (same `worker_id`) takes them back at once on `resume()`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import functools
import logging
import math
import os
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from core.domain.economics import compute_cost
from core.domain.generation import (
    GeneratedClip,
    GenerationRequest,
    PredictionState,
    PredictionStatus,
    PreparedClip,
)
from core.domain.jobs import EXPIRABLE, UNFINISHED, Concluded, Delivered, Job, JobProgress, JobState, Stage
from core.domain.operations import OperationName, operation
from core.domain.rules import CreditRules
from core.errors import BotError, DeliveryFailed, GenerationFailed, GenerationTimedOut, JobCanceled
from core.ports import Clock, JobNotifier, JobStore, LedgerStore, MusicGenerator
from core.services.offers import OfferService
from core.services.outage import Outage

logger = logging.getLogger(__name__)

# How many recently finished jobs a process remembers taking a status for (see `_taken`).
TAKEN_MEMORY = 4096

SuccessHook = Callable[[int], Awaitable[None]]
# Called with the wallet and the capture's ledger entry after a capture committed (automatic
# top-up); it must be idempotent per entry.
CaptureHook = Callable[[int, str], Awaitable[object]]


def _discard(future: asyncio.Future[bytes]) -> None:
    """Drop a download nobody will use (and its error, so it is not reported as lost)."""
    if future.done():
        if not future.cancelled():
            future.exception()
    else:
        future.cancel()


async def wait_for_event(event: asyncio.Event, seconds: float) -> None:
    """Wait until `event` is set or `seconds` pass. Not `asyncio.wait_for`: on Python 3.11 it
    swallows a cancellation that lands as the event fires, and a stopping loop never stops."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


class _Parked(Exception):
    """A job left where it is because the runner is stopping."""


class _Gone(Exception):
    """The job left the state a step expected (canceled or expired meanwhile)."""


def log_step(job: Job, step: str, level: int = logging.INFO, **fields: object) -> None:
    """One event per job step, with the job, whose it is and the step as fields (LOG_FORMAT=json
    indexes them): `job 3f2a… succeeded charged=2`."""
    details = "".join(f" {name}={value}" for name, value in fields.items())
    logger.log(
        level,
        "job %s %s%s",
        job.job_id,
        step,
        details,
        extra={"job_id": job.job_id, "identity": job.identity, "step": step, **fields},
    )


def with_job(url: str, job_id: str) -> str:
    """The webhook URL naming the job it is for (a delivery can be traced to its job)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query) + [("job", job_id)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


@dataclass(frozen=True)
class GenerationSettings:
    max_input_bytes: int = 20_000_000
    max_input_seconds: float = 30.0
    deadline: dt.timedelta = dt.timedelta(minutes=10)  # from acceptance to a finished job
    max_concurrent: int = 10  # jobs started at once (global, counted in the database)
    per_person: int = 2
    poll_interval_seconds: float = 2.0
    max_output_bytes: int = 50_000_000
    webhook_url: str | None = None  # <PUBLIC_BASE_URL>/webhooks/replicate
    # With the webhook set, polling is only the fallback (webhooks are retried only briefly).
    webhook_poll_interval_seconds: float = 30.0
    worker_id: str = "main"  # a restarted process with the same id takes its jobs back at once
    lease: dt.timedelta = dt.timedelta(minutes=2)
    sweep_interval_seconds: float = 30.0
    dispatch_interval_seconds: float = 1.0  # how often the queue is checked without a nudge
    outage_max_wait_seconds: float = 30.0  # the longest wait between tries while the database is away
    input_retention: dt.timedelta = dt.timedelta(hours=24)  # for "Again" / "Other style"
    deliver_timeout_seconds: float = 300.0
    notify_timeout_seconds: float = 30.0
    # While the bot stops, a job creating its prediction or delivering its clip may finish that
    # step; one only waiting on its prediction stops at once (it resumes from its saved id).
    shutdown_grace_seconds: float = 5.0
    hold_slack: dt.timedelta = dt.timedelta(minutes=5)  # a hold outlives the deadline by this
    intake_workers: int = max(1, os.cpu_count() or 1)


@dataclass
class _Run:
    """A job this process is driving."""

    job: Job
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    status: PredictionStatus | None = None  # a finished status handed over by the webhook
    canceled: bool = False
    task: asyncio.Task[None] | None = None
    generating: bool = True  # holds a slot of the concurrency limit (until it is delivering)
    submitted_at: float | None = None  # loop time the generator accepted it (this run only)
    download: asyncio.Future[bytes] | None = None  # started while the step to delivering is written
    resumed: bool = False  # taken back after a restart (or from a dead worker)


class JobRunner:
    def __init__(
        self,
        *,
        store: JobStore,
        ledger: LedgerStore,
        generator: MusicGenerator,
        rules: CreditRules,
        clock: Clock,
        settings: GenerationSettings,
        on_success: SuccessHook | None = None,
        offers: OfferService | None = None,
        notifier: JobNotifier | None = None,
        providers: Mapping[str, MusicGenerator] | None = None,
        after_capture: CaptureHook | None = None,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.generator = generator
        # The provider of each other operation (speech, a voice tag...) by its name; music, and
        # any operation not named here, goes to `generator`.
        self.providers = dict(providers or {})
        self.rules = rules
        self.clock = clock
        self.settings = settings
        # Called with the person id after every job that succeeded (referral rewards), after the
        # capture committed; it must be idempotent. A crash in between skips one call: the
        # person's next success makes up for it.
        self.on_success = on_success
        self.after_capture = after_capture
        # The offer after a job that leaves the balance low (packs, next daily credit, support);
        # the composition root connects its next-daily-credit source (`bot.bootstrap.compose`).
        self.offers = offers or OfferService(rules)
        # The chat side of every job (status, clip, outcome); without one nothing is delivered.
        self.notifier = notifier
        self._active: dict[str, _Run] = {}
        # Jobs whose finished status this process already took (by webhook or poll), a bounded
        # memory: a repeat of the webhook that reads the job before that run wrote its next step
        # and looks after the run ended is still a repeat.
        self._taken: collections.OrderedDict[str, None] = collections.OrderedDict()
        # Clips accepted in this process: the worker need not read them back.
        self._clips: dict[str, PreparedClip] = {}
        self._dispatch_wake = asyncio.Event()
        self._background: list[asyncio.Task[None]] = []
        self._queue_positions: dict[str, int] = {}  # last position shown per queued job
        self._run_seconds: float | None = None  # a moving average, for the ETA
        # A moving average per operation, for the first poll (speech takes a fraction of a
        # second, music from the model a minute: one average would make speech wait).
        self._prediction_seconds: dict[str, float] = {}
        self._running = False
        self._stopping = False  # parks jobs waiting on their prediction
        self._adopting = asyncio.Lock()  # see `_submit`

    async def start(self) -> None:
        """Resume or resolve every unfinished job, then run the dispatcher and the sweep."""
        if self._running:
            return
        self._running = True
        self._stopping = False
        await self.resume()
        self._background = [
            asyncio.create_task(self._dispatch_loop(), name="jobs-dispatch"),
            asyncio.create_task(self._sweep_loop(), name="jobs-sweep"),
        ]

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop taking jobs, park the ones waiting on their prediction, give the ones creating
        a prediction or delivering `grace_seconds` to finish that step, then stop the rest where
        they are: their rows stay, and `resume()` finishes them on the next start."""
        self._running = False
        self._stopping = True
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background = []
        grace = self.settings.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        in_flight = [run.task for run in self._active.values() if run.task]
        for run in self._active.values():
            run.wake.set()  # one waiting on its prediction parks at once
        if in_flight and grace > 0:
            await asyncio.wait(in_flight, timeout=grace)
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)
        self._active.clear()

    # --- what the use cases tell the runner ---------------------------------------------------

    def accepted(self, job_id: str, clip: PreparedClip | None) -> None:
        """A new job is queued: keep its clip (if it has one) at hand and wake the dispatcher."""
        if clip is not None:
            self._clips[job_id] = clip
        self._nudge()

    async def canceled(self, concluded: Concluded) -> None:
        """The person canceled (credits already released): stop driving it and tell them."""
        run = self._active.get(concluded.job.job_id)
        if run is not None:
            run.canceled = True
            run.wake.set()
        if concluded.job.prediction_id:
            await self._cancel_prediction(concluded.job, concluded.job.prediction_id)
        self._nudge()
        await self._notify_failed(concluded, JobCanceled(concluded.job.job_id))

    # --- events and the backstop ----------------------------------------------------------------

    async def on_prediction_update(self, status: PredictionStatus) -> bool:
        """A verified Replicate webhook. Applied once, whichever of webhook or poller comes
        first; returns False for an unknown prediction, an unfinished status or a repeat."""
        if not status.state.finished:
            return False
        job = await self.store.find_by_prediction(status.prediction_id)
        if job is None or job.state != JobState.RUNNING:
            return False
        run = self._active.get(job.job_id)
        if run is not None:
            if run.status is not None:
                return False
            run.status = status
            run.wake.set()
            return True
        if job.job_id in self._taken:
            return False
        self._start(job, status)  # not driven here (another process, or a restart): take it on
        return True

    async def resume(self) -> list[str]:
        """Take back every started job of this worker (or of a worker whose lease ran out) and
        drive it to an end; expire queued jobs past their deadline. Returns the adopted ids."""
        now = self.clock.now()
        adopted = await self.store.adopt(
            worker_id=self.settings.worker_id, now=now, lease_until=now + self.settings.lease
        )
        started = []
        for job in adopted:
            if job.job_id not in self._active:
                log_step(job, "resumed", state=job.state.value)
                self._start(job, resumed=True)
                started.append(job.job_id)
        await self._expire_queued(now)
        await self._expire_with_expired_holds()
        self._nudge()
        return started

    async def sweep(self) -> None:
        """The periodic backstop: renew leases, expire overdue queued jobs, adopt orphans,
        release expired holds, end jobs whose hold expired, forget old inputs."""
        now = self.clock.now()
        await self.store.renew(self.settings.worker_id, lease_until=now + self.settings.lease)
        await self.resume()
        released = await self.ledger.sweep_expired_holds(now=now)
        if released:
            logger.warning("hold sweep released %d expired holds", released)
            await self._expire_with_expired_holds()
        await self.store.purge_inputs(before=now - self.settings.input_retention)
        await self._show_queue_positions()

    async def wait_idle(self) -> None:
        """Wait until no job is driven here (tests, benchmarks, shutdown)."""
        while self._active:
            tasks = [run.task for run in self._active.values() if run.task]
            if tasks:
                await asyncio.wait(tasks)
            else:
                await asyncio.sleep(0)

    @property
    def active_jobs(self) -> int:
        return len(self._active)

    # --- the dispatcher ----------------------------------------------------------------------

    def _nudge(self) -> None:
        self._dispatch_wake.set()

    async def _dispatch_loop(self) -> None:
        interval = self.settings.dispatch_interval_seconds
        outage = Outage("job dispatch", logger, first_wait=interval, max_wait=self.settings.outage_max_wait_seconds)
        while True:
            self._dispatch_wake.clear()
            try:
                await self.dispatch()
            except Exception as error:  # noqa: BLE001 - the loop must outlive a bad moment of the database
                await asyncio.sleep(outage.failed(error))  # a nudge does not shorten the backoff
                continue
            outage.succeeded()
            await wait_for_event(self._dispatch_wake, interval)

    async def dispatch(self) -> int:
        """Start as many queued jobs as the limits allow; returns how many were started."""
        free = self.settings.max_concurrent - sum(1 for run in self._active.values() if run.generating)
        if free <= 0:
            return 0
        now = self.clock.now()
        claimed = await self.store.claim(
            worker_id=self.settings.worker_id,
            slots=free,
            global_limit=self.settings.max_concurrent,
            per_person=self.settings.per_person,
            now=now,
            lease_until=now + self.settings.lease,
        )
        for job in claimed:
            log_step(job, "claimed", worker=self.settings.worker_id)
            self._start(job)
        return len(claimed)

    def _start(self, job: Job, status: PredictionStatus | None = None, *, resumed: bool = False) -> None:
        run = _Run(job, status=status, generating=job.state.generating, resumed=resumed)
        self._active[job.job_id] = run
        self._queue_positions.pop(job.job_id, None)
        run.task = asyncio.create_task(self._drive(run), name=f"job-{job.job_id}")
        run.task.add_done_callback(functools.partial(self._finished_driving, job.job_id, run))

    def _finished_driving(self, job_id: str, run: _Run, _task: object = None) -> None:
        if self._active.get(job_id) is run:
            del self._active[job_id]
        if run.status is not None:
            self._taken[job_id] = None
            while len(self._taken) > TAKEN_MEMORY:
                self._taken.popitem(last=False)
        self._clips.pop(job_id, None)
        self._nudge()

    # --- driving one job ---------------------------------------------------------------------

    async def _drive(self, run: _Run) -> None:
        job: Job | None = run.job
        try:
            if job is not None and job.state == JobState.SUBMITTED:
                job = await self._submit(run, job)
            if job is not None and job.state == JobState.RUNNING:
                job = await self._await_prediction(run, job)
            if job is not None and job.state == JobState.DELIVERING:
                self._free_slot(run)
                # Resumed while delivering: the clip may have reached the person before the crash.
                resent = run.resumed and run.job.state == JobState.DELIVERING
                await self._deliver(job, run.download, resent=resent)
        except _Parked:
            return  # stopping: the row stays as it is and is resumed on the next start
        except asyncio.CancelledError:
            if run.download is not None:
                _discard(run.download)
            raise  # shutdown: the row stays as it is and is resumed on the next start
        except Exception:  # noqa: BLE001 - left for the sweep to adopt and finish
            logger.exception("job %s stopped unexpectedly; the sweep will pick it up", run.job.job_id)

    async def _submit(self, run: _Run, job: Job) -> Job | None:
        if self._past_deadline(job):
            await self._expire(job)
            return None
        await self._progress(job, JobProgress(Stage.STARTED))
        submitting = frozenset({JobState.SUBMITTED})
        adopted = moved = None
        if job.submission_ref is not None:
            # One adoption at a time: two jobs noted with the same words (speech) must not both
            # take the same prediction; the second sees it taken and looks further.
            async with self._adopting:
                adopted = await self._made_before(job)
                if adopted is not None:
                    moved = await self._advance(job, submitting, JobState.RUNNING, prediction_id=adopted.prediction_id)
        if adopted is not None:
            prediction_id = adopted.prediction_id
            if adopted.state.finished:
                run.status = adopted  # no need to ask again
        else:
            created = await self._create_prediction(job)
            if created is None:
                return None
            prediction_id = created
            run.submitted_at = asyncio.get_running_loop().time()  # the first poll counts from here
            moved = await self._advance(job, submitting, JobState.RUNNING, prediction_id=prediction_id)
        if moved is None:  # canceled or expired while the generator was answering
            await self._cancel_prediction(job, prediction_id)
            return None
        log_step(moved, "adopted" if adopted is not None else "submitted", prediction_id=prediction_id)
        await self._progress(moved, JobProgress(Stage.GENERATING))
        return moved

    async def _create_prediction(self, job: Job) -> str | None:
        """Create the job's prediction, saving what identifies it first (so a crash before its
        id is saved does not make a second one); None when the job ended instead."""
        submitting = frozenset({JobState.SUBMITTED})
        request = await self._request(job)
        if request is None:
            await self._end(job, JobState.FAILED, GenerationFailed("input_missing"), submitting)
            return None

        async def note(ref: str) -> None:
            if await self._advance(job, submitting, JobState.SUBMITTED, submission_ref=ref) is None:
                raise _Gone  # canceled or expired meanwhile: create nothing

        webhook = self.settings.webhook_url
        try:
            async with asyncio.timeout(max(self._remaining(job), 0.001)):
                return await self._provider(job).submit(
                    request, webhook_url=webhook and with_job(webhook, job.job_id), before_create=note
                )
        except _Gone:
            return None
        except TimeoutError:
            await self._expire(job)
            return None
        except GenerationFailed as error:
            logger.warning("job %s: submit failed: %s", job.job_id, error)
            await self._end(job, JobState.FAILED, error, submitting)
            return None

    async def _made_before(self, job: Job) -> PredictionStatus | None:
        """The prediction a run before a restart made for the job (it was noted, so it may have
        been created): adopt the best one and cancel the strays; None when there is none alive."""
        assert job.submission_ref is not None
        # A failure to look is raised: the sweep tries again (creating one could pay twice).
        found = await self._provider(job).find(job.submission_ref, since=job.started_at)
        alive = [s for s in found if s.state not in (PredictionState.FAILED, PredictionState.CANCELED)]
        # A note made of the words alone (speech) is the same for two jobs saying the same thing
        # at about the same time: a prediction another job already has is that job's.
        alive = [s for s in alive if not await self._owned_by_another(job, s.prediction_id)]
        if not alive:
            return None
        keep = min(alive, key=lambda s: s.state != PredictionState.SUCCEEDED)  # finished first, else newest
        waiting = set(await self.store.awaiting_prediction(job.submission_ref)) - {job.job_id}
        for stray in alive:
            # Another job noted the same and still waits: the others may be its to adopt.
            if stray is not keep and not stray.state.finished and not waiting:
                logger.warning("job %s: canceling stray prediction %s", job.job_id, stray.prediction_id)
                await self._cancel_prediction(job, stray.prediction_id)
        logger.warning("job %s: adopted prediction %s made before a restart", job.job_id, keep.prediction_id)
        return keep

    async def _owned_by_another(self, job: Job, prediction_id: str) -> bool:
        owner = await self.store.find_by_prediction(prediction_id)
        return owner is not None and owner.job_id != job.job_id

    async def _await_prediction(self, run: _Run, job: Job) -> Job | None:
        """Poll until the prediction finishes (or the webhook says so), the person cancels, or
        the deadline passes."""
        assert job.prediction_id is not None
        loop = asyncio.get_running_loop()
        since = run.submitted_at  # None when resumed or taken over: its timing is not whole
        # Polling costs requests (and Replicate's rate limit): the first look waits until about
        # when recent predictions took to finish; then every `poll_interval_seconds`.
        interval = self.settings.poll_interval_seconds
        first: float | None = None  # None: look at once (a resumed job may long be done)
        if self.settings.webhook_url:
            interval = max(interval, self.settings.webhook_poll_interval_seconds)
            first = interval if since is not None else None
        elif since is not None and job.operation in self._prediction_seconds:
            first = 0.9 * self._prediction_seconds[job.operation] - (loop.time() - since)
        if first is not None and run.status is None:
            await self._idle(run, min(first, max(self._remaining(job), 0.0)))
        while True:
            run.wake.clear()  # before looking: a webhook or cancel from now on wakes the wait below
            if run.canceled:
                return None
            status = run.status
            if status is None:
                if self._past_deadline(job):
                    await self._expire(job)
                    return None
                try:
                    status = await self._provider(job).status(job.prediction_id)
                except GenerationFailed as error:
                    if not error.retryable:
                        await self._end(job, JobState.FAILED, error, frozenset({JobState.RUNNING}))
                        return None
                    logger.warning("job %s: polling failed, will retry: %s", job.job_id, error)
                    status = None
            if status is not None and status.state.finished:
                if since is not None and status.state == PredictionState.SUCCEEDED:
                    self._observe_prediction(job.operation, loop.time() - since)
                return await self._prediction_finished(run, job, status)
            await self._idle(run, min(interval, max(self._remaining(job), 0.0)))

    async def _idle(self, run: _Run, seconds: float) -> None:
        """Wait for the prediction; once the runner is stopping, leave the job parked instead
        (its prediction id is saved: the next start polls it again)."""
        if not self._stopping:
            await wait_for_event(run.wake, seconds)
        if self._stopping:
            raise _Parked

    async def _prediction_finished(self, run: _Run, job: Job, status: PredictionStatus) -> Job | None:
        cost = compute_cost(status.compute_seconds, self._provider(job).compute_micros_per_second)
        if cost:  # billed whether the run succeeded or not
            await self.store.record_cost(job.job_id, cost)
        if status.state == PredictionState.SUCCEEDED:
            # The output is fetched while the step is written, and the generator slot freed
            # (the dispatcher's claim is queued behind this step, so it sees the slot free).
            run.download = asyncio.ensure_future(self._download(job, status))
            self._free_slot(run)
            moved = await self._advance(
                job,
                frozenset({JobState.RUNNING}),
                JobState.DELIVERING,
                output_url=status.output_url or "",
            )
            if moved is None:  # a webhook elsewhere or a cancel got there first
                _discard(run.download)
                return None
            log_step(moved, "generated", prediction_id=status.prediction_id)
            if job.started_at is not None:
                self._observe_run(job.started_at)
            return moved
        reason = "model_failed" if status.state == PredictionState.FAILED else "canceled_by_host"
        await self._end(
            job,
            JobState.FAILED,
            GenerationFailed(reason, status.error or ""),
            frozenset({JobState.RUNNING}),
        )
        return None

    async def _download(self, job: Job, status: PredictionStatus) -> bytes:
        return await self._provider(job).download(status, max_bytes=self.settings.max_output_bytes)

    def _provider(self, job: Job) -> MusicGenerator:
        return self.providers.get(job.operation, self.generator)

    async def _request(self, job: Job) -> GenerationRequest | None:
        """What the provider is asked for; None when an input it needs is no longer kept."""
        kind = operation(job.operation)
        clip = None
        if kind.needs_recording:
            clip = self._clips.pop(job.job_id, None) or await self.store.clip(job.job_id)
            if clip is None:
                return None
        source_audio = None
        if kind.name is OperationName.VOICE_TAG and job.source_job_id is not None:
            source_audio = await self.store.output(job.source_job_id)
            if source_audio is None:
                return None
        return GenerationRequest(
            job.job_id,
            clip,
            job.style,
            job.seconds,
            job.seed,
            operation=job.operation,
            text=job.text or "",
            voice=job.voice or "",
            source_audio=source_audio,
        )

    def _free_slot(self, run: _Run) -> None:
        if run.generating:
            run.generating = False
            self._nudge()

    async def _deliver(self, job: Job, download: asyncio.Future[bytes] | None = None, *, resent: bool = False) -> None:
        """Download at once (unless already under way), hand the clip to the chat adapter, and
        capture only once it says the platform accepted it."""
        delivering = frozenset({JobState.DELIVERING})
        if download is None:
            status = PredictionStatus(job.prediction_id or "", PredictionState.SUCCEEDED, output_url=job.output_url)
            download = asyncio.ensure_future(self._download(job, status))
        notifier = self.notifier
        if notifier is None:
            _discard(download)
            logger.error("job %s: nothing can deliver it", job.job_id)
            await self._end(job, JobState.FAILED, DeliveryFailed(detail=job.platform), delivering)
            return
        await self._progress(job, JobProgress(Stage.DELIVERING))
        try:
            audio = await download
        except GenerationFailed as error:
            logger.warning("job %s: download failed: %s", job.job_id, error)
            await self._end(job, JobState.FAILED, error, delivering)
            return
        kind = operation(job.operation)
        clip = GeneratedClip(audio=audio, format=kind.output_format, seconds=float(job.seconds), resent=resent)
        delivered: bool | Delivered = False
        try:
            async with asyncio.timeout(self.settings.deliver_timeout_seconds):
                delivered = await notifier.deliver(job, clip)
        except Exception:  # noqa: BLE001 - any failure to deliver means: do not charge
            logger.exception("job %s: delivery failed", job.job_id)
        if not delivered:
            await self._end(job, JobState.FAILED, DeliveryFailed(detail=job.platform), delivering)
            return
        ref = delivered.ref if isinstance(delivered, Delivered) else None
        concluded = await self.store.conclude(
            job.job_id,
            delivering,
            JobState.SUCCEEDED,
            now=self.clock.now(),
            delivery_ref=ref,
            output=audio if kind.keeps_output else None,  # a voice tag may be added to it later
        )
        if concluded is None:
            logger.warning("job %s was delivered but had already been ended elsewhere", job.job_id)
            return
        log_step(concluded.job, "succeeded", charged=concluded.charged, resent=resent)
        offer = await self.offers.after(concluded.balance, concluded.job.person_id)
        await self._call_notifier(
            "finished",
            job,
            notifier.finished(concluded.job, concluded.charged, concluded.balance, offer),
        )
        if self.on_success is not None:
            try:
                await self.on_success(concluded.job.person_id)
            except Exception:  # noqa: BLE001 - a reward hook never undoes a delivered job
                logger.exception("success hook failed for person %s", concluded.job.person_id)
        if self.after_capture is not None and concluded.charged > 0:
            try:
                await self.after_capture(concluded.job.wallet_id, concluded.job.hold_key)
            except Exception:  # noqa: BLE001 - a top-up never undoes a delivered job
                logger.exception("capture hook failed for wallet %s", concluded.job.wallet_id)

    # --- ending jobs -------------------------------------------------------------------------

    async def _expire(self, job: Job) -> None:
        concluded = await self._end(
            job, JobState.EXPIRED, GenerationTimedOut(detail=f"deadline {job.deadline_at}"), EXPIRABLE
        )
        prediction_id = concluded.job.prediction_id if concluded else job.prediction_id
        if prediction_id:
            await self._cancel_prediction(job, prediction_id)

    async def _end(self, job: Job, target: JobState, error: BotError, source: frozenset[JobState]) -> Concluded | None:
        """A failed, canceled or expired end: the hold is released with the step; tell them."""
        detail = str(error.data.get("detail") or error.data.get("reason") or "")
        concluded = await self.store.conclude(
            job.job_id, source, target, now=self.clock.now(), error=error.code, error_detail=detail
        )
        if concluded is None:
            return None
        log_step(concluded.job, target.value, error=error.code, released=concluded.released)
        await self._notify_failed(concluded, error)
        return concluded

    async def _expire_queued(self, now: dt.datetime) -> None:
        queued = frozenset({JobState.QUEUED})
        for job in await self.store.overdue(now=now, states=queued):
            await self._end(
                job,
                JobState.EXPIRED,
                GenerationTimedOut(detail="waited in the queue past the deadline"),
                queued,
            )

    async def _expire_with_expired_holds(self) -> None:
        """End the jobs whose hold the ledger's sweep expired (nothing is left to release).

        A hold expires only after the job's deadline plus slack, when a live worker would long
        have ended the job; so whoever still holds the row is stuck or gone. Its later steps
        then fail their guard: at worst a clip arrives that is not charged.
        """
        for job in await self.store.with_expired_holds():
            if job.job_id not in self._active:
                await self._end(job, JobState.EXPIRED, GenerationTimedOut(detail="hold expired"), UNFINISHED)

    # --- helpers -----------------------------------------------------------------------------

    async def _advance(self, job: Job, source: frozenset[JobState], target: JobState, **values: str) -> Job | None:
        now = self.clock.now()
        return await self.store.advance(
            job.job_id,
            source,
            target,
            now=now,
            worker_id=self.settings.worker_id,
            lease_until=now + self.settings.lease,
            **values,
        )

    def _remaining(self, job: Job) -> float:
        if job.deadline_at is None:
            return math.inf
        return (job.deadline_at - self.clock.now()).total_seconds()

    def _past_deadline(self, job: Job) -> bool:
        return self._remaining(job) <= 0

    async def _cancel_prediction(self, job: Job, prediction_id: str) -> None:
        try:
            await self._provider(job).cancel(prediction_id)
        except Exception:  # noqa: BLE001 - best effort: the credits are already released
            logger.warning("cancel of prediction %s failed", prediction_id, exc_info=True)

    def _observe_run(self, started_at: dt.datetime) -> None:
        seconds = max((self.clock.now() - started_at).total_seconds(), 0.0)
        previous = self._run_seconds
        self._run_seconds = seconds if previous is None else 0.8 * previous + 0.2 * seconds

    def _observe_prediction(self, name: str, seconds: float) -> None:
        previous = self._prediction_seconds.get(name)
        self._prediction_seconds[name] = seconds if previous is None else 0.8 * previous + 0.2 * seconds

    def _eta(self, position: int) -> int | None:
        if self._run_seconds is None:
            return None
        waves = math.ceil(position / max(self.settings.max_concurrent, 1)) + 1
        return int(round(waves * self._run_seconds))

    async def _show_queue_positions(self) -> None:
        """Tell queued jobs their position when it changed since last shown."""
        for view in await self.store.queued():
            if view.position is None or self._queue_positions.get(view.job.job_id) == view.position:
                continue
            if self.notifier is not None:
                self._queue_positions[view.job.job_id] = view.position
                await self._progress(view.job, JobProgress(Stage.QUEUED, view.position, self._eta(view.position)))

    async def _progress(self, job: Job, progress: JobProgress) -> None:
        notifier = self.notifier
        if notifier is not None:
            await self._call_notifier("progress", job, notifier.progress(job, progress))

    async def _notify_failed(self, concluded: Concluded, error: BotError) -> None:
        notifier = self.notifier
        if notifier is not None:
            await self._call_notifier("failed", concluded.job, notifier.failed(concluded.job, error, concluded.balance))

    async def _call_notifier(self, what: str, job: Job, call: Awaitable[None]) -> None:
        """Notifier failures are logged; they never break the job machine."""
        try:
            async with asyncio.timeout(self.settings.notify_timeout_seconds):
                await call
        except Exception:  # noqa: BLE001
            logger.exception("notifier %s failed for job %s", what, job.job_id)

    # --- background loops --------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        interval = self.settings.sweep_interval_seconds
        outage = Outage("job sweep", logger, first_wait=interval, max_wait=max(interval, 300.0))
        wait = interval
        while True:
            await asyncio.sleep(wait)
            try:
                await self.sweep()
            except Exception as error:  # noqa: BLE001
                wait = outage.failed(error)
            else:
                outage.succeeded()
                wait = interval
