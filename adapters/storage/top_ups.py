"""Standing orders and automatic charges over SQL: `TopUpStore`.

`record_top_up` is the one that matters: it locks the wallet's standing order (PostgreSQL row
lock; SQLite has one writer), settles a top-up whose order was paid or closed meanwhile, reads
the snapshot, asks the core's rule and inserts the top-up row (unique key; `in_flight` unique)
with its order, all in one transaction. Two captures crossing the line at once, in one process or
two, make one top-up.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, bindparam, delete, func, null, select, update

from adapters.storage.database import Database
from adapters.storage.ledger import balance
from adapters.storage.payments import get_order, insert_order
from adapters.storage.sql import (
    DbRow,
    Statement,
    as_int,
    consts,
    every,
    from_db_time,
    insert_or_skip,
    one,
    run,
    scalar,
    to_db_time,
)
from adapters.storage.tables_payments import orders
from adapters.storage.tables_top_ups import auto_top_ups, top_ups
from core.domain.orders import OrderState
from core.domain.top_ups import (
    AutoState,
    AutoTopUp,
    TopUp,
    TopUpDecision,
    TopUpSnapshot,
    TopUpState,
    Verdict,
    capped_key,
    day_start,
    month_start,
)
from core.ports import TopUpOrder, TopUpRule

A = auto_top_ups.c
T = top_ups.c
AUTO_COLUMNS = (
    A.wallet_id,
    A.person_id,
    A.identity,
    A.pack_id,
    A.threshold,
    A.state,
    A.customer_id,
    A.payment_method_id,
    A.paused_reason,
    A.setup_order_id,
    A.setup_expires_at,
)
TOP_UP_COLUMNS = (
    T.key,
    T.wallet_id,
    T.pack_id,
    T.amount,
    T.currency,
    T.state,
    T.created_at,
    T.order_id,
    T.payment_intent_id,
    T.failure,
)
_COUNTED = consts([TopUpState.DUE, TopUpState.CHARGED, TopUpState.SUCCEEDED])
_IN_FLIGHT = consts([TopUpState.DUE, TopUpState.CHARGED])

_AUTO = Statement(select(*AUTO_COLUMNS).where(A.wallet_id == bindparam("wallet")))
_AUTO_LOCKED = Statement(select(*AUTO_COLUMNS).where(A.wallet_id == bindparam("wallet")).with_for_update())
_AUTO_VALUES = {
    "person_id": bindparam("person_id"),
    "identity": bindparam("identity"),
    "pack_id": bindparam("pack_id"),
    "threshold": bindparam("threshold"),
    "state": bindparam("state"),
    "customer_id": bindparam("customer_id"),
    "payment_method_id": bindparam("payment_method_id"),
    "paused_reason": bindparam("paused_reason"),
    "setup_order_id": bindparam("setup_order_id"),
    "setup_expires_at": bindparam("setup_expires_at"),
    "updated_at": bindparam("now"),
}
_INSERT_AUTO = Statement(
    insert_or_skip(
        auto_top_ups, ["wallet_id"], {"wallet_id": bindparam("wallet"), "created_at": bindparam("now"), **_AUTO_VALUES}
    )
)
_UPDATE_AUTO = Statement(update(auto_top_ups).where(A.wallet_id == bindparam("wallet")).values(**_AUTO_VALUES))
_DELETE_AUTO = Statement(delete(auto_top_ups).where(A.wallet_id == bindparam("wallet")))
_CARD_SAVED = Statement(
    update(auto_top_ups)
    .where(A.wallet_id == bindparam("wallet"), A.customer_id == bindparam("customer"))
    .values(
        state=AutoState.ON.value,
        payment_method_id=bindparam("pm"),
        paused_reason=null(),
        setup_order_id=null(),
        setup_expires_at=null(),
        updated_at=bindparam("now"),
    )
)
_PAUSE = Statement(
    update(auto_top_ups)
    .where(A.wallet_id == bindparam("wallet"))
    .values(state=AutoState.PAUSED.value, paused_reason=bindparam("reason"), updated_at=bindparam("now"))
)

_IN_FLIGHT_OF = Statement(select(*TOP_UP_COLUMNS).where(T.in_flight == bindparam("wallet")))
_BY_KEY = Statement(select(*TOP_UP_COLUMNS).where(T.key == bindparam("key")))
_BY_ORDER = Statement(select(*TOP_UP_COLUMNS).where(T.order_id == bindparam("order_id")))
_KEY_EXISTS = Statement(select(T.key).where(T.key == bindparam("key")))
_COUNT_SINCE = Statement(
    select(func.count(T.key)).where(
        T.wallet_id == bindparam("wallet"), T.created_at >= bindparam("since"), T.state.in_(_COUNTED)
    )
)
_AMOUNT_SINCE = Statement(
    select(func.coalesce(func.sum(T.amount), 0)).where(
        T.wallet_id == bindparam("wallet"), T.created_at >= bindparam("since"), T.state.in_(_COUNTED)
    )
)
_INSERT_TOP_UP = Statement(
    insert_or_skip(
        top_ups,
        ["key"],
        {
            "key": bindparam("key"),
            "wallet_id": bindparam("wallet"),
            "pack_id": bindparam("pack_id"),
            "amount": bindparam("amount"),
            "currency": bindparam("currency"),
            "state": bindparam("state"),
            "in_flight": bindparam("in_flight"),
            "order_id": bindparam("order_id"),
            "failure": bindparam("failure"),
            "created_at": bindparam("now"),
            "updated_at": bindparam("now"),
        },
    )
)
_END_TOP_UP = Statement(
    update(top_ups)
    .where(T.key == bindparam("key"), T.state.in_(_IN_FLIGHT))
    .values(
        state=bindparam("state"),
        in_flight=null(),
        failure=bindparam("failure"),
        payment_intent_id=func.coalesce(T.payment_intent_id, bindparam("pi")),
        updated_at=bindparam("now"),
    )
)
_CHARGED = Statement(
    update(top_ups)
    .where(T.key == bindparam("key"), T.state == TopUpState.DUE.value)
    .values(state=TopUpState.CHARGED.value, payment_intent_id=bindparam("pi"), updated_at=bindparam("now"))
)
_ORDER_INTENT = Statement(
    update(orders)
    .where(orders.c.id == bindparam("id"), orders.c.payment_intent_id.is_(None))
    .values(payment_intent_id=bindparam("pi"), updated_at=bindparam("now"))
)
_CLOSE_ORDER = Statement(
    update(orders)
    .where(orders.c.id == bindparam("id"), orders.c.state == OrderState.OPEN.value)
    .values(state=OrderState.CLOSED.value, updated_at=bindparam("now"))
)
_DUE = Statement(
    select(*TOP_UP_COLUMNS)
    .where(T.state == TopUpState.DUE.value, T.created_at < bindparam("before"))
    .order_by(T.created_at)
    .limit(bindparam("limit"))
)
_CHARGED_BEFORE = Statement(
    select(*TOP_UP_COLUMNS)
    .where(T.state == TopUpState.CHARGED.value, T.created_at < bindparam("before"))
    .order_by(T.created_at)
    .limit(bindparam("limit"))
)


def _auto(row: DbRow | None) -> AutoTopUp | None:
    if row is None:
        return None
    wallet, person, identity, pack, threshold, state, customer, pm, paused, setup_order, setup_expires = row
    return AutoTopUp(
        wallet_id=as_int(wallet),
        person_id=as_int(person),
        identity=str(identity),
        pack_id=str(pack),
        threshold=as_int(threshold),
        state=AutoState(str(state)),
        customer_id=None if customer is None else str(customer),
        payment_method_id=None if pm is None else str(pm),
        paused_reason=None if paused is None else str(paused),
        setup_order_id=None if setup_order is None else str(setup_order),
        setup_expires_at=from_db_time(setup_expires),
    )


def _top_up(row: DbRow | None) -> TopUp | None:
    if row is None:
        return None
    key, wallet, pack, amount, currency, state, created, order_id, pi, failure = row
    created_at = from_db_time(created)
    assert created_at is not None
    return TopUp(
        key=str(key),
        wallet_id=as_int(wallet),
        pack_id=str(pack),
        amount=as_int(amount),
        currency=str(currency),
        state=TopUpState(str(state)),
        created_at=created_at,
        order_id=None if order_id is None else str(order_id),
        payment_intent_id=None if pi is None else str(pi),
        failure=None if failure is None else str(failure),
    )


def _auto_values(conn: Connection, auto: AutoTopUp, now: dt.datetime) -> dict[str, object]:
    return {
        "wallet": auto.wallet_id,
        "person_id": auto.person_id,
        "identity": auto.identity,
        "pack_id": auto.pack_id,
        "threshold": auto.threshold,
        "state": auto.state.value,
        "customer_id": auto.customer_id,
        "payment_method_id": auto.payment_method_id,
        "paused_reason": auto.paused_reason,
        "setup_order_id": auto.setup_order_id,
        "setup_expires_at": to_db_time(conn, auto.setup_expires_at),
        "now": to_db_time(conn, now),
    }


def _in_flight(conn: Connection, wallet_id: int, now: dt.datetime) -> TopUp | None:
    """The wallet's top-up in flight, after settling one whose order was paid or closed."""
    current = _top_up(one(conn, _IN_FLIGHT_OF, wallet=wallet_id))
    if current is None or current.order_id is None:
        return current
    order = get_order(conn, current.order_id)
    if order is None or order.state == OrderState.OPEN:
        return current
    state = TopUpState.SUCCEEDED if order.state.fulfilled else TopUpState.FAILED
    run(conn, _END_TOP_UP, key=current.key, state=state.value, failure=None, pi=None, now=to_db_time(conn, now))
    return None


