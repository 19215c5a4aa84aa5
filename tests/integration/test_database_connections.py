"""On PostgreSQL a process holds at most its budget of connections (`DATABASE_CONNECTIONS`),
however many reads and writes arrive at once: the rest wait for one, and every one succeeds.
Several processes share the server's `max_connections`; a process that took more would leave
the next one refused ("too many clients already")."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest
from sqlalchemy import Connection

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from core.domain.ledger import Grant, Reason

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
BUDGET = 6  # 2 writers, 4 readers


def _slow_read(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT 1 FROM pg_sleep(0.05)").scalar_one())


@pytest.mark.postgres
async def test_a_burst_of_reads_and_writes_stays_within_the_connection_budget(postgres_url: str):
    dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    watcher = await asyncpg.connect(dsn)
    most = 0
    watching = True

    async def watch() -> None:
        nonlocal most
        while watching:
            here = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            most = max(most, int(here))
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(watch())
    try:
        async with Database(postgres_url, postgres_writers=2, postgres_connections=BUDGET) as database:
            store = SqlLedgerStore(database)
            await store.prepare()
            people = [
                await store.ensure_person(f"console:p{i}", welcome=lambda person: None, now=NOW) for i in range(30)
            ]
            results = await asyncio.gather(
                *(database.read(_slow_read) for _ in range(40)),
                *(database.read_point(_slow_read) for _ in range(40)),
                *(store.grant(Grant(f"seed:{p.person_id}", p.wallet_id, 5, Reason.OPERATOR), now=NOW) for p in people),
            )
            reads, grants = results[:80], results[80:]
            assert reads == [1] * 80
            assert [g.amount for g in grants] == [5] * 30  # type: ignore[attr-defined]
            assert [(await store.balance(p.wallet_id)).available for p in people] == [5] * 30
    finally:
        watching = False
        await sampler
        await watcher.close()
    assert 2 <= most <= BUDGET  # pools that opened more for a burst reached 44 per process
