"""The database runner: every unit of work is a plain function over a SQLAlchemy `Connection`.

Why: the async database layers cost far more per awaited statement than the disk does (NOTES.md:
~850 hold+capture cycles/s when each statement is awaited, ~23,000 when a whole batch runs in the
database thread). So writes are *group-committed*: one writer collects whatever units of work
are queued, runs them in one transaction, each inside its own SAVEPOINT so that one refused
operation rolls back alone, and commits once.

- SQLite: a dedicated writer thread with a synchronous pysqlite connection (`BEGIN IMMEDIATE`,
  so a write transaction never fails with "database is locked" half-way), WAL, busy timeout,
  foreign keys. Reads run on a small thread pool of their own connections.
- PostgreSQL: an asyncpg engine; the same batch function runs through `run_sync` on one
  connection at READ COMMITTED, retried as a whole on deadlock or serialization failure.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from adapters.storage.sql import Savepoint
from core.errors import BotError, InternalError

logger = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Connection], T]  # a unit of work; its result is what `read`/`write` return

MAX_BATCH = 256
# Smaller batches on PostgreSQL so that the parallel writers share the queue.
MAX_POSTGRES_BATCH = 32
BATCH_RETRIES = 5
# How long a point read on the event loop thread may wait for a busy SQLite before it moves to
# a reader thread.
POINT_BUSY_MS = 5
# PostgreSQL SQLSTATEs that mean "run the whole transaction again".
RETRYABLE_SQLSTATES = {"40001", "40P01"}


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> str | None:
    database = make_url(url).database
    return None if database in (None, "", ":memory:") else database


# (True, what the work returned) or (False, the exception it raised or the batch failed with)
_Result = tuple[bool, object]


@dataclass
class _Pending:
    work: Work[object]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[object]  # settled with the work's result, or the error it raised


class Database:
    """Runs units of work; `write` batches them, `read` runs them on their own connection."""

    def __init__(self, url: str, *, pool_size: int = 5, postgres_writers: int = 1) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self._pool_size = pool_size
        # SQLite has one writer by nature. PostgreSQL can commit batches from several connections
        # in parallel, but batches that touch the same wallets in another order deadlock (and
        # each deadlock costs PostgreSQL's deadlock_timeout), so one writer is the default;
        # deadlocks between processes are retried as a whole batch.
        self._postgres_writers = max(1, postgres_writers)
        self._started = False
        self._closed = False
        # SQLite
        self._write_engine: Engine | None = None
        self._read_engine: Engine | None = None
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._point_engine: Engine | None = None
        self._point_conn: Connection | None = None
        # PostgreSQL
        self.async_engine: AsyncEngine | None = None
        self._aqueue: asyncio.Queue[_Pending | None] | None = None
        self._writer_tasks: list[asyncio.Task[None]] = []
        self.batches = 0  # for benchmarks: how many transactions carried the writes
        self.operations = 0

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        if self.sqlite:
            path = sqlite_path(self.url)
            if path is None:
                raise InternalError("an in-memory SQLite database cannot be shared; use a file")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._write_engine = _sqlite_engine(path, immediate=True, pool_size=1)
            self._read_engine = _sqlite_engine(path, immediate=False, pool_size=self._pool_size)
            self._readers = ThreadPoolExecutor(self._pool_size, thread_name_prefix="db-read")
            self._point_engine = _sqlite_engine(path, immediate=False, pool_size=1, busy_timeout_ms=POINT_BUSY_MS)
            self._thread = threading.Thread(target=self._sqlite_writer, name="db-writer", daemon=True)
            self._thread.start()
        else:
            self.async_engine = create_async_engine(
                self.url,
                pool_size=self._pool_size + self._postgres_writers,
                max_overflow=self._pool_size,
                pool_pre_ping=True,
            )
            self._aqueue = asyncio.Queue()
            self._writer_tasks = [
                asyncio.create_task(self._postgres_writer(), name=f"db-writer-{i}")
                for i in range(self._postgres_writers)
            ]

    async def close(self) -> None:
        if not self._started or self._closed:
            return
        self._closed = True
        if self.sqlite:
            self._queue.put(None)
            if self._thread is not None:
                await asyncio.to_thread(self._thread.join)
            if self._readers is not None:
                self._readers.shutdown(wait=True)
            if self._point_conn is not None:
                self._point_conn.close()
            for engine in (self._write_engine, self._read_engine, self._point_engine):
                if engine is not None:
                    engine.dispose()
        else:
            assert self._aqueue is not None
            for _ in self._writer_tasks:
                await self._aqueue.put(None)
            await asyncio.gather(*self._writer_tasks)
            assert self.async_engine is not None
            await self.async_engine.dispose()

    async def __aenter__(self) -> Database:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- running work ---------------------------------------------------------------------

    async def write(self, work: Work[T]) -> T:
        """Run `work` in a write transaction (batched with others); its result or its error."""
        if self._closed or not self._started:
            raise InternalError("the database is not running")
        loop = asyncio.get_running_loop()
        pending = _Pending(work, loop, loop.create_future())
        if self.sqlite:
            self._queue.put(pending)
        else:
            assert self._aqueue is not None
            self._aqueue.put_nowait(pending)
        return cast(T, await pending.future)  # the future holds what `work` returned

    async def read(self, work: Work[T]) -> T:
        """Run `work` in a read-only transaction on its own connection."""
        if self._closed or not self._started:
            raise InternalError("the database is not running")
        if self.sqlite:
            assert self._read_engine is not None
            engine = self._read_engine

            def run() -> T:
                with engine.connect() as conn:
                    return work(conn)

            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._readers, run)
        assert self.async_engine is not None
        async with self.async_engine.connect() as conn:
            return await conn.run_sync(work)

    async def read_point(self, work: Work[T]) -> T:
        """A read of a few rows by key (a person, a balance). On SQLite it runs right here on the
        event loop thread, on a connection of its own: in WAL mode a reader never waits for the
        writer, and ~40 µs of SQLite costs less than the hop to a reader thread and back (most of
        a voice note's first reply under a burst). Should SQLite be busy all the same (a
        checkpoint, another process recovering the WAL), it gives up within a few ms and the
        read goes to a reader thread. On PostgreSQL this is `read`."""
        if not self.sqlite:
            return await self.read(work)
        if self._closed or not self._started:
            raise InternalError("the database is not running")
        assert self._point_engine is not None
        try:
            if self._point_conn is None:
                self._point_conn = self._point_engine.connect()
            return work(self._point_conn)
        except (OperationalError, sqlite3.OperationalError):  # hot-path SQL raises the driver's own
            logger.info("point read busy: using a reader thread")
        finally:
            if self._point_conn is not None and self._point_conn.in_transaction():
                self._point_conn.rollback()  # never sit on a snapshot: it would hold back checkpoints
        return await self.read(work)

    # --- the batch ------------------------------------------------------------------------

    def _run_batch(self, conn: Connection, batch: list[_Pending]) -> list[_Result]:
        """Each unit of work in its own SAVEPOINT: a refusal rolls back that one alone."""
        results: list[_Result] = []
        for item in batch:
            savepoint = Savepoint(conn)
            try:
                value = item.work(conn)
            except BotError as error:
                savepoint.rollback()
                results.append((False, error))
            except Exception as error:  # a bug in one unit must not sink the others
                if _retryable(error):
                    raise  # a deadlock or serialization failure dooms the batch: run it again
                savepoint.rollback()
                results.append((False, error))
            else:
                savepoint.commit()
                results.append((True, value))
        return results

    def _sqlite_writer(self) -> None:
        assert self._write_engine is not None
        engine = self._write_engine
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            outcome = self._attempt_sync(engine, batch)
            for item, (ok, value) in zip(batch, outcome, strict=True):
                item.loop.call_soon_threadsafe(_settle, item.future, ok, value)

    def _attempt_sync(self, engine: Engine, batch: list[_Pending]) -> list[_Result]:
        error: BaseException | None = None
        for attempt in range(BATCH_RETRIES):
            try:
                with engine.connect() as conn, conn.begin():
                    results = self._run_batch(conn, batch)
                self.batches += 1
                self.operations += len(batch)
                return results
            except OperationalError as exc:  # "database is locked" from another process
                error = exc
                logger.warning("write batch retry %d: %s", attempt + 1, exc.orig)
                time.sleep(0.01 * 2**attempt)
            except Exception as exc:
                error = exc
                break
        logger.error("write batch failed: %r", error)
        return [(False, InternalError("database write failed"))] * len(batch)

    async def _postgres_writer(self) -> None:
        assert self._aqueue is not None and self.async_engine is not None
        stop = False
        while not stop:
            first = await self._aqueue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_POSTGRES_BATCH and not self._aqueue.empty():
                item = self._aqueue.get_nowait()
                if item is None:
                    stop = True
                    break
                batch.append(item)
            outcome = await self._attempt_async(batch)
            for item, (ok, value) in zip(batch, outcome, strict=True):
                _settle(item.future, ok, value)

    async def _attempt_async(self, batch: list[_Pending]) -> list[_Result]:
        assert self.async_engine is not None
        error: BaseException | None = None
        for attempt in range(BATCH_RETRIES):
            try:
                async with self.async_engine.begin() as conn:
                    results = await conn.run_sync(self._run_batch, batch)
                self.batches += 1
                self.operations += len(batch)
                return results
            except Exception as exc:
                error = exc
                invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
                if not _retryable(exc) and not invalidated:
                    break
                logger.warning("write batch retry %d: %s", attempt + 1, exc)
                await asyncio.sleep(0.01 * 2**attempt)
        logger.error("write batch failed: %r", error)
        return [(False, InternalError("database write failed"))] * len(batch)


def _settle(future: asyncio.Future[object], ok: bool, value: object) -> None:
    if future.done():  # the caller was cancelled; the work is committed all the same
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(cast(BaseException, value))


def _retryable(error: BaseException) -> bool:
    """A deadlock or serialization failure, raised through SQLAlchemy or straight from the
    driver (the hot-path statements use the driver's cursor)."""
    for candidate in (error, getattr(error, "orig", None), error.__cause__):
        sqlstate = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if sqlstate in RETRYABLE_SQLSTATES:
            return True
    return False


def _sqlite_engine(path: str, *, immediate: bool, pool_size: int, busy_timeout_ms: int = 30_000) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        pool_size=pool_size,
        max_overflow=0,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from pysqlite so BEGIN IMMEDIATE and SAVEPOINTs work.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


# Any fixed 64-bit number, the same in every process of this bot: the key of the advisory lock
# that makes processes starting together run the migrations one after another.
MIGRATION_LOCK_KEY = 7_305_118_420_913_640_001


def lock_migrations(conn: Connection) -> None:
    """On PostgreSQL, wait for any other process migrating this database, and keep it waiting
    until this transaction ends: the next process in then finds the schema current. Without it
    two processes started together both create the same tables and one crashes. (SQLite's
    BEGIN of the migration's first write already serialises writers.)"""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")


def async_engine_for_migrations(url: str) -> AsyncEngine:
    """A throwaway async engine (aiosqlite / asyncpg, no pool) for the migrations: Alembic's env
    on the command line, and `adapters.storage.migrations`."""
    return create_async_engine(url, poolclass=NullPool)
