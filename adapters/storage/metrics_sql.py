"""The figures behind `GET /metrics`, read at scrape time: one read transaction, no writes.

Two statements in one transaction: every count and sum in one `UNION ALL` (one snapshot on both
backends, one round trip), then the oldest queued job through the queue's index. The counts
walk `jobs`, `orders` and the wallet rows of `accounts` whole (index-only where an index covers
them); the open holds, open tickets and the queue head are index range reads. System accounts
keep no totals on their rows (the ledger sums their transfers), so they are left out: what was
issued and spent is `python -m bot stats`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection

from adapters.storage.database import Database
from adapters.storage.sql import Statement as S
from adapters.storage.sql import every, from_db_time, scalar
from core.domain.jobs import JobState
from core.domain.orders import Channel, OrderState

WALLET_KINDS = ("person", "server")

# (figure, label a, label b, n1..n4): one row shape for every figure.
_FIGURES = S("""
    SELECT 'jobs', state, '', COUNT(*), 0, 0, 0 FROM jobs GROUP BY state
    UNION ALL
    SELECT 'orders', channel, state, COUNT(*), 0, 0, 0 FROM orders GROUP BY channel, state
    UNION ALL
    SELECT 'accounts', kind, '',
        COUNT(*),
        SUM(CASE WHEN frozen THEN 1 ELSE 0 END),
        CAST(SUM(credits_posted - debits_posted - debits_pending) AS BIGINT),
        CAST(SUM(debits_pending) AS BIGINT)
    FROM accounts WHERE kind <> 'system' GROUP BY kind
    UNION ALL
    SELECT 'holds', '', '', COUNT(*), 0, 0, 0 FROM holds WHERE state = 'held'
    UNION ALL
    SELECT 'tickets', '', '', COUNT(*), 0, 0, 0 FROM support_tickets WHERE status = 'open'""")
_OLDEST_QUEUED = S("SELECT created_at FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1")


@dataclass(frozen=True)
class WalletTotals:
    count: int = 0
    frozen: int = 0
    available: int = 0  # what their owners can spend now
    held: int = 0  # reserved for unfinished jobs


@dataclass(frozen=True)
class DatabaseFigures:
    """Every known state and kind is present (zero when there are none), so a series never
    vanishes from a dashboard when its last row changes state."""

    jobs: dict[str, int]  # job state → jobs
    oldest_queued_seconds: float  # how long the head of the queue has waited; 0 = empty queue
    orders: dict[tuple[str, str], int]  # (channel, state) → orders
    wallets: dict[str, WalletTotals]  # person | server
    open_holds: int = 0
    open_tickets: int = 0


def figures(conn: Connection, now: dt.datetime) -> DatabaseFigures:
    with conn.begin():  # one snapshot for both statements (SQLite: BEGIN; PostgreSQL: one transaction)
        return figures_in(conn, now)


def figures_in(conn: Connection, now: dt.datetime) -> DatabaseFigures:
    """`figures` inside a transaction the caller has begun (the operator dashboard's read)."""
    rows = every(conn, _FIGURES)
    oldest = from_db_time(scalar(conn, _OLDEST_QUEUED))
    jobs = {state.value: 0 for state in JobState}
    orders = {(channel.value, state.value): 0 for channel in Channel for state in OrderState}
    wallets = {kind: WalletTotals() for kind in WALLET_KINDS}
    open_holds = open_tickets = 0
    for figure, a, b, n1, n2, n3, n4 in rows:
        if figure == "jobs":
            jobs[str(a)] = int(n1)
        elif figure == "orders":
            orders[(str(a), str(b))] = int(n1)
        elif figure == "accounts":
            wallets[str(a)] = WalletTotals(int(n1), int(n2 or 0), int(n3 or 0), int(n4 or 0))
        elif figure == "holds":
            open_holds = int(n1)
        elif figure == "tickets":
            open_tickets = int(n1)
    waited = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return DatabaseFigures(jobs, waited, orders, wallets, open_holds, open_tickets)


async def read_figures(database: Database, now: dt.datetime) -> DatabaseFigures:
    """The figures for one scrape (a reader connection; never the writer's queue)."""
    return await database.read(lambda conn: figures(conn, now))
