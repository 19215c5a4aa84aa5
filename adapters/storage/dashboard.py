"""What `GET /dashboard` shows, read in one transaction per page load, writing nothing.

The stats windows, the figures of `GET /metrics`, the oldest open support tickets and the
success metrics of the range asked (`adapters.storage.insight`, as `python -m bot stats --days N`
prints them) all come from one snapshot: SQLite `BEGIN` (WAL: a reader never
waits for the writer), PostgreSQL `REPEATABLE READ, READ ONLY` (one snapshot for every
statement, and the server refuses any write).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection

from adapters.storage.database import Database
from adapters.storage.economics import economics_in
from adapters.storage.insight import insight_in
from adapters.storage.metrics import DatabaseFigures, figures_in
from adapters.storage.offers import arm_counts, latest_experiment
from adapters.storage.stats import window_stats
from adapters.storage.support import open_tickets
from core.domain.economics import EconomicsSnapshot
from core.domain.experiments import ArmCounts
from core.domain.insight import DayRange, Insight
from core.domain.rewards import Window
from core.domain.stats import WindowStats
from core.domain.support import Ticket


@dataclass(frozen=True)
class DashboardRows:
    windows: tuple[WindowStats, ...]  # in the order asked
    figures: DatabaseFigures  # jobs, queue wait, wallets, open tickets (the total)
    tickets: tuple[Ticket, ...]  # the oldest open tickets, oldest first
    insight: Insight  # the success metrics of the range asked
    economics: EconomicsSnapshot | None = None  # the unit economics' rows of the same range
    # The running pricing experiment, else the latest: (definition, started, stopped), and its
    # figures per arm from the offer events. None: there never was one.
    experiment: tuple[str, dt.datetime, dt.datetime | None, list[ArmCounts]] | None = None


def dashboard(
    conn: Connection,
    now: dt.datetime,
    windows: tuple[Window, ...],
    span: DayRange,
    cheapest_clip: int,
    ticket_limit: int,
    economics: tuple[dt.datetime, dt.datetime, dt.datetime] | None = None,
) -> DashboardRows:
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with conn.begin():
        figures = figures_in(conn, now)
        stats = tuple(window_stats(conn, window, cheapest_clip) for window in windows)
        tickets = tuple(open_tickets(conn, ticket_limit))  # by id: oldest first
        metrics = insight_in(conn, span, cheapest_clip)
        spent = economics_in(conn, *economics) if economics is not None else None
        found = latest_experiment(conn)
        experiment = None if found is None else (*found, arm_counts(conn, found[0].split()[0]))  # id first
    return DashboardRows(stats, figures, tickets, metrics, spent, experiment)


async def read_dashboard(
    database: Database,
    now: dt.datetime,
    windows: tuple[Window, ...],
    span: DayRange,
    cheapest_clip: int,
    ticket_limit: int,
    economics: tuple[dt.datetime, dt.datetime, dt.datetime] | None = None,
) -> DashboardRows:
    """One read (a reader connection; never the writer's queue)."""
    return await database.read(lambda conn: dashboard(conn, now, windows, span, cheapest_clip, ticket_limit, economics))
