"""The job store's units of work: plain SQL over one `Connection` (see `adapters.storage.sql`).

Each function runs inside its own SAVEPOINT of a batched write (or a read transaction). Every
step of a job is one guarded UPDATE (`... WHERE id = :id AND state IN (<sources>)`), so racing
workers, webhooks and pollers apply it once; a job with its hold, and a terminal step with its
capture or release, are composed from `ledger_sql` in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection

from adapters.storage import ledger_sql
from adapters.storage.ledger_sql import SystemAccounts
from adapters.storage.sql import Statement as S
from adapters.storage.sql import every, from_db_time, one, run, scalar, to_db_time
from core.domain.generation import PreparedClip
from core.domain.jobs import (
    ACTIVE,
    GENERATING,
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


def _states(states: frozenset[JobState]) -> str:
    """An SQL list of state names (enum values only, never user input)."""
    return ", ".join(f"'{s.value}'" for s in sorted(states))


ACTIVE_SQL = _states(ACTIVE)
GENERATING_SQL = _states(GENERATING)  # what the limits count
TERMINAL_SQL = _states(TERMINAL)
UNFINISHED_SQL = _states(UNFINISHED)

MAX_DELIVERY_REF = 300  # jobs.delivery_ref

COLUMNS = (
    "id, request_key, person_id, wallet_id, identity, platform, reply_to, style, seconds, cost, "
    "seed, state, prediction_id, output_url, error, error_detail, worker_id, lease_until, "
    "created_at, updated_at, started_at, finished_at, deadline_at, source_job_id, delivery_ref"
)


def job_from_row(row: tuple[Any, ...]) -> Job:
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
    ) = row
    return Job(
        job_id=str(job_id),
        request_key=str(request_key),
        person_id=int(person_id),
        wallet_id=int(wallet_id),
        identity=str(identity),
        platform=str(platform),
        reply_to=json.loads(reply_to or "{}"),
        style=str(style),
        seconds=int(seconds),
        cost=int(cost),
        seed=int(seed),
        state=JobState(state),
        prediction_id=prediction_id,
        output_url=output_url,
        error=error,
        error_detail=error_detail,
        worker_id=worker_id,
        lease_until=from_db_time(lease_until),
        created_at=from_db_time(created_at),
        updated_at=from_db_time(updated_at),
        started_at=from_db_time(started_at),
        finished_at=from_db_time(finished_at),
        deadline_at=from_db_time(deadline_at),
        source_job_id=source_job_id,
        delivery_ref=delivery_ref,
    )


# --- reads ---------------------------------------------------------------------------------

_BY_ID = S(f"SELECT {COLUMNS} FROM jobs WHERE id = :id")
_BY_REQUEST = S(f"SELECT {COLUMNS} FROM jobs WHERE request_key = :key")
_BY_PREDICTION = S(f"SELECT {COLUMNS} FROM jobs WHERE prediction_id = :pid")
_CLIP = S("SELECT audio, sample_rate, seconds FROM job_inputs WHERE job_id = :id")
_POSITION = S("""
    SELECT COUNT(*) + 1 FROM jobs
    WHERE state = 'queued' AND seq < (SELECT seq FROM jobs WHERE id = :id)""")
# A job keeps the person it was made for; account linking may since have merged that person
# into another (`person_links`, kept flat): the survivor's jobs include the absorbed one's.
_OF_PERSON = """(person_id = :person_id OR person_id IN (
    SELECT absorbed_person_id FROM person_links WHERE survivor_person_id = :person_id))"""
_UNFINISHED_OF = S(f"""
    SELECT {COLUMNS}, CASE WHEN j.state = 'queued'
        THEN (SELECT COUNT(*) + 1 FROM jobs q WHERE q.state = 'queued' AND q.seq < j.seq) END
    FROM jobs j WHERE {_OF_PERSON} AND j.state IN ({UNFINISHED_SQL}) ORDER BY j.seq""")
_RECENT_OF = S(f"SELECT {COLUMNS} FROM jobs WHERE {_OF_PERSON} ORDER BY seq DESC LIMIT :limit")
_BY_ID_OF = S(f"SELECT {COLUMNS} FROM jobs WHERE id = :id AND {_OF_PERSON}")
_WITH_EXPIRED_HOLDS = S(f"""
    SELECT {", ".join("j." + c.strip() for c in COLUMNS.split(","))} FROM jobs j
    JOIN holds h ON h.key = 'hold:' || j.id
    WHERE j.state IN ({UNFINISHED_SQL}) AND h.state = 'expired' ORDER BY j.seq LIMIT 500""")


def get(conn: Connection, job_id: str) -> Job | None:
    row = one(conn, _BY_ID, id=job_id)
    return None if row is None else job_from_row(row)


def get_of(conn: Connection, job_id: str, person_id: int) -> Job | None:
    row = one(conn, _BY_ID_OF, id=job_id, person_id=person_id)
    return None if row is None else job_from_row(row)


def find_by_request(conn: Connection, request_key: str) -> Job | None:
    row = one(conn, _BY_REQUEST, key=request_key)
    return None if row is None else job_from_row(row)


def find_by_prediction(conn: Connection, prediction_id: str) -> Job | None:
    row = one(conn, _BY_PREDICTION, pid=prediction_id)
    return None if row is None else job_from_row(row)


def clip(conn: Connection, job_id: str) -> PreparedClip | None:
    row = one(conn, _CLIP, id=job_id)
    if row is None:
        return None
    return PreparedClip(audio=bytes(row[0]), sample_rate=int(row[1]), seconds=float(row[2]))


def position(conn: Connection, job: Job) -> int | None:
    if job.state != JobState.QUEUED:
        return None
    return int(scalar(conn, _POSITION, id=job.job_id))


_QUEUED = S(f"SELECT {COLUMNS} FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT :limit")


def queued(conn: Connection, limit: int) -> list[JobView]:
    return [JobView(job_from_row(row), n) for n, row in enumerate(every(conn, _QUEUED, limit=limit), 1)]


def unfinished_of(conn: Connection, person_id: int) -> list[JobView]:
    return [
        JobView(job_from_row(row[:-1]), None if row[-1] is None else int(row[-1]))
        for row in every(conn, _UNFINISHED_OF, person_id=person_id)
    ]


def recent_of(conn: Connection, person_id: int, limit: int) -> list[Job]:
    return [job_from_row(row) for row in every(conn, _RECENT_OF, person_id=person_id, limit=limit)]


def with_expired_holds(conn: Connection) -> list[Job]:
    return [job_from_row(row) for row in every(conn, _WITH_EXPIRED_HOLDS)]


_OVERDUE: dict[frozenset[JobState], S] = {}


def overdue(conn: Connection, now: dt.datetime, states: frozenset[JobState]) -> list[Job]:
    statement = _OVERDUE.get(states)
    if statement is None:
        statement = _OVERDUE[states] = S(
            f"SELECT {COLUMNS} FROM jobs WHERE state IN ({_states(states)}) AND deadline_at < :now "
            "ORDER BY seq LIMIT 500"
        )
    return [job_from_row(row) for row in every(conn, statement, now=to_db_time(conn, now))]


# --- create: the job, its clip and its hold, in one transaction ------------------------------

_INSERT_JOB = S("""
    INSERT INTO jobs (id, request_key, person_id, wallet_id, identity, platform, reply_to, style,
        seconds, cost, seed, state, created_at, updated_at, deadline_at, source_job_id)
    VALUES (:id, :request_key, :person_id, :wallet_id, :identity, :platform, :reply_to, :style,
        :seconds, :cost, :seed, 'queued', :now, :now, :deadline_at, :source_job_id)
    ON CONFLICT (request_key) DO NOTHING RETURNING seq""")
_INSERT_CLIP = S("""
    INSERT INTO job_inputs (job_id, audio, sample_rate, seconds, created_at)
    VALUES (:job_id, :audio, :sample_rate, :seconds, :now)""")


def create(conn: Connection, new: NewJob, prepared: PreparedClip, now: dt.datetime) -> Created:
    inserted = one(
        conn,
        _INSERT_JOB,
        id=new.job_id,
        request_key=new.request_key,
        person_id=new.person_id,
        wallet_id=new.wallet_id,
        identity=new.identity,
        platform=new.platform,
        reply_to=json.dumps(dict(new.reply_to), separators=(",", ":"), sort_keys=True),
        style=new.style,
        seconds=new.seconds,
        cost=new.cost,
        seed=new.seed,
        now=to_db_time(conn, now),
        deadline_at=to_db_time(conn, new.deadline_at),
        source_job_id=new.source_job_id,
    )
    if inserted is None:  # the same request again (a double tap): the first job stands
        existing = find_by_request(conn, new.request_key)
        assert existing is not None
        return Created(existing, ledger_sql.balance(conn, existing.wallet_id), position(conn, existing), True)
    run(
        conn,
        _INSERT_CLIP,
        job_id=new.job_id,
        audio=prepared.audio,
        sample_rate=prepared.sample_rate,
        seconds=prepared.seconds,
        now=to_db_time(conn, now),
    )
    # Raises InsufficientCredits / WalletFrozen: the savepoint then drops the job row as well.
    outcome = ledger_sql.hold(conn, hold_key(new.job_id), new.wallet_id, new.cost, new.hold_expires_at, now)
    job = get(conn, new.job_id)
    assert job is not None
    return Created(job, outcome.balance, position(conn, job))


# --- steps -----------------------------------------------------------------------------------

_CLAIMABLE = S(f"""
    WITH active AS (
        SELECT person_id, COUNT(*) AS n FROM jobs WHERE state IN ({GENERATING_SQL})
        GROUP BY person_id
    ), ranked AS (
        SELECT id, person_id, seq, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY seq) AS rn
        FROM jobs WHERE state = 'queued' AND deadline_at > :now
    )
    SELECT r.id FROM ranked r LEFT JOIN active a ON a.person_id = r.person_id
    WHERE r.rn + COALESCE(a.n, 0) <= :per_person ORDER BY r.seq LIMIT :limit""")
_GENERATING_COUNT = S(f"SELECT COUNT(*) FROM jobs WHERE state IN ({GENERATING_SQL})")
_CLAIM = S(f"""
    UPDATE jobs SET state = 'submitted', worker_id = :worker_id, lease_until = :lease_until,
        started_at = :now, updated_at = :now
    WHERE id = :id AND state = 'queued' RETURNING {COLUMNS}""")


def claim(
    conn: Connection,
    worker_id: str,
    slots: int,
    global_limit: int,
    per_person: int,
    now: dt.datetime,
    lease_until: dt.datetime,
) -> list[Job]:
    """Oldest queued jobs first, but a person at their limit does not hold up the others."""
    room = min(slots, global_limit - int(scalar(conn, _GENERATING_COUNT)))
    if room <= 0:
        return []
    db_now = to_db_time(conn, now)
    ids = [row[0] for row in every(conn, _CLAIMABLE, now=db_now, per_person=per_person, limit=room)]
    claimed = []
    for job_id in ids:
        row = one(
            conn,
            _CLAIM,
            id=job_id,
            worker_id=worker_id,
            lease_until=to_db_time(conn, lease_until),
            now=db_now,
        )
        if row is not None:
            claimed.append(job_from_row(row))
    return claimed


_ADVANCE: dict[tuple[frozenset[JobState], JobState], S] = {}


def advance(
    conn: Connection,
    job_id: str,
    source: frozenset[JobState],
    target: JobState,
    now: dt.datetime,
    worker_id: str | None,
    lease_until: dt.datetime | None,
    prediction_id: str | None,
    output_url: str | None,
) -> Job | None:
    if target in TERMINAL:
        raise ValueError("a terminal step goes through conclude()")
    statement = _ADVANCE.get((source, target))
    if statement is None:
        statement = _ADVANCE[(source, target)] = S(f"""
            UPDATE jobs SET state = '{target.value}', worker_id = :worker_id,
                lease_until = :lease_until, updated_at = :now,
                prediction_id = COALESCE(:prediction_id, prediction_id),
                output_url = COALESCE(:output_url, output_url)
            WHERE id = :id AND state IN ({_states(source)}) RETURNING {COLUMNS}""")
    row = one(
        conn,
        statement,
        id=job_id,
        worker_id=worker_id,
        lease_until=to_db_time(conn, lease_until),
        now=to_db_time(conn, now),
        prediction_id=prediction_id,
        output_url=output_url,
    )
    return None if row is None else job_from_row(row)


_CONCLUDE: dict[tuple[frozenset[JobState], JobState], S] = {}
_SUCCEEDED_COUNT = S("SELECT COUNT(*) FROM jobs WHERE person_id = :person_id AND state = 'succeeded'")


def conclude(
    conn: Connection,
    system: SystemAccounts,
    job_id: str,
    source: frozenset[JobState],
    target: JobState,
    now: dt.datetime,
    error: str | None,
    error_detail: str | None,
    delivery_ref: str | None = None,
) -> Concluded | None:
    """The terminal step and its ledger operation, together or not at all."""
    if target not in TERMINAL:
        raise ValueError("conclude() is for terminal steps")
    statement = _CONCLUDE.get((source, target))
    if statement is None:
        statement = _CONCLUDE[(source, target)] = S(f"""
            UPDATE jobs SET state = '{target.value}', finished_at = :now, updated_at = :now,
                error = :error, error_detail = :error_detail, lease_until = NULL,
                delivery_ref = :delivery_ref
            WHERE id = :id AND state IN ({_states(source)}) RETURNING {COLUMNS}""")
    row = one(
        conn,
        statement,
        id=job_id,
        now=to_db_time(conn, now),
        error=error,
        error_detail=(error_detail or None) and error_detail[:500],
        delivery_ref=(delivery_ref or None) and delivery_ref[:MAX_DELIVERY_REF],
    )
    if row is None:
        return None
    job = job_from_row(row)
    if target == JobState.SUCCEEDED:
        outcome = ledger_sql.capture(conn, system, job.hold_key, now)
        first = int(scalar(conn, _SUCCEEDED_COUNT, person_id=job.person_id)) == 1
        return Concluded(job, charged=outcome.amount, released=0, balance=outcome.balance, first_success=first)
    outcome = ledger_sql.release(conn, job.hold_key, now)
    # A hold the sweep already expired gave its credits back then: nothing more to release.
    return Concluded(job, charged=0, released=0 if outcome.duplicate else outcome.amount, balance=outcome.balance)


_ADOPT = S(f"""
    UPDATE jobs SET worker_id = :worker_id, lease_until = :lease_until, updated_at = :now
    WHERE state IN ({ACTIVE_SQL})
        AND (worker_id = :worker_id OR worker_id IS NULL
            OR lease_until IS NULL OR lease_until < :now)
    RETURNING {COLUMNS}""")
_RENEW = S(f"""
    UPDATE jobs SET lease_until = :lease_until
    WHERE worker_id = :worker_id AND state IN ({ACTIVE_SQL})""")
_PURGE = S(f"""
    DELETE FROM job_inputs WHERE created_at < :before
        AND job_id IN (SELECT id FROM jobs WHERE state IN ({TERMINAL_SQL}))""")


def adopt(conn: Connection, worker_id: str, now: dt.datetime, lease_until: dt.datetime) -> list[Job]:
    rows = every(
        conn,
        _ADOPT,
        worker_id=worker_id,
        lease_until=to_db_time(conn, lease_until),
        now=to_db_time(conn, now),
    )
    return sorted((job_from_row(row) for row in rows), key=lambda j: (j.created_at or now, j.job_id))


def renew(conn: Connection, worker_id: str, lease_until: dt.datetime) -> None:
    run(conn, _RENEW, worker_id=worker_id, lease_until=to_db_time(conn, lease_until))


def purge_inputs(conn: Connection, before: dt.datetime) -> int:
    return int(run(conn, _PURGE, before=to_db_time(conn, before)).rowcount)
