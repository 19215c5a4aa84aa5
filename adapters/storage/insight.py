"""The success metrics for a range of UTC days (definitions: `core.domain.insight`): the one
query module that `python -m bot stats --days N` and the dashboard both read.

Everything is read in one transaction (SQLite `BEGIN` in WAL mode; PostgreSQL `REPEATABLE READ,
READ ONLY`), so the figures of one page agree with each other. A UTC day is cut from the stored
timestamp in SQL: SQLite keeps UTC text (`YYYY-MM-DD HH:MM:SS...`), PostgreSQL a timestamptz,
read at UTC whatever the session's time zone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    String,
    Subquery,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
)

from adapters.storage.database import Database
from adapters.storage.sql import Expression, Statement, as_int, const, every, from_db_time, to_db_time, utc_day_of
from adapters.storage.stats import NOT_ABSORBED, RUNNING
from adapters.storage.tables import accounts, persons, transfers
from adapters.storage.tables_jobs import jobs
from adapters.storage.tables_offers import offer_events
from adapters.storage.tables_payments import orders
from adapters.storage.tables_rewards import support_replies, support_tickets
from core.domain.insight import (
    COMEBACK_WINDOW,
    DayRange,
    Funnel,
    Insight,
    Retention,
    RevenueRow,
    days_filled,
    support_figures,
)
from core.domain.jobs import JobState
from core.domain.ledger import Reason

_START = bindparam("start")
_END = bindparam("end")
_CHEAPEST = bindparam("cheapest", type_=BigInteger)
_SUCCEEDED = const(JobState.SUCCEEDED.value)
_SPEND = const(Reason.SPEND)
# What a job did: music from a recording, music from words, speech, a voice tag.
OPERATION: ColumnElement[str] = jobs.c.operation


def _in_range(column: ColumnElement[dt.datetime]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return column >= _START, column < _END


def _new_persons_per_day(dialect: str) -> Expression:
    day = utc_day_of(persons.c.created_at, dialect)
    return select(day, func.count()).where(*_in_range(persons.c.created_at), NOT_ABSORBED).group_by(day)


def _clips_per_day(dialect: str) -> Expression:
    day = utc_day_of(jobs.c.finished_at, dialect)
    return select(day, func.count()).where(jobs.c.state == _SUCCEEDED, *_in_range(jobs.c.finished_at)).group_by(day)


def _revenue(dialect: str) -> Expression:
    day = utc_day_of(orders.c.paid_at, dialect)
    returned = orders.c.amount_refunded + orders.c.amount_disputed
    net = orders.c.amount - case((returned < orders.c.amount, returned), else_=orders.c.amount)
    currency = func.upper(orders.c.currency)
    return (
        select(day, orders.c.channel, orders.c.pack_id, currency, func.count(), func.coalesce(func.sum(net), const(0)))
        .where(orders.c.paid_at.is_not(None), *_in_range(orders.c.paid_at))
        .group_by(day, orders.c.channel, orders.c.pack_id, currency)
        .order_by(day, orders.c.channel, orders.c.pack_id, currency)
    )


_NEW_PERSONS_PER_DAY = Statement(_new_persons_per_day)
_CLIPS_PER_DAY = Statement(_clips_per_day)
_REVENUE = Statement(_revenue)
_DELIVERED = (
    select(OPERATION.label("operation"))
    .where(jobs.c.state == _SUCCEEDED, *_in_range(jobs.c.finished_at))
    .subquery("delivered")
)
_USAGE = Statement(select(_DELIVERED.c.operation, func.count()).group_by(_DELIVERED.c.operation))

_FIRST_REPLY = (
    select(func.min(support_replies.c.created_at))
    .where(support_replies.c.ticket_id == support_tickets.c.id)
    .scalar_subquery()
)
_TICKETS = Statement(
    select(support_tickets.c.text, support_tickets.c.created_at, _FIRST_REPLY)
    .where(*_in_range(support_tickets.c.created_at))
    .order_by(support_tickets.c.id)
)

# Each wallet's first running out in the range, when it happened, the wallet's next spend after
# it and its first order paid after it.
_FIRST_OUT = (
    select(RUNNING.c.account_id, func.min(RUNNING.c.id).label("first_id"))
    .where(RUNNING.c.reason == _SPEND, RUNNING.c.after < _CHEAPEST, *_in_range(RUNNING.c.created_at))
    .group_by(RUNNING.c.account_id)
    .cte("first_out")
)
_AT = transfers.alias("out_at")
_NEXT = transfers.alias("next_spend")
_RAN_OUT = Statement(
    select(
        _AT.c.created_at,
        select(func.min(_NEXT.c.created_at))
        .where(
            _NEXT.c.debit_account_id == _FIRST_OUT.c.account_id,
            _NEXT.c.reason == _SPEND,
            _NEXT.c.id > _FIRST_OUT.c.first_id,
        )
        .scalar_subquery(),
        select(func.min(orders.c.paid_at))
        .where(orders.c.wallet_id == _FIRST_OUT.c.account_id, orders.c.paid_at >= _AT.c.created_at)
        .scalar_subquery(),
    ).select_from(_FIRST_OUT.join(_AT, _AT.c.id == _FIRST_OUT.c.first_id))
)

# The funnel's cohort: persons welcomed in the range, each with the steps they reached (ever).
# Each step is a set computed once and joined (a correlated look-up per person would run the
# running balances again for every person: minutes on PostgreSQL at a few thousand people).
_WALLET_KEY = literal("person:", String) + cast(persons.c.id, String)
_CLIPPED = select(jobs.c.person_id).where(jobs.c.state == _SUCCEEDED).distinct().subquery("clipped")
_RAN_OUT_EVER = (
    select(RUNNING.c.account_id)
    .where(RUNNING.c.reason == _SPEND, RUNNING.c.after < _CHEAPEST)
    .distinct()
    .subquery("ran_out_ever")
)
_PAID = select(orders.c.person_id).where(orders.c.paid_at.is_not(None)).distinct().subquery("paid")
# Wallets that were shown the packs (the offer events record it for everyone); None would leave
# the step out (`Funnel.offer_shown` is None).
_SHOWN: Subquery | None = (
    select(offer_events.c.account_id).where(offer_events.c.kind == const("shown")).distinct().subquery("shown")
)


def _funnel() -> Expression:
    wallets = accounts.alias("wallet")
    joined = (
        persons.outerjoin(wallets, wallets.c.owner_key == _WALLET_KEY)
        .outerjoin(_CLIPPED, _CLIPPED.c.person_id == persons.c.id)
        .outerjoin(_RAN_OUT_EVER, _RAN_OUT_EVER.c.account_id == wallets.c.id)
        .outerjoin(_PAID, _PAID.c.person_id == persons.c.id)
    )
    steps = [_CLIPPED.c.person_id.is_not(None), _RAN_OUT_EVER.c.account_id.is_not(None)]
    if _SHOWN is not None:
        joined = joined.outerjoin(_SHOWN, _SHOWN.c.account_id == wallets.c.id)
        steps.append(_SHOWN.c.account_id.is_not(None))
    steps.append(_PAID.c.person_id.is_not(None))
    reached = [
        func.coalesce(func.sum(case((and_(*steps[: n + 1]), const(1)), else_=const(0))), const(0))
        for n in range(len(steps))
    ]
    return select(func.count(), *reached).select_from(joined).where(*_in_range(persons.c.created_at), NOT_ABSORBED)


_FUNNEL = Statement(_funnel())


def insight(conn: Connection, span: DayRange, cheapest_clip: int) -> Insight:
    """Every figure of the range, in one read transaction."""
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with conn.begin():
        return insight_in(conn, span, cheapest_clip)


def insight_in(conn: Connection, span: DayRange, cheapest_clip: int) -> Insight:
    """Every figure of the range, inside the caller's transaction (the dashboard's read)."""
    bounds = dict(start=to_db_time(conn, span.start), end=to_db_time(conn, span.end))
    new_persons = {str(day): as_int(n) for day, n in every(conn, _NEW_PERSONS_PER_DAY, **bounds)}
    clips = {str(day): as_int(n) for day, n in every(conn, _CLIPS_PER_DAY, **bounds)}
    usage = tuple(
        sorted(((str(op), as_int(n)) for op, n in every(conn, _USAGE, **bounds)), key=lambda r: (-r[1], r[0]))
    )
    tickets = [
        (str(text), _time(opened), from_db_time(replied)) for text, opened, replied in every(conn, _TICKETS, **bounds)
    ]
    ran_out = every(conn, _RAN_OUT, cheapest=cheapest_clip, **bounds)
    funnel_row = every(conn, _FUNNEL, cheapest=cheapest_clip, **bounds)[0]
    revenue = tuple(
        RevenueRow(str(day), str(channel), str(pack), str(currency), as_int(count), as_int(amount))
        for day, channel, pack, currency, count, amount in every(conn, _REVENUE, **bounds)
    )
    per_day_tickets: dict[str, int] = {}
    for _, opened, _ in tickets:
        day = opened.date().isoformat()
        per_day_tickets[day] = per_day_tickets.get(day, 0) + 1
    return Insight(
        range=span,
        daily=days_filled(span, new_persons, clips, per_day_tickets),
        retention=_retention(ran_out),
        support=support_figures(tickets),
        usage=usage,
        funnel=_funnel_of(funnel_row),
        revenue=revenue,
    )


def _time(value: object) -> dt.datetime:
    found = from_db_time(value)
    assert found is not None
    return found


def _retention(rows: list[tuple[object, ...]]) -> Retention:
    came_back = paid = 0
    for out_at, next_spend, paid_at in rows:
        at = _time(out_at)
        following = from_db_time(next_spend)
        came_back += following is not None and following - at <= COMEBACK_WINDOW
        paid += paid_at is not None
    return Retention(len(rows), came_back, paid)


def _funnel_of(row: tuple[object, ...]) -> Funnel:
    counts = [as_int(value or 0) for value in row]
    if _SHOWN is None:
        welcomed, first_clip, ran_out, paid = counts
        return Funnel(welcomed, first_clip, ran_out, None, paid)
    welcomed, first_clip, ran_out, shown, paid = counts
    return Funnel(welcomed, first_clip, ran_out, shown, paid)


async def read_insight(database: Database, span: DayRange, cheapest_clip: int) -> Insight:
    """One read on a reader connection (never the writer's queue)."""
    return await database.read(lambda conn: insight(conn, span, cheapest_clip))
