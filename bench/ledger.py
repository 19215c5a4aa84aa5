"""`python -m bench.ledger`: hold+capture cycles/s with 64 concurrent clients on SQLite and
PostgreSQL, against the raw sqlite3 reference rate measured in the same run; then an audit.

Last line: `ledger sqlite_cycles_per_s=<n> postgres_cycles_per_s=<n> raw_sqlite_ops_per_s=<n>
ratio=<r> violations=<k>` (ratio = ledger SQLite cycles/s ÷ raw sqlite3 ops/s).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import tempfile
import time
from pathlib import Path

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from bench.common import scratch_postgres, scratch_sqlite
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


async def ledger_cycles_per_s(url: str, seconds: float) -> tuple[float, list[str]]:
    now = dt.datetime.now(dt.UTC)
    async with Database(url) as db:
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
                key = f"hold:{i}:{n}"
                await store.hold(key, wallets[i], 1, expires_at=now + dt.timedelta(minutes=20), now=now)
                await store.capture(key, now=now)
                n += 1
            counts[i] = n

        start = time.perf_counter()
        await asyncio.gather(*[client(i) for i in range(CLIENTS)])
        elapsed = time.perf_counter() - start
        problems = await store.audit()
        expected = sum(counts)
        spent = sum([(await store.stats(w)).generations for w in wallets])
        if spent != expected:
            problems.append(f"{expected} captures made but {spent} recorded")
        return expected / elapsed, problems


async def main(seconds: float) -> None:
    raw = raw_sqlite_ops_per_s(seconds)
    print(f"raw sqlite3 (guarded UPDATE + INSERT per transaction): {raw:,.0f} ops/s", flush=True)
    async with scratch_sqlite() as url:
        sqlite_rate, sqlite_problems = await ledger_cycles_per_s(url, seconds)
    print(f"ledger on SQLite, {CLIENTS} clients: {sqlite_rate:,.0f} hold+capture cycles/s", flush=True)
    async with scratch_postgres() as url:
        pg_rate, pg_problems = await ledger_cycles_per_s(url, seconds)
    print(f"ledger on PostgreSQL, {CLIENTS} clients: {pg_rate:,.0f} hold+capture cycles/s", flush=True)
    problems = sqlite_problems + pg_problems
    for problem in problems:
        print(f"violation: {problem}")
    print(
        f"ledger sqlite_cycles_per_s={sqlite_rate:.0f} postgres_cycles_per_s={pg_rate:.0f} "
        f"raw_sqlite_ops_per_s={raw:.0f} ratio={sqlite_rate / raw:.3f} violations={len(problems)}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    asyncio.run(main(parser.parse_args().seconds))
