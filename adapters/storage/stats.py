"""Usage figures straight from the ledger's and the orders' rows: `StatsStore` (definitions:
`core.domain.stats`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    bindparam,
    case,
    exists,
    func,
    select,
    union_all,
)

from adapters.storage.database import Database
from adapters.storage.sql import Statement, as_int, const, every, one, scalar, to_db_time
from adapters.storage.tables import accounts, lots, persons, transfers
from adapters.storage.tables_jobs import jobs
from adapters.storage.tables_payments import orders
from adapters.storage.tables_rewards import person_links
from core.domain.jobs import JobState
from core.domain.ledger import Reason
from core.domain.rewards import Window
from core.domain.stats import OperationStats, Sales, WindowStats

_START: BindParameter[dt.datetime] = bindparam("start")
_END: BindParameter[dt.datetime] = bindparam("end")
_PERSON = const("person")
_SPEND = const(Reason.SPEND)


def _in_window(column: ColumnElement[dt.datetime]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return column >= _START, column <= _END


# A person merged into another by account linking is no person of their own any more.
NOT_ABSORBED = ~exists().where(person_links.c.absorbed_person_id == persons.c.id)

_NEW_PERSONS = Statement(
    select(func.count()).select_from(persons).where(*_in_window(persons.c.created_at), NOT_ABSORBED)
)
_PERSONS_BY = Statement(select(func.count()).select_from(persons).where(persons.c.created_at <= _END, NOT_ABSORBED))
_SPENDS = Statement(
    select(func.count(), func.coalesce(func.sum(transfers.c.amount), const(0))).where(
        transfers.c.reason == _SPEND, *_in_window(transfers.c.created_at)
    )
)
_GRANTED = Statement(
    select(transfers.c.reason, func.sum(transfers.c.amount))
    .select_from(transfers.join(accounts, accounts.c.id == transfers.c.debit_account_id))
    .where(accounts.c.kind == const("system"), transfers.c.reason != _SPEND, *_in_window(transfers.c.created_at))
    .group_by(transfers.c.reason)
    .order_by(transfers.c.reason)
)
# Orders whose payment landed in the window (`paid_at` is set once, with the grant), at what
# they charged, and what has been refunded or disputed on each so far (capped at its amount).
_RETURNED = orders.c.amount_refunded + orders.c.amount_disputed
_SALES = Statement(
    select(
        orders.c.currency,
        orders.c.pack_id,
        func.count(),
        func.coalesce(func.sum(orders.c.amount), const(0)),
        func.coalesce(func.sum(case((_RETURNED < orders.c.amount, _RETURNED), else_=orders.c.amount)), const(0)),
    )
    .where(orders.c.paid_at.is_not(None), *_in_window(orders.c.paid_at))
    .group_by(orders.c.currency, orders.c.pack_id)
    .order_by(orders.c.currency, orders.c.pack_id)
)
# A person's first purchase: the earliest lot with a pack on any wallet of theirs (after a link,
# the lots live on the survivor's wallet).
_FIRSTS = (
    select(lots.c.account_id, func.min(lots.c.created_at).label("first_at"))
    .select_from(lots.join(accounts, accounts.c.id == lots.c.account_id))
    .where(accounts.c.kind == _PERSON, lots.c.pack_id.is_not(None))
    .group_by(lots.c.account_id)
    .cte("firsts")
)
_FIRST_PURCHASES = Statement(
    select(
        select(func.count()).select_from(_FIRSTS).where(*_in_window(_FIRSTS.c.first_at)).scalar_subquery(),
        select(func.count()).select_from(_FIRSTS).where(_FIRSTS.c.first_at < _START).scalar_subquery(),
    )
)


def _moves_of_person_wallets(side: str) -> Select[int, int, int, str, dt.datetime]:
    """Every transfer in or out of a person's wallet, signed from that wallet's point of view."""
    account = transfers.c.credit_account_id if side == "credit" else transfers.c.debit_account_id
    delta = transfers.c.amount if side == "credit" else -transfers.c.amount
    return (
        select(
            transfers.c.id,
            account.label("account_id"),
            delta.label("delta"),
            transfers.c.reason,
            transfers.c.created_at,
        )
        .select_from(transfers.join(accounts, accounts.c.id == account))
        .where(accounts.c.kind == _PERSON)
    )


# Running posted balance of each person wallet after each of its transfers (`RUNNING`, also read
# by the insight queries); a spend that leaves
# it below the cheapest clip is "running out", and spending again later is "coming back".
_MOVES = union_all(_moves_of_person_wallets("credit"), _moves_of_person_wallets("debit")).cte("moves")
RUNNING = select(
    _MOVES.c.account_id,
    _MOVES.c.id,
    _MOVES.c.reason,
    _MOVES.c.created_at,
    func.sum(_MOVES.c.delta)
    .over(partition_by=_MOVES.c.account_id, order_by=_MOVES.c.id, rows=(None, 0))
    .label("after"),
).cte("running")
_FIRST_RUN_OUT = (
    select(RUNNING.c.account_id, func.min(RUNNING.c.id).label("first_id"))
    .where(
        RUNNING.c.reason == _SPEND,
        RUNNING.c.after < bindparam("cheapest", type_=BigInteger),
        *_in_window(RUNNING.c.created_at),
    )
    .group_by(RUNNING.c.account_id)
    .cte("ran_out")
)
_LATER = transfers.alias("later")
_CAME_BACK = exists().where(
    _LATER.c.debit_account_id == _FIRST_RUN_OUT.c.account_id,
    _LATER.c.reason == _SPEND,
    _LATER.c.id > _FIRST_RUN_OUT.c.first_id,
)
_RAN_OUT = Statement(
    select(func.count(), func.coalesce(func.sum(case((_CAME_BACK, const(1)), else_=const(0))), const(0))).select_from(
        _FIRST_RUN_OUT
    )
)


_SUCCEEDED = jobs.c.state == const(JobState.SUCCEEDED)
_FAILED = jobs.c.state.in_([const(JobState.FAILED), const(JobState.EXPIRED)])
_BY_OPERATION = Statement(
    select(
        jobs.c.operation,
        func.count(),
        func.sum(case((_SUCCEEDED, const(1)), else_=const(0))),
        func.sum(case((_FAILED, const(1)), else_=const(0))),
        func.sum(case((_SUCCEEDED, jobs.c.cost), else_=const(0))),
    )
    .where(*_in_window(jobs.c.created_at))
    .group_by(jobs.c.operation)
    .order_by(jobs.c.operation)
)


def window_stats(conn: Connection, window: Window, cheapest_clip: int) -> WindowStats:
    span = dict(start=to_db_time(conn, window.start), end=to_db_time(conn, window.end))
    generations, spent = one(conn, _SPENDS, **span) or (0, 0)
    first_in, first_before = one(conn, _FIRST_PURCHASES, **span) or (0, 0)
    persons_by_end = as_int(scalar(conn, _PERSONS_BY, end=span["end"]))
    ran_out, came_back = one(conn, _RAN_OUT, cheapest=cheapest_clip, **span) or (0, 0)
    return WindowStats(
        window=window,
        new_persons=as_int(scalar(conn, _NEW_PERSONS, **span)),
        generations=as_int(generations),
        credits_spent=as_int(spent),
        granted_by_reason={str(reason): as_int(total) for reason, total in every(conn, _GRANTED, **span)},
        sales=tuple(
            Sales(str(currency), str(pack), as_int(count), as_int(paid), as_int(returned))
            for currency, pack, count, paid, returned in every(conn, _SALES, **span)
        ),
        first_purchasers=as_int(first_in),
        free_base=max(persons_by_end - as_int(first_before), 0),
        ran_out=as_int(ran_out),
        came_back=as_int(came_back),
        by_operation=tuple(
            OperationStats(str(name), as_int(count), as_int(ok), as_int(bad), as_int(credits))
            for name, count, ok, bad, credits in every(conn, _BY_OPERATION, **span)
        ),
    )


class SqlStatsStore:
    """`StatsStore` (core/ports.py)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def window_stats(self, window: Window, *, cheapest_clip: int) -> WindowStats:
        return await self.db.read(lambda c: window_stats(c, window, cheapest_clip))
