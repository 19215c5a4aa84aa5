"""The database runner: every unit of work is a plain function over a SQLAlchemy `Connection`.

Why: the async database layers cost far more per awaited statement than the disk does (NOTES.md:
~850 hold+capture cycles/s when each statement is awaited, ~23,000 when a whole batch runs in the
database thread). So writes are *group-committed*: a writer collects whatever units of work
are queued, runs them in one transaction and commits once. It first runs them straight, with
no SAVEPOINTs (two statements fewer per unit); should one of them be refused, the transaction
rolls back and the batch runs again with each unit inside its own SAVEPOINT, so that the
refused one rolls back alone and the others commit.

- SQLite: one dedicated writer thread with a synchronous pysqlite connection (`BEGIN
  IMMEDIATE`, so a write transaction never fails with "database is locked" half-way), WAL,
  busy timeout, foreign keys. Reads run on a small thread pool of their own connections. WAL
  checkpoints (copying the log into the database file, with its fsyncs) run on a thread of
  their own, so the writer's commits never wait for them.
- PostgreSQL: several writers, each on its own asyncpg connection at READ COMMITTED with a
  queue of its own. A unit of work names the rows it will change (`Locks`): units of one
  wallet go to one writer, in order, and every batch locks its rows in one global order
  first (`row_locks`), so writers and processes never deadlock over them. Deadlocks and
  serialization failures (from units that name nothing) run the batch again after a random
  pause; a lost connection fails the batch's requests ("try again"), never half-written,
  and the writer's next batch takes a fresh connection. Reads run on a pool of their own, in
  autocommit (one round trip per statement).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import random
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple, Protocol, TypeVar, cast

import asyncpg
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from adapters.storage.row_locks import NO_LOCKS, Locks, lock_in_order
from adapters.storage.sql import Savepoint
from core.errors import BotError, InternalError

logger = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Connection], T]  # a unit of work; its result is what `read`/`write` return

MAX_BATCH = 256
MAX_POSTGRES_BATCH = 256
# Writer connections per process on PostgreSQL. Measured with `bench.ledger` on 2 cores, once a
# batch's holds and captures became a few set-based statements: 2 commit the most (5.7-5.9k
# cycles/s; 3: 5.1-5.5k; 4: 4.8-5.3k; 8: 3.1k, batches too small to pay for their round trips;
# 1: 4.6-4.8k, one commit in flight). More pay off when the database server has more cores.
POSTGRES_WRITERS = 2
BATCH_RETRIES = 5
PREPARED_STATEMENTS = 1000  # per PostgreSQL connection
# Connections one process may hold on PostgreSQL, writers included; the rest read. Never more:
# several processes share the server's `max_connections` (100 by default), and a refused
# connection is a failed read or write. A read that finds every reader busy waits for one (no
# connection is opened for one read and closed after it: a new backend, a TLS handshake tried,
# which under a burst cost more than the reads).
POSTGRES_CONNECTIONS = 20
# How long a read or write waits for a free connection of its process before it gives up.
POSTGRES_CHECKOUT_SECONDS = 30
MAX_REMEMBERED_HOLDS = 100_000
# How long a point read on the event loop thread may wait for a busy SQLite before it moves to
# a reader thread.
POINT_BUSY_MS = 5
# How often the SQLite checkpointer thread copies the WAL into the database: after this many
# units of work (a few thousand pages of ledger writes). A checkpoint fsyncs twice; run in the
# committing writer every 1,000 pages, as SQLite does by default, it took half of a busy
# writer's commit time. Seldom is cheaper too: a page changed by many commits is copied once.
CHECKPOINT_AFTER_UNITS = 1024
# The WAL starts over only at a write transaction that begins with all of it copied, which a
# checkpoint running beside a busy writer never sees: past this many pages (32 MB) the writer
# checkpoints itself, between two batches (little is left to copy by then).
WAL_RESTART_PAGES = 8000
# PostgreSQL SQLSTATEs that mean "run the whole transaction again".
RETRYABLE_SQLSTATES = {"40001", "40P01"}
# ... and those that mean the connection is gone (class 08: connection exception; 57P01-57P03:
# the server shut down or terminated this backend).
DISCONNECT_SQLSTATE_PREFIXES = ("08", "57P")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> str | None:
    database = make_url(url).database
    return None if database in (None, "", ":memory:") else database


# (True, what the work returned) or (False, the exception it raised or the batch failed with)
_Result = tuple[bool, object]

LEFT_TO_UNIT = object()  # what a `SetOperation` returns for a row it leaves to the unit of work


class SetOperation(Protocol):
    """Many units of work of one kind as a few set-based statements (PostgreSQL). For each
    request, in order, its unit's result, or `LEFT_TO_UNIT` where it changed nothing for that
    request and the unit of work itself must run (a refusal, a repeat: the unusual cases)."""

    def run_many(self, conn: Connection, requests: Sequence[object]) -> list[object]: ...


class _Pending(NamedTuple):
    """A unit of work waiting for the writer (a tuple: one is made for every write)."""

    work: Work[object]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[object]  # settled with the work's result, or the error it raised
    locks: Locks = NO_LOCKS
    together: tuple[SetOperation, object] | None = None  # the same work as a row of a set operation


class _KeptConnection:
    """The SQLite writer's connection, kept from one batch to the next (no pool checkout and
    reset per batch); dropped after an unexpected error, so that the next batch opens a new one."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    def connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn

    def drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


