"""Orders and payment events over SQL: `PaymentStore`.

`apply` is the heart: record the event under its unique key, lock the order, ask the core what
the event does (`decide`, a pure function) and apply that effect (order fields, then the ledger's
grant / take-backs), all inside one SAVEPOINT, so an error leaves nothing half-applied and a
redelivery changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import BigInteger, ColumnElement, Connection, String, bindparam, func, or_, select, update
from sqlalchemy.types import TypeEngine

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore, SystemAccounts, post_grant, take_back, taken_for_order
from adapters.storage.offers import paid_event, record_event
from adapters.storage.persons import find_person, survivor, wallet_of
from adapters.storage.sql import (
    DbRow,
    Statement,
    as_int,
    const,
    from_db_time,
    insert_or_skip,
    max_length,
    one,
    run,
    scalar,
    to_db_time,
)
from adapters.storage.tables import accounts
from adapters.storage.tables_payments import orders, payment_events
from core.domain.orders import Channel, Effect, Order, OrderState, PaymentOutcome, PaymentResult

T = TypeVar("T")
logger = logging.getLogger(__name__)

MAX_ORDER_ID = max_length(orders.c.id)
MAX_EVENT_TYPE = max_length(payment_events.c.type)
MAX_EVENT_DETAIL = max_length(payment_events.c.detail)

# The columns `_order` reads, in its order.
COLUMNS = (
    orders.c.id,
    orders.c.request_key,
    orders.c.person_id,
    orders.c.wallet_id,
    orders.c.identity,
    orders.c.channel,
    orders.c.pack_id,
    orders.c.credits,
    orders.c.amount,
    orders.c.currency,
    orders.c.state,
    orders.c.created_at,
    orders.c.updated_at,
    orders.c.expires_at,
    orders.c.stripe_session_id,
    orders.c.checkout_url,
    orders.c.payment_intent_id,
    orders.c.telegram_charge_id,
    orders.c.amount_refunded,
    orders.c.amount_disputed,
    orders.c.paid_at,
    orders.c.credits_unrecovered,
    orders.c.experiment,
    orders.c.arm,
)

_INSERT_ORDER = Statement(
    insert_or_skip(
        orders,
        ["request_key"],
        {
            "id": bindparam("id"),
            "request_key": bindparam("request_key"),
            "person_id": bindparam("person_id"),
            "wallet_id": bindparam("wallet_id"),
            "identity": bindparam("identity"),
            "channel": bindparam("channel"),
            "pack_id": bindparam("pack_id"),
            "credits": bindparam("credits"),
            "amount": bindparam("amount"),
            "currency": bindparam("currency"),
            "state": bindparam("state"),
            "expires_at": bindparam("expires_at"),
            "experiment": bindparam("experiment"),
            "arm": bindparam("arm"),
            "amount_refunded": const(0),
            "amount_disputed": const(0),
            "credits_unrecovered": const(0),
            "created_at": bindparam("now"),
            "updated_at": bindparam("now"),
        },
    )
)
_ORDER_BY_ID = Statement(select(*COLUMNS).where(orders.c.id == bindparam("id")))
# SQLite has one writer: the transaction already holds the lock the row lock gives PostgreSQL.
_ORDER_BY_ID_LOCKED = Statement(select(*COLUMNS).where(orders.c.id == bindparam("id")).with_for_update())
_ORDER_BY_REQUEST = Statement(select(*COLUMNS).where(orders.c.request_key == bindparam("key")))
_ORDER_BY_INTENT = Statement(select(*COLUMNS).where(orders.c.payment_intent_id == bindparam("pi")))
_ORDER_BY_CHARGE = Statement(select(*COLUMNS).where(orders.c.telegram_charge_id == bindparam("charge")))
_SET_CHECKOUT = Statement(
    update(orders)
    .where(
        orders.c.id == bindparam("id"),
        or_(orders.c.stripe_session_id.is_(None), orders.c.stripe_session_id == bindparam("session_id")),
    )
    .values(stripe_session_id=bindparam("session_id"), checkout_url=bindparam("url"), updated_at=bindparam("now"))
)


def _given(name: str, column: ColumnElement[T], type_: TypeEngine[T] | type[TypeEngine[T]]) -> ColumnElement[T]:
    """The value given for `column` (a NULL parameter leaves the column unchanged)."""
    return func.coalesce(bindparam(name, type_=type_), column)


def _once(name: str, column: ColumnElement[T], type_: TypeEngine[T] | type[TypeEngine[T]]) -> ColumnElement[T]:
    """Set once, never replaced."""
    return func.coalesce(column, bindparam(name, type_=type_))


_UPDATE_ORDER = Statement(
    update(orders)
    .where(orders.c.id == bindparam("id"))
    .values(
        state=_given("state", orders.c.state, String),
        stripe_session_id=_once("session_id", orders.c.stripe_session_id, String),
        payment_intent_id=_once("payment_intent_id", orders.c.payment_intent_id, String),
        telegram_charge_id=_once("charge_id", orders.c.telegram_charge_id, String),
        amount_refunded=_given("amount_refunded", orders.c.amount_refunded, BigInteger),
        amount_disputed=_given("amount_disputed", orders.c.amount_disputed, BigInteger),
        credits_unrecovered=_given("unrecovered", orders.c.credits_unrecovered, BigInteger),
        paid_at=_once("paid_at", orders.c.paid_at, orders.c.paid_at.type),
        updated_at=bindparam("now"),
    )
)
_INSERT_EVENT = Statement(
    insert_or_skip(
        payment_events,
        ["key"],
        {
            "key": bindparam("key"),
            "type": bindparam("type"),
            "order_id": bindparam("order_id"),
            "outcome": const("applying"),
            "detail": const(""),
            "created_at": bindparam("now"),
        },
    )
)
_EVENT_OUTCOME = Statement(
    select(payment_events.c.outcome, payment_events.c.detail, payment_events.c.order_id).where(
        payment_events.c.key == bindparam("key")
    )
)
_EVENT_DONE = Statement(
    update(payment_events)
    .where(payment_events.c.key == bindparam("key"))
    .values(outcome=bindparam("outcome"), detail=bindparam("detail"))
)
_EVENT_EXISTS = Statement(select(const(1)).select_from(payment_events).where(payment_events.c.key == bindparam("key")))
_WALLET_FROZEN = Statement(select(accounts.c.frozen).where(accounts.c.id == bindparam("id")))


def _order(row: DbRow | None) -> Order | None:
    if row is None:
        return None
    (
        order_id,
        request_key,
        person_id,
        wallet_id,
        identity,
        channel,
        pack_id,
        credits,
        amount,
        currency,
        state,
        created_at,
        updated_at,
        expires_at,
        session_id,
        url,
        intent,
        charge,
        refunded,
        disputed,
        paid_at,
        unrecovered,
        experiment,
        arm,
    ) = row
    created, updated = from_db_time(created_at), from_db_time(updated_at)
    assert created is not None and updated is not None
    return Order(
        order_id=str(order_id),
        request_key=str(request_key),
        person_id=as_int(person_id),
        wallet_id=as_int(wallet_id),
        identity=str(identity),
        channel=Channel(str(channel)),
        pack_id=str(pack_id),
        credits=as_int(credits),
        amount=as_int(amount),
        currency=str(currency),
        state=OrderState(str(state)),
        created_at=created,
        updated_at=updated,
        expires_at=from_db_time(expires_at),
        stripe_session_id=None if session_id is None else str(session_id),
        checkout_url=None if url is None else str(url),
        payment_intent_id=None if intent is None else str(intent),
        telegram_charge_id=None if charge is None else str(charge),
        amount_refunded=as_int(refunded),
        amount_disputed=as_int(disputed),
        paid_at=from_db_time(paid_at),
        credits_unrecovered=as_int(unrecovered),
        experiment_id=None if experiment is None else str(experiment),
        arm=None if arm is None else str(arm),
    )


def get_order(conn: Connection, order_id: str) -> Order | None:
    return _order(one(conn, _ORDER_BY_ID, id=order_id))


def _as_now(conn: Connection, order: Order | None) -> Order | None:
    """The order as it stands after account linking: an order keeps the person and wallet it was
    made for, but that person may since have been merged into another (`person_links`). A
    personal purchase then pays into, and refunds take back from, the surviving wallet, where
    the absorbed wallet's lots went; an order for a server wallet keeps its wallet."""
    if order is None:
        return None
    current = survivor(conn, order.person_id)
    if current == order.person_id or order.wallet_id != wallet_of(conn, order.person_id):
        return order
    return dataclasses.replace(order, person_id=current, wallet_id=wallet_of(conn, current))


