"""Generation jobs over SQL: `JobStore`.

Each call is one unit of work on the batching `Database` (inside its own SAVEPOINT of a batched
write, or a read transaction). Every step of a job is one guarded UPDATE (`... WHERE id = :id
AND state IN (<sources>)`), so racing workers, webhooks and pollers apply it once; a job with
its hold, and a terminal step with its capture or release, are composed from the ledger's
operations in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import json

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    bindparam,
    case,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    update,
)

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore, balance, capture_hold, place_hold, release_hold
from adapters.storage.sql import (
    DbRow,
    Statement,
    as_bytes,
    as_float,
    as_int,
    const,
    consts,
    every,
    from_db_time,
    insert_or_skip,
    max_length,
    one,
    run,
    scalar,
    to_db_time,
)
from adapters.storage.tables import holds
from adapters.storage.tables_jobs import job_inputs, job_outputs, jobs
from adapters.storage.tables_rewards import person_links
from core.domain.generation import PreparedClip
from core.domain.jobs import (
    ACTIVE,
    GENERATING,
    HOLD_KEY_PREFIX,
    TERMINAL,
    UNFINISHED,
    Concluded,
    Created,
    Job,
    JobState,
    JobView,
    NewJob,
    hold_key,
)
from core.domain.ledger import HoldState

MAX_DELIVERY_REF = max_length(jobs.c.delivery_ref)
MAX_ERROR_DETAIL = max_length(jobs.c.error_detail)

# The columns `job_from_row` reads, in its order.
COLUMNS = (
    jobs.c.id,
    jobs.c.request_key,
    jobs.c.person_id,
    jobs.c.wallet_id,
    jobs.c.identity,
    jobs.c.platform,
    jobs.c.reply_to,
    jobs.c.style,
    jobs.c.seconds,
    jobs.c.cost,
    jobs.c.seed,
    jobs.c.state,
    jobs.c.prediction_id,
    jobs.c.output_url,
    jobs.c.error,
    jobs.c.error_detail,
    jobs.c.worker_id,
    jobs.c.lease_until,
    jobs.c.created_at,
    jobs.c.updated_at,
    jobs.c.started_at,
    jobs.c.finished_at,
    jobs.c.deadline_at,
    jobs.c.source_job_id,
    jobs.c.delivery_ref,
    jobs.c.operation,
    jobs.c.text,
    jobs.c.voice,
    jobs.c.submission_ref,
)


def job_from_row(row: DbRow) -> Job:
    (
        job_id,
        request_key,
        person_id,
        wallet_id,
        identity,
        platform,
        reply_to,
        style,
        seconds,
        cost,
        seed,
        state,
        prediction_id,
        output_url,
        error,
        error_detail,
        worker_id,
        lease_until,
        created_at,
        updated_at,
        started_at,
        finished_at,
        deadline_at,
        source_job_id,
        delivery_ref,
        operation,
        text,
        voice,
        submission_ref,
    ) = row
    return Job(
        job_id=str(job_id),
        request_key=str(request_key),
        person_id=as_int(person_id),
        wallet_id=as_int(wallet_id),
        identity=str(identity),
        platform=str(platform),
        reply_to=json.loads(str(reply_to) if reply_to else "{}"),
        style=str(style),
        seconds=as_int(seconds),
        cost=as_int(cost),
        seed=as_int(seed),
        state=JobState(str(state)),
        prediction_id=None if prediction_id is None else str(prediction_id),
        output_url=None if output_url is None else str(output_url),
        error=None if error is None else str(error),
        error_detail=None if error_detail is None else str(error_detail),
        worker_id=None if worker_id is None else str(worker_id),
        lease_until=from_db_time(lease_until),
        created_at=from_db_time(created_at),
        updated_at=from_db_time(updated_at),
        started_at=from_db_time(started_at),
        finished_at=from_db_time(finished_at),
        deadline_at=from_db_time(deadline_at),
        source_job_id=None if source_job_id is None else str(source_job_id),
        delivery_ref=None if delivery_ref is None else str(delivery_ref),
        operation=str(operation or "music"),
        text=None if text is None else str(text),
        voice=None if voice is None else str(voice),
        submission_ref=None if submission_ref is None else str(submission_ref),
    )


def _job(row: DbRow | None) -> Job | None:
    return None if row is None else job_from_row(row)


# --- reads ---------------------------------------------------------------------------------

_QUEUED_STATE = jobs.c.state == const(JobState.QUEUED)
# A job keeps the person it was made for; account linking may since have merged that person
# into another (`person_links`, kept flat): the survivor's jobs include the absorbed one's.
_OF_PERSON = or_(
    jobs.c.person_id == bindparam("person_id"),
    jobs.c.person_id.in_(
        select(person_links.c.absorbed_person_id).where(person_links.c.survivor_person_id == bindparam("person_id"))
    ),
)


def _queue_position(job_seq: ColumnElement[int]) -> Select[int]:
    """1 + the queued jobs ahead of the job whose `seq` is `job_seq`."""
    ahead = jobs.alias("ahead")
    return (
        select(func.count() + const(1))
        .select_from(ahead)
        .where(ahead.c.state == const(JobState.QUEUED), ahead.c.seq < job_seq)
    )


_BY_ID = Statement(select(*COLUMNS).where(jobs.c.id == bindparam("id")))
_BY_REQUEST = Statement(select(*COLUMNS).where(jobs.c.request_key == bindparam("key")))
_BY_PREDICTION = Statement(select(*COLUMNS).where(jobs.c.prediction_id == bindparam("pid")))
_AWAITING_PREDICTION = Statement(
    select(jobs.c.id).where(
        jobs.c.state == const(JobState.SUBMITTED),  # the state index narrows it to a few rows
        jobs.c.submission_ref == bindparam("ref"),
        jobs.c.prediction_id.is_(None),
    )
)
_RECORD_COST = Statement(
    update(jobs).where(jobs.c.id == bindparam("id")).values(provider_cost_micros=bindparam("cost"))
)
_BY_ID_OF = Statement(select(*COLUMNS).where(jobs.c.id == bindparam("id"), _OF_PERSON))
_CLIP = Statement(
    select(job_inputs.c.audio, job_inputs.c.sample_rate, job_inputs.c.seconds).where(
        job_inputs.c.job_id == bindparam("id")
    )
)
_POSITION = Statement(_queue_position(select(jobs.c.seq).where(jobs.c.id == bindparam("id")).scalar_subquery()))
_UNFINISHED_OF = Statement(
    select(*COLUMNS, case((_QUEUED_STATE, _queue_position(jobs.c.seq).scalar_subquery())))
    .where(_OF_PERSON, jobs.c.state.in_(consts(UNFINISHED)))
    .order_by(jobs.c.seq)
)
_RECENT_OF = Statement(select(*COLUMNS).where(_OF_PERSON).order_by(jobs.c.seq.desc()).limit(bindparam("limit")))
_WITH_EXPIRED_HOLDS = Statement(
    select(*COLUMNS)
    .select_from(jobs.join(holds, holds.c.key == const(HOLD_KEY_PREFIX) + jobs.c.id))
    .where(jobs.c.state.in_(consts(UNFINISHED)), holds.c.state == const(HoldState.EXPIRED))
    .order_by(jobs.c.seq)
    .limit(const(500))
)
_QUEUED = Statement(select(*COLUMNS).where(_QUEUED_STATE).order_by(jobs.c.seq).limit(bindparam("limit")))

# The statements below vary with the states they name: one per set of states, made on first use.


@functools.cache
def _overdue(states: frozenset[JobState]) -> Statement:
    return Statement(
        select(*COLUMNS)
        .where(jobs.c.state.in_(consts(states)), jobs.c.deadline_at < bindparam("now"))
        .order_by(jobs.c.seq)
        .limit(const(500))
    )


def get(conn: Connection, job_id: str) -> Job | None:
    return _job(one(conn, _BY_ID, id=job_id))


def find_by_request(conn: Connection, request_key: str) -> Job | None:
    return _job(one(conn, _BY_REQUEST, key=request_key))


def position(conn: Connection, job: Job) -> int | None:
    if job.state != JobState.QUEUED:
        return None
    return as_int(scalar(conn, _POSITION, id=job.job_id))


# --- create: the job, its clip and its hold, in one transaction ------------------------------

_INSERT_JOB = Statement(
    insert_or_skip(
        jobs,
        ["request_key"],
        {
            "id": bindparam("id"),
            "request_key": bindparam("request_key"),
            "person_id": bindparam("person_id"),
            "wallet_id": bindparam("wallet_id"),
            "identity": bindparam("identity"),
            "platform": bindparam("platform"),
            "reply_to": bindparam("reply_to"),
            "style": bindparam("style"),
            "seconds": bindparam("seconds"),
            "cost": bindparam("cost"),
            "seed": bindparam("seed"),
            "state": const(JobState.QUEUED),
            "created_at": bindparam("now"),
            "updated_at": bindparam("now"),
            "deadline_at": bindparam("deadline_at"),
            "source_job_id": bindparam("source_job_id"),
            "operation": bindparam("operation"),
            "text": bindparam("text"),
            "voice": bindparam("voice"),
        },
        returning=[jobs.c.seq],
    )
)
_INSERT_OUTPUT = Statement(
    insert_or_skip(
        job_outputs,
        ["job_id"],
        {"job_id": bindparam("job_id"), "audio": bindparam("audio"), "created_at": bindparam("now")},
    )
)
_OUTPUT = Statement(select(job_outputs.c.audio).where(job_outputs.c.job_id == bindparam("id")))
_INSERT_CLIP = Statement(
    insert(job_inputs).values(
        job_id=bindparam("job_id"),
        audio=bindparam("audio"),
        sample_rate=bindparam("sample_rate"),
        seconds=bindparam("seconds"),
        created_at=bindparam("now"),
    )
)

# --- steps -----------------------------------------------------------------------------------

_GENERATING_COUNT = Statement(select(func.count()).select_from(jobs).where(jobs.c.state.in_(consts(GENERATING))))
_ACTIVE = (
    select(jobs.c.person_id, func.count().label("n"))
    .where(jobs.c.state.in_(consts(GENERATING)))
    .group_by(jobs.c.person_id)
    .cte("active")
)
_RANKED = (
    select(
        jobs.c.id,
        jobs.c.person_id,
        jobs.c.seq,
        func.row_number().over(partition_by=jobs.c.person_id, order_by=jobs.c.seq).label("rn"),
    )
    .where(_QUEUED_STATE, jobs.c.deadline_at > bindparam("now"))
    .cte("ranked")
)
# Oldest first, but a person at their limit does not hold up the others.
_CLAIMABLE = Statement(
    select(_RANKED.c.id)
    .select_from(_RANKED.outerjoin(_ACTIVE, _ACTIVE.c.person_id == _RANKED.c.person_id))
    .where(_RANKED.c.rn + func.coalesce(_ACTIVE.c.n, const(0)) <= bindparam("per_person"))
    .order_by(_RANKED.c.seq)
    .limit(bindparam("limit"))
)
_CLAIM = Statement(
    update(jobs)
    .where(jobs.c.id == bindparam("id"), _QUEUED_STATE)
    .values(
        state=const(JobState.SUBMITTED),
        worker_id=bindparam("worker_id"),
        lease_until=bindparam("lease_until"),
        started_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(*COLUMNS)
)
_ADOPT = Statement(
    update(jobs)
    .where(
        jobs.c.state.in_(consts(ACTIVE)),
        or_(
            jobs.c.worker_id == bindparam("worker_id"),
            jobs.c.worker_id.is_(None),
            jobs.c.lease_until.is_(None),
            jobs.c.lease_until < bindparam("now"),
        ),
    )
    .values(worker_id=bindparam("worker_id"), lease_until=bindparam("lease_until"), updated_at=bindparam("now"))
    .returning(*COLUMNS)
)
_RENEW = Statement(
    update(jobs)
    .where(jobs.c.worker_id == bindparam("worker_id"), jobs.c.state.in_(consts(ACTIVE)))
    .values(lease_until=bindparam("lease_until"))
)
_PURGE = Statement(
    delete(job_inputs).where(
        job_inputs.c.created_at < bindparam("before"),
        job_inputs.c.job_id.in_(select(jobs.c.id).where(jobs.c.state.in_(consts(TERMINAL)))),
    )
)
_PURGE_OUTPUTS = Statement(delete(job_outputs).where(job_outputs.c.created_at < bindparam("before")))


def _step(source: frozenset[JobState], target: JobState, **values: object) -> Statement:
    """Move a job to `target`, only while it is in one of the `source` states; the job after."""
    return Statement(
        update(jobs)
        .where(jobs.c.id == bindparam("id"), jobs.c.state.in_(consts(source)))
        .values(state=const(target), updated_at=bindparam("now"), **values)
        .returning(*COLUMNS)
    )


@functools.cache
def _advance(source: frozenset[JobState], target: JobState) -> Statement:
    return _step(
        source,
        target,
        worker_id=bindparam("worker_id"),
        lease_until=bindparam("lease_until"),
        prediction_id=func.coalesce(bindparam("prediction_id", type_=String), jobs.c.prediction_id),
        output_url=func.coalesce(bindparam("output_url", type_=String), jobs.c.output_url),
        submission_ref=func.coalesce(bindparam("submission_ref", type_=String), jobs.c.submission_ref),
    )


@functools.cache
def _conclude(source: frozenset[JobState], target: JobState) -> Statement:
    return _step(
        source,
        target,
        finished_at=bindparam("now"),
        error=bindparam("error"),
        error_detail=bindparam("error_detail"),
        lease_until=null(),
        delivery_ref=bindparam("delivery_ref"),
    )


class SqlJobStore:
    """`JobStore` (core/ports.py): each call is one unit of work."""

    def __init__(self, db: Database, ledger: SqlLedgerStore) -> None:
        self.db = db
        self.ledger = ledger  # its committed system-account ids are what `conclude` captures into

    async def create(self, job: NewJob, clip: PreparedClip | None, *, now: dt.datetime) -> Created:
        def work(conn: Connection) -> Created:
            inserted = one(
                conn,
                _INSERT_JOB,
                id=job.job_id,
                request_key=job.request_key,
                person_id=job.person_id,
                wallet_id=job.wallet_id,
                identity=job.identity,
                platform=job.platform,
                reply_to=json.dumps(dict(job.reply_to), separators=(",", ":"), sort_keys=True),
                style=job.style,
                seconds=job.seconds,
                cost=job.cost,
                seed=job.seed,
                now=to_db_time(conn, now),
                deadline_at=to_db_time(conn, job.deadline_at),
                source_job_id=job.source_job_id,
                operation=job.operation,
                text=job.text,
                voice=job.voice,
            )
            if inserted is None:  # the same request again (a double tap): the first job stands
                existing = find_by_request(conn, job.request_key)
                assert existing is not None
                return Created(existing, balance(conn, existing.wallet_id), position(conn, existing), True)
            if clip is not None:
                run(
                    conn,
                    _INSERT_CLIP,
                    job_id=job.job_id,
                    audio=clip.audio,
                    sample_rate=clip.sample_rate,
                    seconds=clip.seconds,
                    now=to_db_time(conn, now),
                )
            # Raises InsufficientCredits / WalletFrozen: the savepoint then drops the job row as well.
            outcome = place_hold(conn, hold_key(job.job_id), job.wallet_id, job.cost, job.hold_expires_at, now)
            created = get(conn, job.job_id)
            assert created is not None
            return Created(created, outcome.balance, position(conn, created))

        return await self.db.write(work, wallets=[job.wallet_id], holds=[hold_key(job.job_id)])

    async def get(self, job_id: str) -> Job | None:
        return await self.db.read_point(lambda c: get(c, job_id))

    async def get_of(self, job_id: str, person_id: int) -> Job | None:
        return await self.db.read_point(lambda c: _job(one(c, _BY_ID_OF, id=job_id, person_id=person_id)))

    async def find_by_request(self, request_key: str) -> Job | None:
        return await self.db.read_point(lambda c: find_by_request(c, request_key))

    async def find_by_prediction(self, prediction_id: str) -> Job | None:
        return await self.db.read_point(lambda c: _job(one(c, _BY_PREDICTION, pid=prediction_id)))

    async def awaiting_prediction(self, submission_ref: str) -> list[str]:
        return await self.db.read(lambda c: [str(row[0]) for row in every(c, _AWAITING_PREDICTION, ref=submission_ref)])

    async def record_cost(self, job_id: str, cost_micros: int) -> None:
        def work(conn: Connection) -> None:
            run(conn, _RECORD_COST, id=job_id, cost=cost_micros)

        await self.db.write(work)

    async def clip(self, job_id: str) -> PreparedClip | None:
        def work(conn: Connection) -> PreparedClip | None:
            row = one(conn, _CLIP, id=job_id)
            if row is None:
                return None
            return PreparedClip(audio=as_bytes(row[0]), sample_rate=as_int(row[1]), seconds=as_float(row[2]))

        return await self.db.read(work)

    async def claim(
        self,
        *,
        worker_id: str,
        slots: int,
        global_limit: int,
        per_person: int,
        now: dt.datetime,
        lease_until: dt.datetime,
    ) -> list[Job]:
        def work(conn: Connection) -> list[Job]:
            room = min(slots, global_limit - as_int(scalar(conn, _GENERATING_COUNT)))
            if room <= 0:
                return []
            stamp, until = to_db_time(conn, now), to_db_time(conn, lease_until)
            claimed = []
            for (job_id,) in every(conn, _CLAIMABLE, now=stamp, per_person=per_person, limit=room):
                row = one(conn, _CLAIM, id=job_id, worker_id=worker_id, lease_until=until, now=stamp)
                if row is not None:
                    claimed.append(job_from_row(row))
            return claimed

        return await self.db.write(work)

    async def advance(
        self,
        job_id: str,
        source: frozenset[JobState],
        target: JobState,
        *,
        now: dt.datetime,
        worker_id: str,
        lease_until: dt.datetime | None,
        prediction_id: str | None = None,
        output_url: str | None = None,
        submission_ref: str | None = None,
    ) -> Job | None:
        if target in TERMINAL:
            raise ValueError("a terminal step goes through conclude()")
        statement = _advance(source, target)

        def work(conn: Connection) -> Job | None:
            row = one(
                conn,
                statement,
                id=job_id,
                worker_id=worker_id,
                lease_until=to_db_time(conn, lease_until),
                now=to_db_time(conn, now),
                prediction_id=prediction_id,
                output_url=output_url,
                submission_ref=submission_ref,
            )
            return _job(row)

        return await self.db.write(work)

    async def conclude(
        self,
        job_id: str,
        source: frozenset[JobState],
        target: JobState,
        *,
        now: dt.datetime,
        error: str | None = None,
        error_detail: str | None = None,
        delivery_ref: str | None = None,
        output: bytes | None = None,
    ) -> Concluded | None:
        """The terminal step and its ledger operation (and a succeeded job's kept clip),
        together or not at all."""
        if target not in TERMINAL:
            raise ValueError("conclude() is for terminal steps")
        statement, system = _conclude(source, target), self.ledger.system

        def work(conn: Connection) -> Concluded | None:
            row = one(
                conn,
                statement,
                id=job_id,
                now=to_db_time(conn, now),
                error=error,
                error_detail=(error_detail or None) and error_detail[:MAX_ERROR_DETAIL],
                delivery_ref=(delivery_ref or None) and delivery_ref[:MAX_DELIVERY_REF],
            )
            if row is None:
                return None
            job = job_from_row(row)
            if target == JobState.SUCCEEDED:
                if output is not None:
                    run(conn, _INSERT_OUTPUT, job_id=job_id, audio=output, now=to_db_time(conn, now))
                outcome = capture_hold(conn, system, job.hold_key, now)
                return Concluded(job, charged=outcome.amount, released=0, balance=outcome.balance)
            outcome = release_hold(conn, job.hold_key, now)
            # A hold the sweep already expired gave its credits back then: nothing more to release.
            released = 0 if outcome.duplicate else outcome.amount
            return Concluded(job, charged=0, released=released, balance=outcome.balance)

        return await self.db.write(work, holds=[hold_key(job_id)])

    async def position(self, job: Job) -> int | None:
        return await self.db.read(lambda c: position(c, job))

    async def queued(self, *, limit: int = 1000) -> list[JobView]:
        def work(conn: Connection) -> list[JobView]:
            return [JobView(job_from_row(row), n) for n, row in enumerate(every(conn, _QUEUED, limit=limit), 1)]

        return await self.db.read(work)

    async def unfinished_of(self, person_id: int) -> list[JobView]:
        def work(conn: Connection) -> list[JobView]:
            return [
                JobView(job_from_row(row[:-1]), None if row[-1] is None else as_int(row[-1]))
                for row in every(conn, _UNFINISHED_OF, person_id=person_id)
            ]

        return await self.db.read(work)

    async def recent_of(self, person_id: int, *, limit: int = 10) -> list[Job]:
        def work(conn: Connection) -> list[Job]:
            return [job_from_row(row) for row in every(conn, _RECENT_OF, person_id=person_id, limit=limit)]

        return await self.db.read(work)

    async def adopt(self, *, worker_id: str, now: dt.datetime, lease_until: dt.datetime) -> list[Job]:
        def work(conn: Connection) -> list[Job]:
            rows = every(
                conn,
                _ADOPT,
                worker_id=worker_id,
                lease_until=to_db_time(conn, lease_until),
                now=to_db_time(conn, now),
            )
            return sorted((job_from_row(row) for row in rows), key=lambda j: (j.created_at or now, j.job_id))

        return await self.db.write(work)

    async def renew(self, worker_id: str, *, lease_until: dt.datetime) -> None:
        def work(conn: Connection) -> None:
            run(conn, _RENEW, worker_id=worker_id, lease_until=to_db_time(conn, lease_until))

        await self.db.write(work)

    async def overdue(self, *, now: dt.datetime, states: frozenset[JobState]) -> list[Job]:
        statement = _overdue(states)
        return await self.db.read(lambda c: [job_from_row(row) for row in every(c, statement, now=to_db_time(c, now))])

    async def with_expired_holds(self) -> list[Job]:
        return await self.db.read(lambda c: [job_from_row(row) for row in every(c, _WITH_EXPIRED_HOLDS)])

    async def output(self, job_id: str) -> bytes | None:
        row = await self.db.read(lambda c: one(c, _OUTPUT, id=job_id))
        return None if row is None else as_bytes(row[0])

    async def purge_inputs(self, *, before: dt.datetime) -> int:
        def work(conn: Connection) -> int:
            at = to_db_time(conn, before)
            return int(run(conn, _PURGE, before=at).rowcount) + int(run(conn, _PURGE_OUTPUTS, before=at).rowcount)

        return await self.db.write(work)
