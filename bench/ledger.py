"""`python -m bench.ledger`: hold+capture cycles/s with 64 concurrent clients on SQLite and
PostgreSQL, each against its raw reference measured in the same run; then the auditor.

The references: raw sqlite3, one guarded UPDATE + INSERT per committed transaction; raw asyncpg,
64 clients, each committing one guarded UPDATE + INSERT per transaction (the anchor the
PostgreSQL ledger is held to).

In rounds: each round measures a reference and then the ledger right after it, so that each
ratio compares two figures taken a few seconds apart. On a shared machine the same reference
swings by a fifth from one minute to the next; one reference taken before everything else made
the ratio swing as much. Last line, the medians over the rounds: `ledger
sqlite_cycles_per_s=<n> raw_sqlite_ops_per_s=<n> ratio=<r> postgres_cycles_per_s=<n>
raw_pg_ops_per_s=<n> pg_ratio=<r> violations=<k>` (a ratio: the median of the rounds' ledger
cycles/s ÷ raw ops/s; violations: the auditor's findings in every round).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from adapters.storage.database import POSTGRES_WRITERS, Database
from adapters.storage.ledger import SqlLedgerStore
from bench.common import scratch_postgres, scratch_sqlite
from core.domain.jobs import hold_key, new_job_id
from core.domain.ledger import Grant, Reason

CLIENTS = 64


def raw_sqlite_ops_per_s(seconds: float) -> float:
    """The physical reference: one guarded UPDATE + one INSERT per committed transaction."""
    with tempfile.TemporaryDirectory() as folder:
        conn = sqlite3.connect(Path(folder) / "raw.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE acct (id INTEGER PRIMARY KEY, bal INTEGER NOT NULL)")
        conn.execute("CREATE TABLE mv (id INTEGER PRIMARY KEY, k TEXT UNIQUE, amt INTEGER)")
        conn.execute("INSERT INTO acct VALUES (1, 1000000000)")
        done = 0
        end = time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < end:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE acct SET bal = bal - 1 WHERE id = 1 AND bal >= 1")
            conn.execute("INSERT INTO mv (k, amt) VALUES (?, 1)", (f"k{done}",))
            conn.execute("COMMIT")
            done += 1
        elapsed = time.perf_counter() - start
        conn.close()
        return done / elapsed


async def raw_postgres_ops_per_s(url: str, seconds: float, clients: int = CLIENTS) -> float:
    """The anchor: `clients` asyncpg connections, each committing one guarded UPDATE + INSERT
    per transaction, on accounts of their own."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    setup = await asyncpg.connect(dsn)
    try:
        await setup.execute("CREATE TABLE raw_acct (id INTEGER PRIMARY KEY, bal BIGINT NOT NULL)")
        await setup.execute("CREATE TABLE raw_mv (id BIGSERIAL PRIMARY KEY, k TEXT UNIQUE, amt INTEGER)")
        await setup.executemany("INSERT INTO raw_acct VALUES ($1, 1000000000)", [(i,) for i in range(clients)])
    finally:
        await setup.close()
    conns = await asyncio.gather(*(asyncpg.connect(dsn) for _ in range(clients)))
    counts = [0] * clients
    stop_at = time.perf_counter() + seconds

    async def client(i: int) -> None:
        conn, n = conns[i], 0
        while time.perf_counter() < stop_at:
            async with conn.transaction():
                await conn.execute("UPDATE raw_acct SET bal = bal - 1 WHERE id = $1 AND bal >= 1", i)
                await conn.execute("INSERT INTO raw_mv (k, amt) VALUES ($1, 1)", f"k{i}:{n}")
            n += 1
        counts[i] = n

    try:
        start = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        return sum(counts) / (time.perf_counter() - start)
    finally:
        await asyncio.gather(*(conn.close() for conn in conns))