class _Redo(Exception):
    """A unit of a batch run without SAVEPOINTs failed: run the batch again with them."""


class _Refused(Exception):
    """The one unit of a batch failed: roll back, and that failure is its result."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


class Database:
    """Runs units of work; `write` batches them, `read` runs them on their own connection."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        postgres_writers: int = POSTGRES_WRITERS,
        postgres_connections: int = POSTGRES_CONNECTIONS,
    ) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self._pool_size = pool_size  # SQLite: reader threads
        # SQLite has one writer by nature; PostgreSQL commits from several connections at once.
        self._postgres_writers = max(1, postgres_writers)
        self._postgres_readers = max(2, postgres_connections - self._postgres_writers)
        # Of the readers, at most half are kept checked out between point reads, so that the
        # reads that check one out of the pool (`read`) always find some.
        self._point_readers_kept = max(1, self._postgres_readers // 2)
        self._next_writer = 0
        self._hold_wallets: dict[str, int] = {}  # hold key -> wallet, for routing (insertion order)
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
        self._checkpointer: threading.Thread | None = None
        self._wal_grew = threading.Event()  # set by the writer: time for a checkpoint
        self._units_since_checkpoint = 0
        self._wal_pages = 0  # in the WAL at the checkpointer's last round
        self._stopping = threading.Event()
        # PostgreSQL
        self.async_engine: AsyncEngine | None = None
        self._read_async_engine: AsyncEngine | None = None
        self._aqueues: list[asyncio.Queue[_Pending | None]] = []
        self._writer_tasks: list[asyncio.Task[None]] = []
        self._point_readers: list[AsyncConnection] = []  # idle, kept checked out
        self.batches = 0  # for benchmarks: how many transactions carried the writes
        self.operations = 0

    @property
    def kept_point_readers(self) -> int:
        """PostgreSQL: connections kept checked out between point reads, at most."""
        return self._point_readers_kept

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
            self._write_engine = _sqlite_engine(path, immediate=True, pool_size=1, checkpoints=False)
            self._read_engine = _sqlite_engine(path, immediate=False, pool_size=self._pool_size)
            self._readers = ThreadPoolExecutor(self._pool_size, thread_name_prefix="db-read")
            self._point_engine = _sqlite_engine(path, immediate=False, pool_size=1, busy_timeout_ms=POINT_BUSY_MS)
            self._thread = threading.Thread(target=self._sqlite_writer, name="db-writer", daemon=True)
            self._thread.start()
            self._checkpointer = threading.Thread(
                target=self._sqlite_checkpointer, args=(path,), name="db-checkpoint", daemon=True
            )
            self._checkpointer.start()
        else:
            # Custom plans: a plan cached while a table was small (a fresh database) would keep
            # scanning it whole once it has grown; these statements plan in well under 0.1 ms.
            # Room to keep every statement prepared (~200): past the driver's default of 100
            # each would be prepared again, one more round trip, as others push it out.
            settings: dict[str, object] = {
                "server_settings": {"plan_cache_mode": "force_custom_plan"},
                "prepared_statement_cache_size": PREPARED_STATEMENTS,
            }
            self.async_engine = create_async_engine(
                self.url,
                pool_size=self._postgres_writers,
                max_overflow=0,
                pool_timeout=POSTGRES_CHECKOUT_SECONDS,
                pool_pre_ping=True,  # a writer's connection is taken once, and again after it broke
                connect_args=settings,
            )
            # Reads run in autocommit: at READ COMMITTED each statement sees its own snapshot
            # whether or not a BEGIN came first, so BEGIN and ROLLBACK would be two round trips
            # for nothing (a read that needs one snapshot asks for REPEATABLE READ itself). No
            # ping at checkout either: a read that finds its connection broken runs once more.
            self._read_async_engine = create_async_engine(
                self.url,
                pool_size=self._postgres_readers,
                max_overflow=0,
                pool_timeout=POSTGRES_CHECKOUT_SECONDS,
                isolation_level="AUTOCOMMIT",
                connect_args=settings,
            )
            self._aqueues = [asyncio.Queue() for _ in range(self._postgres_writers)]
            self._writer_tasks = [
                asyncio.create_task(self._postgres_writer(q), name=f"db-writer-{i}")
                for i, q in enumerate(self._aqueues)
            ]

    async def close(self) -> None:
        if not self._started or self._closed:
            return
        self._closed = True
        if self.sqlite:
            self._queue.put(None)
            if self._thread is not None:
                await asyncio.to_thread(self._thread.join)
            self._stopping.set()
            self._wal_grew.set()
            if self._checkpointer is not None:
                await asyncio.to_thread(self._checkpointer.join)
            if self._readers is not None:
                self._readers.shutdown(wait=True)
            if self._point_conn is not None:
                self._point_conn.close()
            for engine in (self._write_engine, self._read_engine, self._point_engine):
                if engine is not None:
                    engine.dispose()
        else:
            for writer_queue in self._aqueues:
                await writer_queue.put(None)
            await asyncio.gather(*self._writer_tasks)
            kept, self._point_readers = self._point_readers, []
            for conn in kept:
                with contextlib.suppress(Exception):
                    await conn.close()
            for engine in (self.async_engine, self._read_async_engine):
                if engine is not None:
                    await engine.dispose()

    async def __aenter__(self) -> Database:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- running work ---------------------------------------------------------------------

    def write(
        self,
        work: Work[T],
        *,
        wallets: Iterable[int] = (),
        holds: Iterable[str] = (),
        orders: Iterable[str] = (),
        together: tuple[SetOperation, object] | None = None,
    ) -> asyncio.Future[T]:
        """Run `work` in a write transaction (batched with others): await its result or its error.
        (A plain function returning the future to await, not a coroutine: one frame fewer on
        every write's way in and out of the event loop.)

        `wallets`, `holds` and `orders` name the rows `work` changes, where the caller knows
        them: on PostgreSQL they choose the writer and are locked first, in a global order. A
        unit that names nothing still runs correctly; it only may deadlock and be retried.
        `together` is (operation, request): the batch's units that share an operation run as
        its set-based statements, and `work` runs only for what it leaves.
        The set operations of a batch run before its other units: all of them were waiting
        at once, and any order of concurrent requests is one they could have arrived in."""
        if self._closed or not self._started:
            raise InternalError("the database is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()  # settled with what `work` returned
        if self.sqlite:  # one writer and one write lock: nothing to route or lock
            self._queue.put(_Pending(work, loop, future, NO_LOCKS, together))
        else:
            writer, locks = self._route(Locks(tuple(wallets), tuple(holds), tuple(orders)))
            self._aqueues[writer].put_nowait(_Pending(work, loop, future, locks, together))
        return cast("asyncio.Future[T]", future)

    def _route(self, locks: Locks) -> tuple[int, Locks]:
        """The writer for a unit, and the rows it locks with the holds' wallets filled in where
        this process knows them. One wallet's units always go to the same writer (so they run
        in order and never wait for each other's locks); a hold named with its one wallet is
        remembered, so that its capture or release, named by the hold alone, follows it there
        and locks that wallet without looking it up. Units that name nothing take turns."""
        count = len(self._aqueues)
        wallets = locks.wallets
        unknown: list[str] = []
        for key in locks.holds:
            if len(locks.wallets) == 1:  # a hold named with its one wallet
                self._hold_wallets[key] = locks.wallets[0]
                if len(self._hold_wallets) > MAX_REMEMBERED_HOLDS:
                    del self._hold_wallets[next(iter(self._hold_wallets))]  # the oldest
                continue
            known = self._hold_wallets.pop(key, None)
            if known is None:
                unknown.append(key)  # placed by another process, or forgotten: looked up in SQL
            else:
                wallets = (*wallets, known)
        resolved = Locks(wallets, tuple(unknown), locks.orders)
        if wallets:
            return min(wallets) % count, resolved
        if unknown or locks.orders:
            return zlib.crc32(min(unknown or locks.orders).encode()) % count, resolved
        self._next_writer = (self._next_writer + 1) % count
        return self._next_writer, resolved

    async def read(self, work: Work[T]) -> T:
        """Run `work` on a connection of its own, beside the write batches: on SQLite in a read
        transaction, on PostgreSQL in autocommit (each statement sees what was committed when it
        began; a read that needs one snapshot for several statements begins REPEATABLE READ)."""
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
        engine = self._read_async_engine
        assert engine is not None
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(work)
        except Exception as error:
            if not _disconnected(error):
                raise
            # The server restarted or cut this connection, and likely every pooled one with it:
            # drop them all (the statements run on the driver's cursor, so SQLAlchemy did not
            # notice) and read once more on a fresh connection.
            logger.info("read lost its connection, reading again: %s", error)
            await engine.dispose(close=False)
        async with engine.connect() as conn:
            return await conn.run_sync(work)

    async def read_point(self, work: Work[T]) -> T:
        """A read of a few rows by key (a person, a balance). On SQLite it runs right here on the
        event loop thread, on a connection of its own: in WAL mode a reader never waits for the
        writer, and ~40 µs of SQLite costs less than the hop to a reader thread and back (most of
        a voice note's first reply under a burst). Should SQLite be busy all the same (a
        checkpoint, another process recovering the WAL), it gives up within a few ms and the
        read goes to a reader thread. On PostgreSQL it runs on a connection kept checked out
        between point reads, in autocommit: no pool checkout, reset and return around one
        statement (half of a read's CPU). `work` must leave the connection as it found it: no
        transaction, no change of isolation level (those reads use `read`)."""
        if not self.sqlite:
            return await self._read_on_kept(work)
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

    async def _read_on_kept(self, work: Work[T]) -> T:
        if self._closed or not self._started:
            raise InternalError("the database is not running")
        engine = self._read_async_engine
        assert engine is not None
        conn = self._point_readers.pop() if self._point_readers else await engine.connect()
        try:
            value = await conn.run_sync(work)
        except Exception as error:
            if not _disconnected(error):
                await self._keep(conn)  # in autocommit a failed statement leaves nothing open
                raise
            # The server restarted or cut this connection, likely the kept ones with it: drop
            # them all, and read once more as `read` does (which drops the pool too).
            logger.info("point read lost its connection, reading again: %s", error)
            await _discard(conn)
            kept, self._point_readers = self._point_readers, []
            for other in kept:
                await _discard(other)
            return await self.read(work)
        except BaseException:
            await asyncio.shield(_discard(conn))  # cancelled mid-statement: not reusable
            raise
        await self._keep(conn)
        return value

    async def _keep(self, conn: AsyncConnection) -> None:
        if len(self._point_readers) < self._point_readers_kept and not self._closed:
            self._point_readers.append(conn)
        else:
            await conn.close()  # back to the pool

    # --- the batch ------------------------------------------------------------------------

    def _run_batch(self, conn: Connection, batch: list[_Pending], *, isolated: bool) -> list[_Result]:
        if conn.dialect.name == "postgresql":
            lock_in_order(conn, (item.locks for item in batch))
            if isolated:
                return self._run_isolated(conn, batch)
            done = _run_together(conn, batch)
        elif isolated:
            return self._run_isolated(conn, batch)
        else:
            done = _run_together(conn, batch)
        results: list[_Result] = []
        for item, value in zip(batch, done, strict=True):
            if value is not LEFT_TO_UNIT:
                results.append((True, value))
                continue
            try:
                results.append((True, item.work(conn)))
            except Exception as error:
                if _retryable(error) or _disconnected(error):
                    raise
                if len(batch) == 1:
                    raise _Refused(error) from error
                raise _Redo from error
        return results

    def _run_isolated(self, conn: Connection, batch: list[_Pending]) -> list[_Result]:
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
                if _retryable(error) or _disconnected(error):
                    raise  # dooms the batch: run it again, or fail it
                savepoint.rollback()
                results.append((False, error))
            else:
                savepoint.commit()
                results.append((True, value))
        return results

    def _sqlite_writer(self) -> None:
        assert self._write_engine is not None
        writer = _KeptConnection(self._write_engine)
        try:
            self._write_batches(writer)
        finally:
            writer.drop()

    def _write_batches(self, writer: _KeptConnection) -> None:
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
            if self._wal_pages >= WAL_RESTART_PAGES:
                self._restart_wal(writer)
            outcome = self._attempt_sync(writer, batch)
            self._units_since_checkpoint += len(batch)
            if self._units_since_checkpoint >= CHECKPOINT_AFTER_UNITS:
                self._units_since_checkpoint = 0
                self._wal_grew.set()
            _tell(batch, outcome)

    def _attempt_sync(self, writer: _KeptConnection, batch: list[_Pending]) -> list[_Result]:
        error: BaseException | None = None
        isolated = False
        attempt = 0
        while attempt < BATCH_RETRIES:
            try:
                conn = writer.connection()
                with conn.begin():
                    results = self._run_batch(conn, batch, isolated=isolated)
                self._count(batch)
                return results
            except _Redo:
                isolated = True
            except _Refused as refused:
                return [(False, refused.error)]
            except OperationalError as exc:  # "database is locked" from another process
                error = exc
                attempt += 1
                logger.warning("write batch retry %d: %s", attempt, exc.orig)
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
            except Exception as exc:
                error = exc
                writer.drop()  # whatever broke, the next batch starts on a fresh connection
                break
        logger.error("write batch failed: %r", error)
        return [(False, InternalError("database write failed"))] * len(batch)

    def _restart_wal(self, writer: _KeptConnection) -> None:
        """Copy what is left of the WAL from the writer's own connection, so that no commit
        lands meanwhile and its next transaction starts the log over."""
        try:
            dbapi_conn = writer.connection().connection.dbapi_connection
            assert dbapi_conn is not None
            done = _checkpoint(cast(sqlite3.Connection, dbapi_conn))
            if done is not None and done[1] >= done[0]:  # all copied: the next transaction starts over
                self._wal_pages = 0
        except Exception as exc:  # the checkpointer thread carries on; so does the next try
            logger.warning("WAL checkpoint by the writer failed: %s", exc)

    def _sqlite_checkpointer(self, path: str) -> None:
        """Copy the WAL into the database when the writer says so. PASSIVE: it never waits for,
        nor holds up, the writer or the readers (frames a reader still needs wait for the next
        round)."""
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            while True:
                self._wal_grew.wait()
                if self._stopping.is_set():
                    break
                self._wal_grew.clear()
                try:
                    done = _checkpoint(conn)
                    if done is not None:
                        self._wal_pages = done[0]
                except sqlite3.Error as exc:  # the next round tries again
                    logger.warning("WAL checkpoint failed: %s", exc)
        finally:
            conn.close()

    async def _postgres_writer(self, writer_queue: asyncio.Queue[_Pending | None]) -> None:
        """Keeps one connection for its batches (no pool checkout, ping and reset per batch);
        drops it when it breaks and takes a fresh one for the next batch."""
        assert self.async_engine is not None
        conn: AsyncConnection | None = None
        stop = False
        try:
            while not stop:
                first = await writer_queue.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < MAX_POSTGRES_BATCH and not writer_queue.empty():
                    item = writer_queue.get_nowait()
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                if conn is None:
                    conn = await self._connect_writer()
                outcome: list[_Result]
                if conn is None:
                    outcome = [(False, InternalError("database unreachable"))] * len(batch)
                else:
                    outcome, healthy = await self._attempt_async(conn, batch)
                    if not healthy:  # take a fresh connection for the next batch
                        await _discard(conn)
                        conn = None
                for item, (ok, value) in zip(batch, outcome, strict=True):
                    _settle(item.future, ok, value)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _connect_writer(self) -> AsyncConnection | None:
        assert self.async_engine is not None
        try:
            return await self.async_engine.connect()
        except Exception as exc:  # the server is down or restarting: this batch is told to try again
            logger.warning("database writer cannot connect: %s", exc)
            return None

    async def _attempt_async(self, conn: AsyncConnection, batch: list[_Pending]) -> tuple[list[_Result], bool]:
        """The batch's results, and whether the connection is still fit for the next batch."""
        error: BaseException | None = None
        isolated = False
        attempt = 0
        while attempt < BATCH_RETRIES:
            try:
                async with conn.begin():
                    results = await conn.run_sync(self._run_batch, batch, isolated=isolated)
                self._count(batch)
                return results, True
            except _Redo:
                isolated = True
            except _Refused as refused:
                return [(False, refused.error)], True
            except Exception as exc:
                error = exc
                if _disconnected(exc):
                    # The COMMIT may or may not have reached the server: running the batch
                    # again could apply it twice, so its requests are told to try again.
                    logger.warning("write batch lost its connection: %s", exc)
                    return [(False, InternalError("database connection lost"))] * len(batch), False
                if not _retryable(exc):
                    break
                attempt += 1
                logger.info("write batch retry %d: %s", attempt, exc)
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))  # jitter: no lockstep
        logger.error("write batch failed: %r", error)
        return [(False, InternalError("database write failed"))] * len(batch), False

    def _count(self, batch: list[_Pending]) -> None:
        self.batches += 1
        self.operations += len(batch)


