"""Generation jobs: the state machine and the values the job service and its adapters share.

A job is a row. It moves forward only, one guarded step at a time (the store applies a step only
while the row is still in the expected state, so two workers, a webhook and a poller racing
apply it once):

    queued ──► submitted ──► running ──► delivering ──► succeeded   (hold captured)
      │            │            │            │
      └────────────┴────────────┴────────────┴────────► failed | canceled | expired
                                                         (hold released)

- queued: accepted, credits held, waiting for a worker slot.
- submitted: a worker took it and is sending it to the generator (no prediction id yet).
- running: the generator accepted it; `prediction_id` is known and is polled.
- delivering: the prediction succeeded (`output_url` kept); downloading and sending the clip.
A terminal step and its ledger operation (capture or release) are one transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.domain.ledger import Balance


class JobState(enum.StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"
    RUNNING = "running"
    DELIVERING = "delivering"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def finished(self) -> bool:
        return self in TERMINAL

    @property
    def active(self) -> bool:
        """Started and not finished (a worker holds its lease)."""
        return self in ACTIVE

    @property
    def generating(self) -> bool:
        """Counted by the concurrency limits."""
        return self in GENERATING


TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED, JobState.EXPIRED})
ACTIVE = frozenset({JobState.SUBMITTED, JobState.RUNNING, JobState.DELIVERING})
# What the concurrency limits count: jobs that occupy the generator. A job that is delivering
# (download, upload to the chat) frees its slot for the next one.
GENERATING = frozenset({JobState.SUBMITTED, JobState.RUNNING})
UNFINISHED = frozenset(JobState) - TERMINAL
# The person may cancel until the clip is on its way.
CANCELABLE = frozenset({JobState.QUEUED, JobState.SUBMITTED, JobState.RUNNING})
# The deadline ends these; a job already delivering is allowed to finish.
EXPIRABLE = CANCELABLE

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.SUBMITTED, JobState.FAILED, JobState.CANCELED, JobState.EXPIRED}),
    JobState.SUBMITTED: frozenset(
        # back to queued: a worker died before the generator answered; it is sent again
        {JobState.RUNNING, JobState.QUEUED, JobState.FAILED, JobState.CANCELED, JobState.EXPIRED}
    ),
    JobState.RUNNING: frozenset({JobState.DELIVERING, JobState.FAILED, JobState.CANCELED, JobState.EXPIRED}),
    JobState.DELIVERING: frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.EXPIRED}),
}


def can_move(source: JobState, target: JobState) -> bool:
    return target in TRANSITIONS.get(source, frozenset())


def sources_of(target: JobState) -> frozenset[JobState]:
    """Every state a job may move to `target` from (the guard of that step)."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


HOLD_KEY_PREFIX = "hold:"


def new_job_id() -> str:
    """Time-ordered: the milliseconds since 1970 (11 hex digits, enough until the year 2527),
    then 36 random bits; 20 characters, short enough to copy into /tag or /cancel. Ids made one
    after another sort one after another, so each new job, its hold (`hold:<id>`) and its spend
    (`spend:hold:<id>`) land at the right edge of their unique indexes, where the pages are
    already in memory and a batch dirties one page per index instead of one per row (scattered
    keys cost the SQLite writer about a quarter more CPU per hold and capture).
    Unique, not secret: whoever acts on a job by its id must be its owner. So the random bits
    come from `random` (its state is reseeded in each forked process), not `secrets`, whose
    system call hands the GIL to the database writer once per id."""
    return f"{time.time_ns() // 1_000_000:011x}{random.getrandbits(36):09x}"


def hold_key(job_id: str) -> str:
    """The ledger key of a job's hold (captured or released exactly once)."""
    return f"{HOLD_KEY_PREFIX}{job_id}"


@dataclass(frozen=True)
class NewJob:
    """What `JobStore.create` inserts, together with the hold of `cost` credits."""

    job_id: str
    request_key: str  # `<identity>:<request id>`: a double tap makes one job
    person_id: int
    wallet_id: int
    identity: str
    platform: str
    reply_to: Mapping[str, Any]
    style: str
    seconds: int
    cost: int
    seed: int
    deadline_at: dt.datetime
    hold_expires_at: dt.datetime
    source_job_id: str | None = None  # "Again" / "Other style": the job whose clip is reused
    operation: str = "music"  # an `OperationName`: which provider makes it, how stats count it
    text: str | None = None  # what is spoken (speech, a voice tag)
    voice: str | None = None  # who speaks it


@dataclass(frozen=True)
class Job:
    job_id: str
    request_key: str
    person_id: int
    wallet_id: int
    identity: str  # the platform identity that asked (`telegram:123`)
    platform: str  # which notifier delivers it
    reply_to: Mapping[str, Any] = field(compare=False)  # opaque to core: where the adapter replies
    style: str = ""
    seconds: int = 0
    cost: int = 0
    seed: int = 0
    state: JobState = JobState.QUEUED
    prediction_id: str | None = None
    output_url: str | None = None
    error: str | None = None  # the BotError code it failed with
    error_detail: str | None = None
    worker_id: str | None = None
    lease_until: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    deadline_at: dt.datetime | None = None
    source_job_id: str | None = None
    delivery_ref: str | None = None  # the platform's handle on the delivered clip (see `Delivered`)
    operation: str = "music"
    text: str | None = None
    voice: str | None = None
    # What the generator sent for the prediction, saved before creating it (see `MusicGenerator`).
    submission_ref: str | None = None

    @property
    def hold_key(self) -> str:
        return hold_key(self.job_id)


@dataclass(frozen=True)
class Delivered:
    """A notifier's "the platform accepted the clip", with the platform's handle on it (a
    Telegram audio file id): stored with the job in the capture's transaction, so sharing the
    clip works after a restart."""

    ref: str | None = None


class Stage(enum.StrEnum):
    """What a status message shows while a job runs."""

    QUEUED = "queued"
    STARTED = "started"
    GENERATING = "generating"
    DELIVERING = "delivering"


@dataclass(frozen=True)
class JobProgress:
    stage: Stage
    position: int | None = None  # in the queue, 1 = next (QUEUED only)
    eta_seconds: int | None = None  # rough, from recent run times; None until known


@dataclass(frozen=True)
class JobView:
    """A job as a person sees it in /jobs: with its queue position when queued."""

    job: Job
    position: int | None = None


@dataclass(frozen=True)
class Concluded:
    """The result of a terminal step: the job after it, and the ledger outcome (capture or
    release)."""

    job: Job
    charged: int  # credits captured (0 for a release, or a late capture the balance refused)
    released: int  # credits given back (0 when the hold had already expired)
    balance: Balance


@dataclass(frozen=True)
class Created:
    """`JobStore.create`: the job (the existing one for a repeated request), the wallet's
    balance after the hold, the queue position, and whether the request was a repeat."""

    job: Job
    balance: Balance
    position: int | None
    duplicate: bool = False