async def ledger_cycles_per_s(
    url: str, seconds: float, *, writers: int = POSTGRES_WRITERS
) -> tuple[float, list[str], float]:
    """(hold+capture cycles/s, the auditor's findings, operations per write transaction)."""
    now = dt.datetime.now(dt.UTC)
    async with Database(url, postgres_writers=writers) as db:
        store = SqlLedgerStore(db)
        await store.prepare()  # as build_app does: the system accounts' ids cached
        wallets = []
        for i in range(CLIENTS):
            person = await store.ensure_person(f"console:bench{i}", welcome=lambda person: None, now=now)
            await store.grant(Grant(f"seed:{i}", person.wallet_id, 1_000_000, Reason.OPERATOR), now=now)
            wallets.append(person.wallet_id)
        stop_at = time.perf_counter() + seconds
        counts = [0] * CLIENTS

        async def client(i: int) -> None:
            n = 0
            while time.perf_counter() < stop_at:
                key = hold_key(new_job_id())  # as the bot makes them: time-ordered
                await store.hold(key, wallets[i], 1, expires_at=now + dt.timedelta(minutes=20), now=now)
                await store.capture(key, now=now)
                n += 1
            counts[i] = n

        batches, operations = db.batches, db.operations
        start = time.perf_counter()
        await asyncio.gather(*[client(i) for i in range(CLIENTS)])
        elapsed = time.perf_counter() - start
        per_batch = (db.operations - operations) / max(1, db.batches - batches)
        problems = await store.audit()
        expected = sum(counts)
        spent = sum([(await store.stats(w)).generations for w in wallets])
        if spent != expected:
            problems.append(f"{expected} captures made but {spent} recorded")
        return expected / elapsed, problems, per_batch


@dataclass
class Figures:
    """One backend's figures over the rounds."""

    raw: list[float] = field(default_factory=list)
    ledger: list[float] = field(default_factory=list)

    def add(self, raw: float, ledger: float) -> float:
        """The round's ratio."""
        self.raw.append(raw)
        self.ledger.append(ledger)
        return ledger / raw

    def medians(self) -> tuple[float, float, float]:
        """(ledger cycles/s, raw ops/s, ratio), each the median over the rounds."""
        if not self.raw:
            return float("nan"), float("nan"), float("nan")
        ratios = [ledger / raw for ledger, raw in zip(self.ledger, self.raw, strict=True)]
        return statistics.median(self.ledger), statistics.median(self.raw), statistics.median(ratios)


async def main(seconds: float, rounds: int, writers: int, *, postgres: bool = True) -> None:
    sqlite, pg = Figures(), Figures()
    problems: list[str] = []
    for number in range(1, rounds + 1):
        raw = raw_sqlite_ops_per_s(seconds)
        async with scratch_sqlite() as url:
            rate, found, per_batch = await ledger_cycles_per_s(url, seconds)
        problems += found
        ratio = sqlite.add(raw, rate)
        line = (
            f"round {number}: raw sqlite3 {raw:,.0f} ops/s, ledger on SQLite {rate:,.0f} cycles/s "
            f"({per_batch:.1f} operations per transaction), ratio {ratio:.3f}"
        )
        if postgres:
            async with scratch_postgres() as url:
                raw = await raw_postgres_ops_per_s(url, seconds)
            async with scratch_postgres() as url:
                rate, found, per_batch = await ledger_cycles_per_s(url, seconds, writers=writers)
            problems += found
            ratio = pg.add(raw, rate)
            line += (
                f"; raw asyncpg {raw:,.0f} ops/s, ledger on PostgreSQL ({writers} writers) {rate:,.0f} cycles/s "
                f"({per_batch:.1f} per transaction), ratio {ratio:.3f}"
            )
        print(line, flush=True)
    sqlite_rate, raw_sqlite, ratio = sqlite.medians()
    pg_rate, raw_pg, pg_ratio = pg.medians()
    print(
        f"medians of {rounds} rounds, {CLIENTS} clients: raw sqlite3 (guarded UPDATE + INSERT per transaction) "
        f"{raw_sqlite:,.0f} ops/s, ledger on SQLite {sqlite_rate:,.0f} hold+capture cycles/s; "
        f"raw asyncpg ({CLIENTS} clients, guarded UPDATE + INSERT per commit) {raw_pg:,.0f} ops/s, "
        f"ledger on PostgreSQL {pg_rate:,.0f} cycles/s",
        flush=True,
    )
    for problem in problems:
        print(f"violation: {problem}")
    print(
        f"ledger sqlite_cycles_per_s={sqlite_rate:.0f} raw_sqlite_ops_per_s={raw_sqlite:.0f} ratio={ratio:.3f} "
        f"postgres_cycles_per_s={pg_rate:.0f} raw_pg_ops_per_s={raw_pg:.0f} pg_ratio={pg_ratio:.3f} "
        f"violations={len(problems)}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="each measurement of each round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writers", type=int, default=POSTGRES_WRITERS, help="PostgreSQL writer connections")
    parser.add_argument(
        "--sqlite-only", action="store_true", help="skip PostgreSQL (its figures print as nan): quicker while tuning"
    )
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.rounds, args.writers, postgres=not args.sqlite_only))