def _apply(
    conn: Connection,
    system: SystemAccounts,
    order_id: str | None,
    decide: Callable[[Order | None], Effect],
    event_key: str | None,
    event_type: str,
    now: dt.datetime,
) -> PaymentResult:
    if event_key is not None:
        inserted = run(
            conn,
            _INSERT_EVENT,
            key=event_key,
            type=event_type[:MAX_EVENT_TYPE],
            order_id=_short(order_id),
            now=to_db_time(conn, now),
        )
        if inserted.rowcount != 1:
            return _duplicate(conn, event_key)
    order = _as_now(conn, _order(one(conn, _ORDER_BY_ID_LOCKED, id=order_id))) if order_id else None
    effect = decide(order)
    credits, balance, unrecovered = 0, None, None
    if effect.grant is not None:
        granted = post_grant(conn, system, effect.grant, now)
        credits, balance = (0 if granted.duplicate else granted.amount), granted.balance
        if order is not None and not granted.duplicate:
            record_event(conn, paid_event(order, now))  # the offer funnel's payment, with its arm
    for take in effect.take_backs:
        taken = take_back(
            conn,
            system,
            take.key,
            take.account_id,
            take.order_ref,
            take.target_total,
            take.reason,
            now,
        )
        if effect.grant is None:  # a take-back right after a grant is part of the same purchase
            credits += 0 if taken.duplicate else taken.amount
        balance = taken.balance
        unrecovered = max(0, take.target_total - taken_for_order(conn, take.account_id, take.order_ref))
    if unrecovered:
        logger.warning("order %s: %d credits could not be taken back (spent)", order_id, unrecovered)
    if order is not None and effect.changes_order:
        _update_order(conn, order, effect, now, unrecovered)
        order = get_order(conn, order.order_id)
    if event_key is not None:
        run(conn, _EVENT_DONE, key=event_key, outcome=effect.outcome.value, detail=effect.detail[:MAX_EVENT_DETAIL])
    return PaymentResult(effect.outcome, effect.detail, order, credits, balance)