def _run_together(conn: Connection, batch: list[_Pending]) -> list[object]:
    """Run the batch's set operations (those with two rows or more): for each unit, in order,
    what its operation did for it, or `LEFT_TO_UNIT`."""
    groups: dict[int, tuple[SetOperation, list[int]]] = {}
    for index, item in enumerate(batch):
        together = item.together
        if together is not None:
            found = groups.get(id(together[0]))
            if found is None:
                groups[id(together[0])] = (together[0], [index])
            else:
                found[1].append(index)
    done: list[object] = [LEFT_TO_UNIT] * len(batch)
    for operation, indexes in groups.values():
        if len(indexes) < 2:
            continue  # one row: its own unit of work is as cheap
        requests = [batch[i].together[1] for i in indexes]  # type: ignore[index]
        for index, result in zip(indexes, operation.run_many(conn, requests), strict=True):
            done[index] = result
    return done


async def _discard(conn: AsyncConnection) -> None:
    """Drop a connection that failed: it may be broken, or mid-protocol."""
    with contextlib.suppress(Exception):
        await conn.invalidate()
    with contextlib.suppress(Exception):
        await conn.close()


def _tell(batch: list[_Pending], outcome: list[_Result]) -> None:
    """Settle a committed batch's futures: one wake-up of each event loop per batch, not one
    per unit (waking a loop from another thread is a write to its self-pipe, which cost more
    than the SQL did)."""
    by_loop: dict[asyncio.AbstractEventLoop, tuple[list[asyncio.Future[object]], list[_Result]]] = {}
    for item, result in zip(batch, outcome, strict=True):
        found = by_loop.get(item.loop)
        if found is None:
            by_loop[item.loop] = ([item.future], [result])
        else:
            found[0].append(item.future)
            found[1].append(result)
    for loop, (futures, results) in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_all, futures, results)
        except RuntimeError:  # that loop is closed: nobody waits for these any more
            logger.info("%d writes finished after their event loop closed", len(futures))


