"""How long the success metrics (the dashboard's and `stats --days N`'s one read) take over a
database with many people, on SQLite (a temporary file) or on the database URL given.

Functions return numbers; only `__main__` prints. Run:
`.venv/bin/python -m bench.insight [persons] [database url]` (default 5000 persons, SQLite).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Connection, insert

from adapters.storage.database import Database
from adapters.storage.insight import read_insight
from adapters.storage.migrations import upgrade
from adapters.storage.tables import accounts, persons, transfers
from adapters.storage.tables_jobs import jobs
from adapters.storage.tables_payments import orders
from adapters.storage.tables_rewards import support_tickets
from core.domain.insight import last_days

TODAY = dt.date(2026, 6, 30)
START = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)


def seed(conn: Connection, count: int) -> int:
    """`count` persons over a year: each welcomed with 10 credits, 0-12 clips of 2 credits, a
    fifth of them buying a pack, a tenth writing a ticket. Returns the rows written."""
    rng = random.Random(7)
    system = conn.execute(
        insert(accounts).values(kind="system", owner_key="system:bench", created_at=START).returning(accounts.c.id)
    ).scalar_one()
    rows: dict[str, list[dict[str, object]]] = {"transfers": [], "jobs": [], "orders": [], "tickets": []}
    for n in range(count):
        joined = START + dt.timedelta(minutes=rng.randrange(365 * 24 * 60))
        person = conn.execute(insert(persons).values(created_at=joined).returning(persons.c.id)).scalar_one()
        wallet = conn.execute(
            insert(accounts)
            .values(kind="person", owner_key=f"person:{person}", created_at=joined)
            .returning(accounts.c.id)
        ).scalar_one()
        rows["transfers"].append(_move(f"w{n}", system, wallet, 10, "welcome", joined))
        at = joined
        for k in range(min(rng.randrange(13), 5)):
            at += dt.timedelta(hours=rng.randrange(1, 72))
            rows["jobs"].append(_job(f"b{n}x{k}", person, wallet, at))
            rows["transfers"].append(_move(f"s{n}x{k}", wallet, system, 2, "spend", at))
        if n % 5 == 0:
            paid = at + dt.timedelta(hours=1)
            rows["orders"].append(_order(f"o{n}", person, wallet, paid, rng.choice(("stripe", "stars", "discord"))))
            rows["transfers"].append(_move(f"p{n}", system, wallet, 100, "purchase", paid))
        if n % 10 == 0:
            rows["tickets"].append(
                {
                    "person_id": person,
                    "identity": f"console:{n}",
                    "text": "my clip failed",
                    "available": 0,
                    "status": "open",
                    "created_at": at,
                }
            )
    for table, name in ((transfers, "transfers"), (jobs, "jobs"), (orders, "orders"), (support_tickets, "tickets")):
        if rows[name]:
            conn.execute(insert(table), rows[name])
    return sum(len(v) for v in rows.values()) + 2 * count


def _move(key: str, debit: int, credit: int, amount: int, reason: str, at: dt.datetime) -> dict[str, object]:
    return {
        "key": key,
        "debit_account_id": debit,
        "credit_account_id": credit,
        "amount": amount,
        "reason": reason,
        "memo": "",
        "order_ref": None,
        "created_at": at,
    }


def _job(job_id: str, person: int, wallet: int, at: dt.datetime) -> dict[str, object]:
    return {
        "id": job_id,
        "request_key": job_id,
        "person_id": person,
        "wallet_id": wallet,
        "identity": "console:x",
        "platform": "console",
        "reply_to": "{}",
        "style": "piano",
        "seconds": 10,
        "cost": 2,
        "seed": 1,
        "state": "succeeded",
        "created_at": at,
        "updated_at": at,
        "finished_at": at,
        "deadline_at": at + dt.timedelta(minutes=30),
    }


def _order(order_id: str, person: int, wallet: int, paid: dt.datetime, channel: str) -> dict[str, object]:
    return {
        "id": order_id,
        "request_key": order_id,
        "person_id": person,
        "wallet_id": wallet,
        "identity": "console:x",
        "channel": channel,
        "pack_id": "starter",
        "credits": 100,
        "amount": 500,
        "currency": "usd",
        "state": "paid",
        "amount_refunded": 0,
        "amount_disputed": 0,
        "paid_at": paid,
        "created_at": paid,
        "updated_at": paid,
    }


async def read_ms(url: str, count: int, ranges: tuple[int, ...], runs: int = 5) -> tuple[int, dict[int, float]]:
    """(rows seeded, median ms of one read of each range's metrics, by its days)."""
    await upgrade(url)
    async with Database(url) as db:
        written = await db.write(lambda conn: seed(conn, count))
        medians = {}
        for days in ranges:
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                await read_insight(db, last_days(days, TODAY), 2)
                times.append((time.perf_counter() - start) * 1000)
            medians[days] = statistics.median(times)
    return written, medians


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory() as folder:
        url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        written, medians = asyncio.run(read_ms(url, count, (30, 365)))
    for days, ms in medians.items():
        print(f"insight read, {count} persons ({written} rows), last {days} days: {ms:.1f} ms (median of 5)")