def _insert(conn: Connection, top_up: TopUp, order_id: str | None, in_flight: int | None, now: dt.datetime) -> bool:
    inserted = run(
        conn,
        _INSERT_TOP_UP,
        key=top_up.key,
        wallet=top_up.wallet_id,
        pack_id=top_up.pack_id,
        amount=top_up.amount,
        currency=top_up.currency,
        state=top_up.state.value,
        in_flight=in_flight,
        order_id=order_id,
        failure=top_up.failure,
        now=to_db_time(conn, now),
    )
    return inserted.rowcount == 1


def record_top_up(
    conn: Connection, wallet_id: int, decide: TopUpRule, make_order: TopUpOrder, now: dt.datetime
) -> tuple[TopUpDecision, AutoTopUp | None]:
    auto = _auto(one(conn, _AUTO_LOCKED, wallet=wallet_id))
    if auto is None:
        return TopUpDecision(Verdict.NOTHING, "not_on"), None
    snapshot = TopUpSnapshot(
        auto=auto,
        available=balance(conn, wallet_id).available,
        in_flight=_in_flight(conn, wallet_id, now),
        charges_today=as_int(scalar(conn, _COUNT_SINCE, wallet=wallet_id, since=to_db_time(conn, day_start(now)))),
        amount_this_month=as_int(
            scalar(conn, _AMOUNT_SINCE, wallet=wallet_id, since=to_db_time(conn, month_start(now)))
        ),
        capped_today=scalar(conn, _KEY_EXISTS, key=capped_key(wallet_id, now)) is not None,
    )
    decision = decide(snapshot)
    top_up = decision.top_up
    if top_up is None or decision.verdict == Verdict.NOTHING:
        return decision, auto
    if scalar(conn, _KEY_EXISTS, key=top_up.key) is not None:
        return TopUpDecision(Verdict.NOTHING, "duplicate"), auto
    if decision.verdict == Verdict.CAPPED:
        _insert(conn, top_up, None, None, now)
        return decision, auto
    order = insert_order(conn, make_order(auto, top_up))
    _insert(conn, top_up, order.order_id, wallet_id, now)
    stored = _top_up(one(conn, _BY_KEY, key=top_up.key))
    return TopUpDecision(decision.verdict, decision.reason, stored), auto


