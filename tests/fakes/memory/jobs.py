"""Generation jobs in memory: `JobStore`, with the same contracts as SQL.

Every step applies only while the job is in one of its `source` states; a job and its hold, and
a terminal step and its capture or release, are one transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from adapters.storage.jobs import MAX_DELIVERY_REF, MAX_ERROR_DETAIL
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
)
from core.domain.ledger import HoldState
from tests.fakes.memory.ledger import balance, capture_hold, place_hold, release_hold
from tests.fakes.memory.world import JobRow, World


class FakeJobStore:
    def __init__(self, world: World) -> None:
        self.world = world

    def _rows(self) -> list[JobRow]:
        return sorted(self.world.jobs.values(), key=lambda row: row.seq)

    def _position(self, job: Job) -> int | None:
        if job.state != JobState.QUEUED:
            return None
        seq = self.world.jobs[job.job_id].seq
        return 1 + sum(1 for row in self._rows() if row.job.state == JobState.QUEUED and row.seq < seq)

    def _of_person(self, job: Job, person_id: int) -> bool:
        return job.person_id == person_id or self.world.person_links.get(job.person_id) == person_id

    def _set(self, job: Job, **changes: object) -> Job:
        changed = dataclasses.replace(job, **changes)  # type: ignore[arg-type]
        self.world.jobs[job.job_id].job = changed
        return changed

    async def create(self, job: NewJob, clip: PreparedClip | None, *, now: dt.datetime) -> Created:
        with self.world.transaction():
            existing = next((row.job for row in self._rows() if row.job.request_key == job.request_key), None)
            if existing is not None:
                return Created(existing, balance(self.world, existing.wallet_id), self._position(existing), True)
            made = Job(
                job_id=job.job_id,
                request_key=job.request_key,
                person_id=job.person_id,
                wallet_id=job.wallet_id,
                identity=job.identity,
                platform=job.platform,
                reply_to=dict(job.reply_to),
                style=job.style,
                seconds=job.seconds,
                cost=job.cost,
                seed=job.seed,
                state=JobState.QUEUED,
                created_at=now,
                updated_at=now,
                deadline_at=job.deadline_at,
                source_job_id=job.source_job_id,
                operation=job.operation,
                text=job.text,
                voice=job.voice,
            )
            self.world.jobs[job.job_id] = JobRow(self.world.next_id(), made)
            if clip is not None:
                self.world.job_inputs[job.job_id] = (clip, now)
            outcome = place_hold(self.world, made.hold_key, job.wallet_id, job.cost, job.hold_expires_at, now)
            return Created(made, outcome.balance, self._position(made))

    async def get(self, job_id: str) -> Job | None:
        row = self.world.jobs.get(job_id)
        return None if row is None else row.job

    async def get_of(self, job_id: str, person_id: int) -> Job | None:
        job = await self.get(job_id)
        return job if job is not None and self._of_person(job, person_id) else None

    async def find_by_request(self, request_key: str) -> Job | None:
        return next((row.job for row in self._rows() if row.job.request_key == request_key), None)

    async def find_by_prediction(self, prediction_id: str) -> Job | None:
        return next((row.job for row in self._rows() if row.job.prediction_id == prediction_id), None)

    async def awaiting_prediction(self, submission_ref: str) -> list[str]:
        return [
            row.job.job_id
            for row in self._rows()
            if row.job.state == JobState.SUBMITTED
            and row.job.submission_ref == submission_ref
            and row.job.prediction_id is None
        ]

    async def record_cost(self, job_id: str, cost_micros: int) -> None:
        with self.world.transaction():
            if job_id in self.world.jobs:
                self.world.job_costs[job_id] = cost_micros

    async def clip(self, job_id: str) -> PreparedClip | None:
        found = self.world.job_inputs.get(job_id)
        return None if found is None else found[0]

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
        with self.world.transaction():
            generating = [row.job for row in self._rows() if row.job.state in GENERATING]
            room = min(slots, global_limit - len(generating))
            busy = {job.person_id: 0 for job in generating}
            for job in generating:
                busy[job.person_id] += 1
            claimed: list[Job] = []
            for row in self._rows():
                job = row.job
                if len(claimed) >= room:
                    break
                if job.state != JobState.QUEUED or job.deadline_at is None or job.deadline_at <= now:
                    continue
                if busy.get(job.person_id, 0) >= per_person:
                    continue  # a person at their limit does not hold up the others
                busy[job.person_id] = busy.get(job.person_id, 0) + 1
                claimed.append(
                    self._set(
                        job,
                        state=JobState.SUBMITTED,
                        worker_id=worker_id,
                        lease_until=lease_until,
                        started_at=now,
                        updated_at=now,
                    )
                )
            return claimed

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
        with self.world.transaction():
            job = await self.get(job_id)
            if job is None or job.state not in source:
                return None
            return self._set(
                job,
                state=target,
                worker_id=worker_id,
                lease_until=lease_until,
                updated_at=now,
                prediction_id=job.prediction_id if prediction_id is None else prediction_id,
                output_url=job.output_url if output_url is None else output_url,
                submission_ref=job.submission_ref if submission_ref is None else submission_ref,
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
        output: bytes | None = None,
    ) -> Concluded | None:
        if target not in TERMINAL:
            raise ValueError("conclude() is for terminal steps")
        with self.world.transaction():
            job = await self.get(job_id)
            if job is None or job.state not in source:
                return None
            job = self._set(
                job,
                state=target,
                finished_at=now,
                updated_at=now,
                error=error,
                error_detail=(error_detail or None) and error_detail[:MAX_ERROR_DETAIL],
                lease_until=None,
                delivery_ref=(delivery_ref or None) and delivery_ref[:MAX_DELIVERY_REF],
            )
            if target == JobState.SUCCEEDED:
                if output is not None:
                    self.world.job_outputs.setdefault(job_id, (output, now))
                outcome = capture_hold(self.world, job.hold_key, now)
                return Concluded(job, outcome.amount, 0, outcome.balance)
            outcome = release_hold(self.world, job.hold_key, now)
            return Concluded(job, 0, 0 if outcome.duplicate else outcome.amount, outcome.balance)

    async def position(self, job: Job) -> int | None:
        return self._position(job)

    async def queued(self, *, limit: int = 1000) -> list[JobView]:
        queue = [row.job for row in self._rows() if row.job.state == JobState.QUEUED][:limit]
        return [JobView(job, n) for n, job in enumerate(queue, 1)]

    async def unfinished_of(self, person_id: int) -> list[JobView]:
        return [
            JobView(row.job, self._position(row.job))
            for row in self._rows()
            if row.job.state in UNFINISHED and self._of_person(row.job, person_id)
        ]

    async def recent_of(self, person_id: int, *, limit: int = 10) -> list[Job]:
        return [row.job for row in reversed(self._rows()) if self._of_person(row.job, person_id)][:limit]

    async def adopt(self, *, worker_id: str, now: dt.datetime, lease_until: dt.datetime) -> list[Job]:
        with self.world.transaction():
            adopted = [
                self._set(row.job, worker_id=worker_id, lease_until=lease_until, updated_at=now)
                for row in self._rows()
                if row.job.state in ACTIVE
                and (row.job.worker_id in (worker_id, None) or row.job.lease_until is None or row.job.lease_until < now)
            ]
            return sorted(adopted, key=lambda j: (j.created_at or now, j.job_id))

    async def renew(self, worker_id: str, *, lease_until: dt.datetime) -> None:
        with self.world.transaction():
            for row in self._rows():
                if row.job.worker_id == worker_id and row.job.state in ACTIVE:
                    self._set(row.job, lease_until=lease_until)

    async def overdue(self, *, now: dt.datetime, states: frozenset[JobState]) -> list[Job]:
        return [
            row.job
            for row in self._rows()
            if row.job.state in states and row.job.deadline_at is not None and row.job.deadline_at < now
        ][:500]

    async def with_expired_holds(self) -> list[Job]:
        return [
            row.job
            for row in self._rows()
            if row.job.state in UNFINISHED
            and (hold := self.world.holds.get(row.job.hold_key)) is not None
            and hold.state == HoldState.EXPIRED
        ][:500]

    async def purge_inputs(self, *, before: dt.datetime) -> int:
        with self.world.transaction():
            gone = [
                job_id
                for job_id, (_clip, made) in self.world.job_inputs.items()
                if made < before and self.world.jobs[job_id].job.state in TERMINAL
            ]
            for job_id in gone:
                del self.world.job_inputs[job_id]
            outputs = [job_id for job_id, (_audio, made) in self.world.job_outputs.items() if made < before]
            for job_id in outputs:
                del self.world.job_outputs[job_id]
            return len(gone) + len(outputs)

    async def output(self, job_id: str) -> bytes | None:
        found = self.world.job_outputs.get(job_id)
        return None if found is None else found[0]
