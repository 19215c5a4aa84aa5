"""Tables of the jobs area (SQLModel). Their migration: alembic/versions/0002_jobs.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlmodel import Field, SQLModel

from adapters.storage.tables import metadata  # noqa: F401 - the naming convention must be set first

JOB_STATES = (
    "queued",
    "submitted",
    "running",
    "delivering",
    "succeeded",
    "failed",
    "canceled",
    "expired",
)


def _utc() -> Column[dt.datetime]:
    return Column(DateTime(timezone=True), nullable=False)


def _utc_nullable() -> Column[dt.datetime | None]:
    return Column(DateTime(timezone=True), nullable=True)


class JobRow(SQLModel, table=True):
    """One generation request. `seq` orders the queue (FIFO); `id` is the public job id."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("cost > 0", name="cost_positive"),
        CheckConstraint("seconds > 0", name="seconds_positive"),
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in JOB_STATES)})", name="state_known"),
        Index("ix_jobs_state_seq", "state", "seq"),  # the queue, and the active jobs
        Index("ix_jobs_person_state", "person_id", "state"),  # per-person limits, /jobs
    )

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(max_length=32, unique=True)
    request_key: str = Field(max_length=200, unique=True)  # <identity>:<request id>
    person_id: int = Field(foreign_key="persons.id")
    wallet_id: int = Field(foreign_key="accounts.id")
    identity: str = Field(max_length=80)
    platform: str = Field(max_length=20)
    reply_to: str = Field(default="{}", sa_type=Text)  # JSON, opaque to core
    style: str = Field(max_length=200)
    seconds: int
    cost: int = Field(sa_type=BigInteger)
    seed: int = Field(sa_type=BigInteger)
    state: str = Field(max_length=12)
    prediction_id: str | None = Field(default=None, max_length=100, unique=True)
    output_url: str | None = Field(default=None, sa_type=Text)
    error: str | None = Field(default=None, max_length=40)
    error_detail: str | None = Field(default=None, max_length=500)
    worker_id: str | None = Field(default=None, max_length=100)
    lease_until: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())
    source_job_id: str | None = Field(default=None, max_length=32)
    delivery_ref: str | None = Field(default=None, max_length=300)  # e.g. a Telegram file id: Share after a restart
    # What the generator sent for the prediction (the uploaded input's URL), saved before the
    # prediction is created: after a crash, the prediction is found by it instead of made twice.
    submission_ref: str | None = Field(default=None, max_length=500)
    # What the provider billed for this job, micro-units of money (unit economics); NULL: nothing.
    provider_cost_micros: int | None = Field(default=None, sa_type=BigInteger)
    created_at: dt.datetime = Field(sa_column=_utc())
    updated_at: dt.datetime = Field(sa_column=_utc())
    started_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())
    finished_at: dt.datetime | None = Field(default=None, sa_column=_utc_nullable())
    deadline_at: dt.datetime = Field(sa_column=_utc())
    # Which priced operation (core.domain.operations); rows made before there were several are music.
    operation: str = Field(default="music", max_length=12, sa_column_kwargs={"server_default": "music"})
    text: str | None = Field(default=None, sa_type=Text)  # what is spoken (speech, a voice tag)
    voice: str | None = Field(default=None, max_length=20)


class JobInputRow(SQLModel, table=True):
    """A job's prepared input clip (mono WAV), kept so a job can be resumed after a restart and
    re-run with "Again" / "Other style"; purged some hours after the job ends."""

    __tablename__ = "job_inputs"

    job_id: str = Field(sa_column=Column(String(32), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True))
    audio: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sample_rate: int
    seconds: float
    created_at: dt.datetime = Field(sa_column=_utc())


class JobOutputRow(SQLModel, table=True):
    """A delivered music clip, kept (like the inputs, then purged) so a voice tag can be mixed
    into it later."""

    __tablename__ = "job_outputs"

    job_id: str = Field(sa_column=Column(String(32), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True))
    audio: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: dt.datetime = Field(sa_column=_utc())


# The Table objects the statements are built from (`adapters.storage.sql`).
jobs: Table = JobRow.__table__  # type: ignore[attr-defined]
job_inputs: Table = JobInputRow.__table__  # type: ignore[attr-defined]
job_outputs: Table = JobOutputRow.__table__  # type: ignore[attr-defined]