class SqlTopUpStore:
    """`TopUpStore` (core/ports.py); each call is one unit of work."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def auto_top_up(self, wallet_id: int) -> AutoTopUp | None:
        return await self.db.read(lambda c: _auto(one(c, _AUTO, wallet=wallet_id)))

    async def save_auto_top_up(self, auto: AutoTopUp, *, now: dt.datetime) -> bool:
        def work(conn: Connection) -> bool:
            current = _auto(one(conn, _AUTO_LOCKED, wallet=auto.wallet_id))
            if current is not None and current.setup_pending(now):
                return False
            if _in_flight(conn, auto.wallet_id, now) is not None:
                return False
            values = _auto_values(conn, auto, now)
            if current is not None:
                run(conn, _UPDATE_AUTO, **values)
                return True
            return run(conn, _INSERT_AUTO, **values).rowcount == 1

        return await self.db.write(work)

    async def turn_off(self, wallet_id: int, *, now: dt.datetime) -> bool:
        def work(conn: Connection) -> bool:
            # A top-up not yet sent to Stripe is dropped with it; one already charged still lands.
            due = _top_up(one(conn, _IN_FLIGHT_OF, wallet=wallet_id))
            if due is not None and due.state == TopUpState.DUE:
                db_now = to_db_time(conn, now)
                run(
                    conn,
                    _END_TOP_UP,
                    key=due.key,
                    state=TopUpState.FAILED.value,
                    failure="turned_off",
                    pi=None,
                    now=db_now,
                )
                if due.order_id is not None:
                    run(conn, _CLOSE_ORDER, id=due.order_id, now=db_now)
            return run(conn, _DELETE_AUTO, wallet=wallet_id).rowcount == 1

        return await self.db.write(work)

    async def card_saved(
        self, wallet_id: int, customer_id: str, payment_method_id: str, *, now: dt.datetime
    ) -> AutoTopUp | None:
        def work(conn: Connection) -> AutoTopUp | None:
            run(
                conn,
                _CARD_SAVED,
                wallet=wallet_id,
                customer=customer_id,
                pm=payment_method_id,
                now=to_db_time(conn, now),
            )
            auto = _auto(one(conn, _AUTO, wallet=wallet_id))
            return auto if auto is not None and auto.customer_id == customer_id else None

        return await self.db.write(work)

    async def record_top_up(
        self, wallet_id: int, decide: TopUpRule, order: TopUpOrder, *, now: dt.datetime
    ) -> tuple[TopUpDecision, AutoTopUp | None]:
        return await self.db.write(lambda c: record_top_up(c, wallet_id, decide, order, now))

    async def top_up_charged(self, key: str, payment_intent_id: str, *, now: dt.datetime) -> None:
        def work(conn: Connection) -> None:
            db_now = to_db_time(conn, now)
            run(conn, _CHARGED, key=key, pi=payment_intent_id, now=db_now)
            top_up = _top_up(one(conn, _BY_KEY, key=key))
            if top_up is not None and top_up.order_id is not None:
                run(conn, _ORDER_INTENT, id=top_up.order_id, pi=payment_intent_id, now=db_now)

        await self.db.write(work)

    async def top_up_failed(
        self, key: str, failure: str, payment_intent_id: str | None, *, now: dt.datetime
    ) -> AutoTopUp | None:
        def work(conn: Connection) -> AutoTopUp | None:
            db_now = to_db_time(conn, now)
            ended = run(
                conn,
                _END_TOP_UP,
                key=key,
                state=TopUpState.FAILED.value,
                failure=failure[:40],
                pi=payment_intent_id,
                now=db_now,
            )
            top_up = _top_up(one(conn, _BY_KEY, key=key))
            if ended.rowcount != 1 or top_up is None:
                return None
            if top_up.order_id is not None:
                run(conn, _CLOSE_ORDER, id=top_up.order_id, now=db_now)
            run(conn, _PAUSE, wallet=top_up.wallet_id, reason=failure[:40], now=db_now)
            return _auto(one(conn, _AUTO, wallet=top_up.wallet_id))

        return await self.db.write(work)

    async def top_up_settled(self, order_id: str, *, now: dt.datetime) -> TopUp | None:
        def work(conn: Connection) -> TopUp | None:
            top_up = _top_up(one(conn, _BY_ORDER, order_id=order_id))
            if top_up is None:
                return None
            ended = run(
                conn,
                _END_TOP_UP,
                key=top_up.key,
                state=TopUpState.SUCCEEDED.value,
                failure=None,
                pi=None,
                now=to_db_time(conn, now),
            )
            return top_up if ended.rowcount == 1 else None

        return await self.db.write(work)

    async def due_top_ups(self, *, before: dt.datetime, limit: int = 100) -> list[tuple[TopUp, AutoTopUp]]:
        def work(conn: Connection) -> list[tuple[TopUp, AutoTopUp]]:
            found: list[tuple[TopUp, AutoTopUp]] = []
            for row in every(conn, _DUE, before=to_db_time(conn, before), limit=limit):
                top_up = _top_up(row)
                assert top_up is not None
                auto = _auto(one(conn, _AUTO, wallet=top_up.wallet_id))
                if auto is not None and auto.customer_id and auto.payment_method_id:
                    found.append((top_up, auto))
            return found

        return await self.db.read(work)

    async def charged_top_ups(self, *, before: dt.datetime, limit: int = 100) -> list[TopUp]:
        def work(conn: Connection) -> list[TopUp]:
            rows = every(conn, _CHARGED_BEFORE, before=to_db_time(conn, before), limit=limit)
            return [top_up for row in rows if (top_up := _top_up(row)) is not None]

        return await self.db.read(work)
