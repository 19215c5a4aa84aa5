"""`Database.read_point`: a point read on the event loop thread (SQLite) that never sits on a
snapshot and moves to a reader thread when SQLite is busy; on PostgreSQL, a read on a connection
kept checked out between point reads, dropped when cancelled mid-statement or cut."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from sqlalchemy import Connection

from adapters.storage.database import Database, sqlite_path
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.persons import find_person
from core.clock import ManualClock

IDENTITY = "telegram:42"


def _persons(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT count(*) FROM persons").scalar_one())


async def test_a_point_read_sees_each_committed_write(database: Database):
    store = SqlLedgerStore(database)
    assert await store.find_wallet(IDENTITY) is None
    await store.ensure_person(IDENTITY, welcome=lambda person: None, now=ManualClock().now())
    found = await store.find_wallet(IDENTITY)
    assert found is not None and found[1].available == 0
    before = await database.read_point(_persons)
    await store.ensure_person("telegram:43", welcome=lambda person: None, now=ManualClock().now())
    assert await database.read_point(_persons) == before + 1  # no stale snapshot held between reads


async def test_sqlite_point_reads_run_on_the_loop_thread_and_leave_no_transaction_open(database: Database):
    if not database.sqlite:
        pytest.skip("SQLite only: PostgreSQL point reads are plain reads")
    where = await database.read_point(lambda conn: threading.current_thread())
    assert where is threading.current_thread()
    await database.read_point(_persons)  # SQLAlchemy begins a transaction here: it must be ended
    await SqlLedgerStore(database).ensure_person(IDENTITY, welcome=lambda person: None, now=ManualClock().now())

    path = sqlite_path(database.url)
    assert path is not None
    with sqlite3.connect(path) as outsider:  # as a backup tool or another process would
        busy, _, _ = outsider.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0  # no reader left holding back the checkpoint


async def test_a_busy_sqlite_sends_the_point_read_to_a_reader_thread(database: Database):
    if not database.sqlite:
        pytest.skip("SQLite only")
    loop_thread = threading.current_thread()
    attempts: list[str] = []

    def work(conn: Connection) -> str:
        attempts.append(threading.current_thread().name)
        if threading.current_thread() is loop_thread:
            raise sqlite3.OperationalError("database is locked")
        return find_person(conn, IDENTITY) is None and "read elsewhere"

    assert await database.read_point(work) == "read elsewhere"
    assert attempts[0] == loop_thread.name and attempts[1].startswith("db-read")


def _backend(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
async def test_postgres_point_reads_keep_a_few_connections_and_drop_one_cancelled_mid_statement(
    database: Database, backend: str
):
    kept_at_most = database.kept_point_readers
    one_after_another = {await database.read_point(_backend) for _ in range(20)}
    assert len(one_after_another) == 1  # the same kept connection, no checkout in between

    at_once = await asyncio.gather(*(database.read_point(_backend) for _ in range(kept_at_most + 8)))
    assert len(set(at_once)) > 1  # a burst opens more, and keeps at most its share of them
    kept = {await database.read_point(_backend) for _ in range(3 * kept_at_most)}
    assert len(kept) <= kept_at_most

    # A statement that fails leaves the connection fit to keep (autocommit: nothing was open).
    with pytest.raises(Exception, match="division by zero"):
        await database.read_point(lambda conn: conn.exec_driver_sql("SELECT 1 / 0").scalar_one())
    assert await database.read_point(_persons) >= 0

    # Cancelled mid-statement, a connection is dropped, not handed to the next read.
    cancelled: list[int] = []

    def sleep(conn: Connection) -> object:
        cancelled.append(_backend(conn))
        return conn.exec_driver_sql("SELECT pg_sleep(5)").scalar()

    slow = asyncio.create_task(database.read_point(sleep))
    await asyncio.sleep(0.3)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    after = await asyncio.gather(*(database.read_point(_backend) for _ in range(kept_at_most)))
    assert cancelled and cancelled[0] not in after
    sleeping = await database.read(
        lambda conn: conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)' AND state = 'active'"
        ).scalar_one()
    )
    assert sleeping == 0  # the statement itself was cancelled too
