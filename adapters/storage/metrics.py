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

from sqlalchemy import BigInteger, ColumnElement, Connection, Select, case, cast, func, select, union_all

from adapters.storage.balances import AVAILABLE
from adapters.storage.database import Database
from adapters.storage.sql import Statement, as_int, const, every, from_db_time, scalar
from adapters.storage.tables import accounts, holds
from adapters.storage.tables_jobs import jobs
from adapters.storage.tables_payments import orders
from adapters.storage.tables_rewards import support_tickets
from core.domain.jobs import JobState
from core.domain.ledger import HoldState
from core.domain.orders import Channel, OrderState

WALLET_KINDS = ("person", "server")


def _figure(
    name: str,
    a: ColumnElement[str],
    b: ColumnElement[str],
    n1: ColumnElement[int],
    n2: ColumnElement[int],
    n3: ColumnElement[int],
    n4: ColumnElement[int],
) -> Select[str, str, str, int, int, int, int]:
    """One row shape for every figure: (figure, label a, label b, n1..n4)."""
    return select(const(name), a, b, n1, n2, n3, n4)


_FIGURES = Statement(
    union_all(
        _figure("jobs", jobs.c.state, const(""), func.count(), const(0), const(0), const(0)).group_by(jobs.c.state),
        _figure("orders", orders.c.channel, orders.c.state, func.count(), const(0), const(0), const(0)).group_by(
            orders.c.channel, orders.c.state
        ),
        _figure(
            "accounts",
            accounts.c.kind,
            const(""),
            func.count(),
            func.sum(case((accounts.c.frozen, const(1)), else_=const(0))),
            cast(func.sum(AVAILABLE), BigInteger),
            cast(func.sum(accounts.c.debits_pending), BigInteger),
        )
        .where(accounts.c.kind != const("system"))
        .group_by(accounts.c.kind),
        _figure("holds", const(""), const(""), func.count(), const(0), const(0), const(0))
        .select_from(holds)
        .where(holds.c.state == const(HoldState.HELD)),
        _figure("tickets", const(""), const(""), func.count(), const(0), const(0), const(0))
        .select_from(support_tickets)
        .where(support_tickets.c.status == const("open")),
    )
)
_OLDEST_QUEUED = Statement(
    select(jobs.c.created_at).where(jobs.c.state == const(JobState.QUEUED)).order_by(jobs.c.seq).limit(const(1))
)


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
            jobs[str(a)] = as_int(n1)
        elif figure == "orders":
            orders[(str(a), str(b))] = as_int(n1)
        elif figure == "accounts":
            wallets[str(a)] = WalletTotals(as_int(n1), as_int(n2 or 0), as_int(n3 or 0), as_int(n4 or 0))
        elif figure == "holds":
            open_holds = as_int(n1)
        elif figure == "tickets":
            open_tickets = as_int(n1)
    waited = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return DatabaseFigures(jobs, waited, orders, wallets, open_holds, open_tickets)


async def read_figures(database: Database, now: dt.datetime) -> DatabaseFigures:
    """The figures for one scrape (a reader connection; never the writer's queue)."""
    return await database.read(lambda conn: figures(conn, now))