def _update_order(conn: Connection, order: Order, effect: Effect, now: dt.datetime, unrecovered: int | None) -> None:
    paid = effect.grant is not None
    run(
        conn,
        _UPDATE_ORDER,
        id=order.order_id,
        state=None if effect.state is None else effect.state.value,
        session_id=effect.session_id,
        payment_intent_id=effect.payment_intent_id,
        charge_id=effect.telegram_charge_id,
        amount_refunded=effect.amount_refunded,
        amount_disputed=effect.amount_disputed,
        unrecovered=unrecovered,
        paid_at=to_db_time(conn, now) if paid else None,
        now=to_db_time(conn, now),
    )


def _duplicate(conn: Connection, event_key: str) -> PaymentResult:
    row = one(conn, _EVENT_OUTCOME, key=event_key)
    assert row is not None
    outcome, detail, order_id = row
    order = get_order(conn, str(order_id)) if order_id else None
    return PaymentResult(PaymentOutcome.DUPLICATE, str(outcome), order)


def insert_order(conn: Connection, order: Order) -> Order:
    """Insert the order, or find the one its `request_key` already made."""
    run(
        conn,
        _INSERT_ORDER,
        id=order.order_id,
        request_key=order.request_key,
        person_id=order.person_id,
        wallet_id=order.wallet_id,
        identity=order.identity,
        channel=order.channel.value,
        pack_id=order.pack_id,
        credits=order.credits,
        amount=order.amount,
        currency=order.currency,
        state=order.state.value,
        expires_at=to_db_time(conn, order.expires_at),
        experiment=order.experiment_id,
        arm=order.arm,
        now=to_db_time(conn, order.created_at),
    )
    stored = _order(one(conn, _ORDER_BY_REQUEST, key=order.request_key))
    assert stored is not None
    return stored


def _short(order_id: str | None) -> str | None:
    """An order id from outside (metadata, an invoice payload) longer than ours is not ours."""
    return order_id if order_id is None or len(order_id) <= MAX_ORDER_ID else order_id[:MAX_ORDER_ID]


class SqlPaymentStore:
    """`PaymentStore` (core/ports.py): each call is one unit of work. `apply` composes the
    ledger's grant and take-backs with the order and event rows in one transaction."""

    def __init__(self, db: Database, ledger: SqlLedgerStore) -> None:
        self.db = db
        self.ledger = ledger  # its committed system-account ids are what `apply` composes with

    async def create_order(self, order: Order) -> Order:
        """Insert the order, or find the one its `request_key` already made (a repeated request)."""

        return await self.db.write(lambda c: insert_order(c, order))

    async def set_checkout(self, order_id: str, session_id: str, url: str, *, now: dt.datetime) -> Order:
        def work(conn: Connection) -> Order:
            run(conn, _SET_CHECKOUT, id=order_id, session_id=session_id, url=url, now=to_db_time(conn, now))
            stored = get_order(conn, order_id)
            assert stored is not None
            return stored

        return await self.db.write(work)

    async def get_order(self, order_id: str) -> Order | None:
        return await self.db.read_point(lambda c: get_order(c, order_id))

    async def order_by_payment_intent(self, payment_intent_id: str) -> Order | None:
        return await self.db.read_point(lambda c: _order(one(c, _ORDER_BY_INTENT, pi=payment_intent_id)))

    async def order_by_telegram_charge(self, charge_id: str) -> Order | None:
        return await self.db.read_point(lambda c: _order(one(c, _ORDER_BY_CHARGE, charge=charge_id)))

    async def event_seen(self, event_key: str) -> bool:
        return await self.db.read_point(lambda c: scalar(c, _EVENT_EXISTS, key=event_key) is not None)

    async def pre_checkout_facts(self, order_id: str, payer: str) -> tuple[Order | None, int | None, bool]:
        def work(conn: Connection) -> tuple[Order | None, int | None, bool]:
            order = _as_now(conn, get_order(conn, order_id))
            person = find_person(conn, payer)
            frozen = order is not None and bool(scalar(conn, _WALLET_FROZEN, id=order.wallet_id))
            return order, None if person is None else person.person_id, frozen

        return await self.db.read(work)

    async def apply(
        self,
        order_id: str | None,
        decide: Callable[[Order | None], Effect],
        *,
        event_key: str | None,
        event_type: str,
        now: dt.datetime,
    ) -> PaymentResult:
        system = self.ledger.system
        return await self.db.write(
            lambda c: _apply(c, system, order_id, decide, event_key, event_type, now),
            orders=[order_id] if order_id else [],
        )