def _settle_all(futures: list[asyncio.Future[object]], results: list[_Result]) -> None:
    for future, (ok, value) in zip(futures, results, strict=True):
        _settle(future, ok, value)


def _settle(future: asyncio.Future[object], ok: bool, value: object) -> None:
    if future.done():  # the caller was cancelled; the work is committed all the same
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(cast(BaseException, value))


def _causes(error: BaseException) -> list[BaseException]:
    """The error, and what it wraps (SQLAlchemy's `orig`, the driver's cause), a few deep."""
    found: list[BaseException] = []
    pending: list[object] = [error]
    while pending and len(found) < 8:
        candidate = pending.pop()
        if isinstance(candidate, BaseException) and candidate not in found:
            found.append(candidate)
            pending += [getattr(candidate, "orig", None), candidate.__cause__, candidate.__context__]
    return found


def _sqlstate(error: BaseException) -> str:
    return str(getattr(error, "sqlstate", None) or getattr(error, "pgcode", None) or "")


def _retryable(error: BaseException) -> bool:
    """A deadlock or serialization failure, raised through SQLAlchemy or straight from the
    driver (the hot-path statements use the driver's cursor)."""
    return any(_sqlstate(candidate) in RETRYABLE_SQLSTATES for candidate in _causes(error))


def _disconnected(error: BaseException) -> bool:
    """The connection to PostgreSQL broke (a restart, a terminated backend, the network)."""
    for candidate in _causes(error):
        if isinstance(candidate, DBAPIError) and candidate.connection_invalidated:
            return True
        if _sqlstate(candidate).startswith(DISCONNECT_SQLSTATE_PREFIXES):
            return True
        if isinstance(candidate, (ConnectionError, asyncpg.ConnectionDoesNotExistError)):
            return True
        if isinstance(candidate, (asyncpg.InterfaceError, asyncpg.InternalClientError)):
            return True  # "connection is closed", or a protocol left mid-operation by a broken link
    return False


def _checkpoint(conn: sqlite3.Connection) -> tuple[int, int] | None:
    """A PASSIVE checkpoint: it copies what no reader still needs and waits for nobody. (The
    WAL's length in pages, how many of them are copied), or None when another checkpoint was
    running."""
    busy, pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return None if busy else (int(pages), int(copied))


def _sqlite_engine(
    path: str, *, immediate: bool, pool_size: int, busy_timeout_ms: int = 30_000, checkpoints: bool = True
) -> Engine:
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
        if not checkpoints:  # the checkpointer thread does them
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # On the driver's connection itself: SQLAlchemy's execution path costs more than BEGIN.
        dbapi_conn = conn.connection.dbapi_connection
        assert dbapi_conn is not None
        dbapi_conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

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
