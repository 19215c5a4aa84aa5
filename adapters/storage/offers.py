"""Pricing experiments, offer events and the upsell's reads over SQL: `OfferStore`.

The 'paid' event is not written here but by `adapters.storage.payments` in the grant's
transaction (`paid_event`), once per order (a unique order id).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Connection, bindparam, case, distinct, func, null, select, update

from adapters.storage.database import Database
from adapters.storage.sql import (
    DbRow,
    Statement,
    as_int,
    const,
    every,
    from_db_time,
    insert_or_skip,
    one,
    run,
    scalar,
    to_db_time,
)
from adapters.storage.tables import transfers
from adapters.storage.tables_offers import experiments, offer_events
from adapters.storage.tables_payments import orders
from core.domain.experiments import ArmCounts, Experiment, OfferEvent, OfferEventKind
from core.domain.ledger import Reason
from core.domain.orders import Order
from core.domain.upsell import BuyerHistory
from core.errors import ExperimentRunning, InvalidExperiment

_RUNNING = Statement(
    select(experiments.c.definition, experiments.c.started_at).where(
        experiments.c.running == bindparam("yes", type_=Boolean)
    )
)
_RUNNING_ID = Statement(select(experiments.c.id).where(experiments.c.running == bindparam("yes", type_=Boolean)))
_EXISTS = Statement(select(const(1)).select_from(experiments).where(experiments.c.id == bindparam("id")))
_BY_ID = Statement(
    select(experiments.c.definition, experiments.c.started_at, experiments.c.stopped_at).where(
        experiments.c.id == bindparam("id")
    )
)
_LATEST = Statement(
    select(experiments.c.definition, experiments.c.started_at, experiments.c.stopped_at)
    .order_by(experiments.c.running.is_(None), experiments.c.started_at.desc(), experiments.c.id.desc())
    .limit(1)
)
_INSERT = Statement(
    experiments.insert().values(
        id=bindparam("id"),
        definition=bindparam("definition"),
        running=bindparam("yes", type_=Boolean),
        started_at=bindparam("now"),
    )
)
_STOP = Statement(
    update(experiments).where(experiments.c.id == bindparam("id")).values(running=null(), stopped_at=bindparam("now"))
)
_EVENT_VALUES = {
    "account_id": bindparam("account_id"),
    "kind": bindparam("kind"),
    "pack_id": bindparam("pack_id"),
    "experiment": bindparam("experiment"),
    "arm": bindparam("arm"),
    "order_id": bindparam("order_id"),
    "amount": bindparam("amount"),
    "currency": bindparam("currency"),
    "created_at": bindparam("now"),
}
_INSERT_EVENT = Statement(offer_events.insert().values(_EVENT_VALUES))
_INSERT_PAID = Statement(insert_or_skip(offer_events, ["order_id"], _EVENT_VALUES))

_of_experiment = offer_events.c.experiment == bindparam("experiment")


def _count_of(kind: OfferEventKind):  # type: ignore[no-untyped-def]
    return func.coalesce(func.sum(case((offer_events.c.kind == const(kind.value), 1), else_=0)), 0)


_ARM_COUNTS = Statement(
    select(
        offer_events.c.arm,
        func.count(distinct(offer_events.c.account_id)),
        _count_of(OfferEventKind.SHOWN),
        _count_of(OfferEventKind.CLICKED),
        func.count(
            distinct(case((offer_events.c.kind == const(OfferEventKind.PAID.value), offer_events.c.account_id)))
        ),
    )
    .where(_of_experiment)
    .group_by(offer_events.c.arm)
)
_ARM_REVENUE = Statement(
    select(offer_events.c.arm, offer_events.c.currency, func.sum(offer_events.c.amount))
    .where(_of_experiment, offer_events.c.kind == const(OfferEventKind.PAID.value))
    .group_by(offer_events.c.arm, offer_events.c.currency)
    .order_by(offer_events.c.arm, offer_events.c.currency)
)
_BOUGHT = Statement(
    select(func.count())
    .select_from(orders)
    .where(
        orders.c.person_id == bindparam("person_id"),
        orders.c.wallet_id == bindparam("wallet_id"),
        orders.c.pack_id == bindparam("pack_id"),
        orders.c.paid_at.is_not(None),
    )
)
_SPENT = Statement(
    select(func.coalesce(func.sum(transfers.c.amount), 0)).where(
        transfers.c.debit_account_id == bindparam("wallet_id"),
        transfers.c.reason == const(Reason.SPEND.value),
        transfers.c.created_at >= bindparam("since"),
    )
)


def record_event(conn: Connection, event: OfferEvent) -> None:
    """One offer event; a 'paid' one is skipped when its order has one already."""
    run(
        conn,
        _INSERT_PAID if event.order_id is not None else _INSERT_EVENT,
        account_id=event.wallet_id,
        kind=event.kind.value,
        pack_id=event.pack_id,
        experiment=event.experiment_id,
        arm=event.arm,
        order_id=event.order_id,
        amount=event.amount,
        currency=event.currency,
        now=to_db_time(conn, event.at),
    )


def paid_event(order: Order, now: dt.datetime) -> OfferEvent:
    """The 'paid' event of an order just granted (its wallet as it is now, after any link)."""
    return OfferEvent(
        order.wallet_id,
        OfferEventKind.PAID,
        now,
        order.pack_id,
        order.experiment_id,
        order.arm,
        order.order_id,
        order.amount,
        order.currency,
    )


def _found(row: DbRow | None) -> tuple[str, dt.datetime, dt.datetime | None] | None:
    if row is None:
        return None
    definition, started, stopped = row
    started_at = from_db_time(started)
    assert started_at is not None
    return str(definition), started_at, from_db_time(stopped)


def latest_experiment(conn: Connection) -> tuple[str, dt.datetime, dt.datetime | None] | None:
    """(definition, started, stopped) of the running experiment, else of the latest."""
    return _found(one(conn, _LATEST))


def arm_counts(conn: Connection, experiment_id: str) -> list[ArmCounts]:
    """The report's figures per arm, from the offer events (two GROUP BYs)."""
    revenue: dict[str, list[tuple[str, int]]] = {}
    for arm, currency, amount in every(conn, _ARM_REVENUE, experiment=experiment_id):
        revenue.setdefault(str(arm), []).append((str(currency), as_int(amount)))
    return [
        ArmCounts(
            str(arm), as_int(people), as_int(views), as_int(clicks), as_int(payers), tuple(revenue.get(str(arm), ()))
        )
        for arm, people, views, clicks, payers in every(conn, _ARM_COUNTS, experiment=experiment_id)
        if arm is not None
    ]


