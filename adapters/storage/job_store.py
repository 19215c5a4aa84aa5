"""`JobStore` over SQL: each call is one unit of work on the batching `Database`."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection

from adapters.storage import job_sql as sql
from adapters.storage.database import Database
from adapters.storage.ledger_sql import SystemAccounts
from core.domain.generation import PreparedClip
from core.domain.jobs import Concluded, Created, Job, JobState, JobView, NewJob

logger = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL: a deadlock or serialization failure between parallel writers. The unit was rolled
# back to its savepoint, so running it again is safe. (The raw driver error reaches us because
# the units use the DBAPI cursor; `Database` retries only SQLAlchemy-wrapped ones.)
_RETRY_SQLSTATES = {"40P01", "40001"}
_RETRIES = 5


class SqlJobStore:
    def __init__(self, db: Database, system: SystemAccounts) -> None:
        self.db = db
        self.system = system  # the ledger store's system account ids (`SqlLedgerStore.system`)

    async def _write(self, work: Callable[[Connection], T]) -> T:
        for attempt in range(1, _RETRIES + 1):
            try:
                return await self.db.write(work)
            except Exception as error:
                sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
                if sqlstate not in _RETRY_SQLSTATES or attempt == _RETRIES:
                    raise
                logger.warning("job write retry %d after %s", attempt, sqlstate)
                await asyncio.sleep(0.005 * 2**attempt)
        raise AssertionError("unreachable")

    async def create(self, job: NewJob, clip: PreparedClip, *, now: dt.datetime) -> Created:
        return await self._write(lambda c: sql.create(c, job, clip, now))

    async def get(self, job_id: str) -> Job | None:
        return await self.db.read(lambda c: sql.get(c, job_id))

    async def get_of(self, job_id: str, person_id: int) -> Job | None:
        return await self.db.read(lambda c: sql.get_of(c, job_id, person_id))

    async def find_by_request(self, request_key: str) -> Job | None:
        return await self.db.read(lambda c: sql.find_by_request(c, request_key))

    async def find_by_prediction(self, prediction_id: str) -> Job | None:
        return await self.db.read(lambda c: sql.find_by_prediction(c, prediction_id))

    async def clip(self, job_id: str) -> PreparedClip | None:
        return await self.db.read(lambda c: sql.clip(c, job_id))

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
        return await self._write(lambda c: sql.claim(c, worker_id, slots, global_limit, per_person, now, lease_until))

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
    ) -> Job | None:
        return await self._write(
            lambda c: sql.advance(c, job_id, source, target, now, worker_id, lease_until, prediction_id, output_url)
        )

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
    ) -> Concluded | None:
        return await self._write(
            lambda c: sql.conclude(c, self.system, job_id, source, target, now, error, error_detail, delivery_ref)
        )

    async def position(self, job: Job) -> int | None:
        return await self.db.read(lambda c: sql.position(c, job))

    async def queued(self, *, limit: int = 1000) -> list[JobView]:
        return await self.db.read(lambda c: sql.queued(c, limit))

    async def unfinished_of(self, person_id: int) -> list[JobView]:
        return await self.db.read(lambda c: sql.unfinished_of(c, person_id))

    async def recent_of(self, person_id: int, *, limit: int = 10) -> list[Job]:
        return await self.db.read(lambda c: sql.recent_of(c, person_id, limit))

    async def adopt(self, *, worker_id: str, now: dt.datetime, lease_until: dt.datetime) -> list[Job]:
        return await self._write(lambda c: sql.adopt(c, worker_id, now, lease_until))

    async def renew(self, worker_id: str, *, lease_until: dt.datetime) -> None:
        await self._write(lambda c: sql.renew(c, worker_id, lease_until))

    async def overdue(self, *, now: dt.datetime, states: frozenset[JobState]) -> list[Job]:
        return await self.db.read(lambda c: sql.overdue(c, now, states))

    async def with_expired_holds(self) -> list[Job]:
        return await self.db.read(sql.with_expired_holds)

    async def purge_inputs(self, *, before: dt.datetime) -> int:
        return await self._write(lambda c: sql.purge_inputs(c, before))