class SqlOfferStore:
    """`OfferStore` (core/ports.py): each call is one unit of work."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def start_experiment(self, experiment: Experiment, definition: str) -> None:
        def work(conn: Connection) -> None:
            if scalar(conn, _EXISTS, id=experiment.experiment_id) is not None:
                raise InvalidExperiment("id_used", experiment.experiment_id)
            running = scalar(conn, _RUNNING_ID, yes=True)
            if running is not None:
                raise ExperimentRunning(str(running))
            run(
                conn,
                _INSERT,
                id=experiment.experiment_id,
                definition=definition,
                yes=True,
                now=to_db_time(conn, experiment.started_at),
            )

        await self.db.write(work)

    async def stop_experiment(self, *, now: dt.datetime) -> str | None:
        def work(conn: Connection) -> str | None:
            running = scalar(conn, _RUNNING_ID, yes=True)
            if running is None:
                return None
            run(conn, _STOP, id=running, now=to_db_time(conn, now))
            return str(running)

        return await self.db.write(work)

    async def experiment(self, experiment_id: str | None = None) -> tuple[str, dt.datetime, dt.datetime | None] | None:
        if experiment_id is not None:
            return await self.db.read(lambda c: _found(one(c, _BY_ID, id=experiment_id)))
        return await self.db.read(latest_experiment)

    async def running_definition(self) -> tuple[str, dt.datetime] | None:
        def work(conn: Connection) -> tuple[str, dt.datetime] | None:
            row = one(conn, _RUNNING, yes=True)
            if row is None:
                return None
            started = from_db_time(row[1])
            assert started is not None
            return str(row[0]), started

        return await self.db.read_point(work)

    async def record_event(self, event: OfferEvent) -> None:
        await self.db.write(lambda c: record_event(c, event))

    async def arm_counts(self, experiment_id: str) -> list[ArmCounts]:
        return await self.db.read(lambda c: arm_counts(c, experiment_id))

    async def buyer_history(self, person_id: int, wallet_id: int, pack_id: str, *, since: dt.datetime) -> BuyerHistory:
        def work(conn: Connection) -> BuyerHistory:
            bought = scalar(conn, _BOUGHT, person_id=person_id, wallet_id=wallet_id, pack_id=pack_id)
            spent = scalar(conn, _SPENT, wallet_id=wallet_id, since=to_db_time(conn, since))
            return BuyerHistory(as_int(bought), as_int(spent))

        return await self.db.read(work)
