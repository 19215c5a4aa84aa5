"""The payments' units of work: plain SQL over one `Connection` (see `adapters.storage.sql`).

`apply` is the heart: record the event under its unique key, lock the order, ask the core what
the event does (`decide`, a pure function) and apply that effect (order fields, then ledger
grant / take-backs composed from `ledger_sql`), all inside the caller's one SAVEPOINT, so an
error leaves nothing half-applied and a redelivery changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from adapters.storage import ledger_sql
from adapters.storage.persons_sql import survivor, wallet_of
from adapters.storage.sql import Statement as S
from adapters.storage.sql import from_db_time, one, run, scalar, to_db_time
from core.domain.orders import Channel, Effect, Order, OrderState, PaymentOutcome, PaymentResult

_COLUMNS = """id, request_key, person_id, wallet_id, identity, channel, pack_id, credits, amount,
    currency, state, created_at, updated_at, expires_at, stripe_session_id, checkout_url,
    payment_intent_id, telegram_charge_id, amount_refunded, amount_disputed, paid_at"""

_INSERT_ORDER = S("""
    INSERT INTO orders (id, request_key, person_id, wallet_id, identity, channel, pack_id, credits,
        amount, currency, state, expires_at, amount_refunded, amount_disputed, created_at,
        updated_at)
    VALUES (:id, :request_key, :person_id, :wallet_id, :identity, :channel, :pack_id, :credits,
        :amount, :currency, :state, :expires_at, 0, 0, :now, :now)
    ON CONFLICT (request_key) DO NOTHING""")
_ORDER_BY_ID = S(f"SELECT {_COLUMNS} FROM orders WHERE id = :id")
_ORDER_BY_ID_LOCKED = S(f"SELECT {_COLUMNS} FROM orders WHERE id = :id FOR UPDATE")
_ORDER_BY_REQUEST = S(f"SELECT {_COLUMNS} FROM orders WHERE request_key = :key")
_ORDER_BY_INTENT = S(f"SELECT {_COLUMNS} FROM orders WHERE payment_intent_id = :pi")
_ORDER_BY_CHARGE = S(f"SELECT {_COLUMNS} FROM orders WHERE telegram_charge_id = :charge")
_SET_CHECKOUT = S("""
    UPDATE orders SET stripe_session_id = :session_id, checkout_url = :url, updated_at = :now
    WHERE id = :id AND (stripe_session_id IS NULL OR stripe_session_id = :session_id)""")
# Effects set a column only when given (NULL = unchanged); the ids are set once, never replaced.
_UPDATE_ORDER = S("""
    UPDATE orders SET
        state = COALESCE(:state, state),
        stripe_session_id = COALESCE(stripe_session_id, :session_id),
        payment_intent_id = COALESCE(payment_intent_id, :payment_intent_id),
        telegram_charge_id = COALESCE(telegram_charge_id, :charge_id),
        amount_refunded = COALESCE(:amount_refunded, amount_refunded),
        amount_disputed = COALESCE(:amount_disputed, amount_disputed),
        paid_at = COALESCE(paid_at, :paid_at),
        updated_at = :now
    WHERE id = :id""")

_INSERT_EVENT = S("""
    INSERT INTO payment_events (key, type, order_id, outcome, detail, created_at)
    VALUES (:key, :type, :order_id, 'applying', '', :now)
    ON CONFLICT (key) DO NOTHING""")
_EVENT_OUTCOME = S("SELECT outcome, detail, order_id FROM payment_events WHERE key = :key")
_EVENT_DONE = S("UPDATE payment_events SET outcome = :outcome, detail = :detail WHERE key = :key")
_EVENT_EXISTS = S("SELECT 1 FROM payment_events WHERE key = :key")
_WALLET_FROZEN = S("SELECT frozen FROM accounts WHERE id = :id")


def _order(row: tuple[Any, ...] | None) -> Order | None:
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
    ) = row
    created, updated = from_db_time(created_at), from_db_time(updated_at)
    assert created is not None and updated is not None
    return Order(
        order_id=str(order_id),
        request_key=str(request_key),
        person_id=int(person_id),
        wallet_id=int(wallet_id),
        identity=str(identity),
        channel=Channel(channel),
        pack_id=str(pack_id),
        credits=int(credits),
        amount=int(amount),
        currency=str(currency),
        state=OrderState(state),
        created_at=created,
        updated_at=updated,
        expires_at=from_db_time(expires_at),
        stripe_session_id=session_id,
        checkout_url=url,
        payment_intent_id=intent,
        telegram_charge_id=charge,
        amount_refunded=int(refunded),
        amount_disputed=int(disputed),
        paid_at=from_db_time(paid_at),
    )


# --- orders ----------------------------------------------------------------------------------


def create_order(conn: Connection, order: Order) -> Order:
    """Insert the order, or find the one its `request_key` already made (a repeated request)."""
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
        now=to_db_time(conn, order.created_at),
    )
    stored = _order(one(conn, _ORDER_BY_REQUEST, key=order.request_key))
    assert stored is not None
    return stored


def set_checkout(conn: Connection, order_id: str, session_id: str, url: str, now: dt.datetime) -> Order:
    run(conn, _SET_CHECKOUT, id=order_id, session_id=session_id, url=url, now=to_db_time(conn, now))
    stored = get_order(conn, order_id)
    assert stored is not None
    return stored


def get_order(conn: Connection, order_id: str) -> Order | None:
    return _order(one(conn, _ORDER_BY_ID, id=order_id))


def order_by_payment_intent(conn: Connection, payment_intent_id: str) -> Order | None:
    return _order(one(conn, _ORDER_BY_INTENT, pi=payment_intent_id))


def order_by_telegram_charge(conn: Connection, charge_id: str) -> Order | None:
    return _order(one(conn, _ORDER_BY_CHARGE, charge=charge_id))


def event_seen(conn: Connection, event_key: str) -> bool:
    return scalar(conn, _EVENT_EXISTS, key=event_key) is not None


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


def pre_checkout_facts(conn: Connection, order_id: str, payer: str) -> tuple[Order | None, int | None, bool]:
    order = _as_now(conn, get_order(conn, order_id))
    person = ledger_sql.find_person(conn, payer)
    frozen = False
    if order is not None:
        frozen = bool(scalar(conn, _WALLET_FROZEN, id=order.wallet_id))
    return order, None if person is None else person.person_id, frozen


# --- applying a payment event ----------------------------------------------------------------


def apply(
    conn: Connection,
    system: ledger_sql.SystemAccounts,
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
            type=event_type[:60],
            order_id=_short(order_id),
            now=to_db_time(conn, now),
        )
        if inserted.rowcount != 1:
            return _duplicate(conn, event_key)
    locked = _ORDER_BY_ID_LOCKED if conn.dialect.name == "postgresql" else _ORDER_BY_ID
    order = _as_now(conn, _order(one(conn, locked, id=order_id))) if order_id else None
    effect = decide(order)
    credits, balance = 0, None
    if effect.grant is not None:
        granted = ledger_sql.grant(conn, system, effect.grant, now)
        credits, balance = (0 if granted.duplicate else granted.amount), granted.balance
    for take in effect.take_backs:
        taken = ledger_sql.take_back(
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
    if order is not None and effect.changes_order:
        _update_order(conn, order, effect, now)
        order = get_order(conn, order.order_id)
    if event_key is not None:
        run(
            conn,
            _EVENT_DONE,
            key=event_key,
            outcome=effect.outcome.value,
            detail=effect.detail[:60],
        )
    return PaymentResult(effect.outcome, effect.detail, order, credits, balance)


def _update_order(conn: Connection, order: Order, effect: Effect, now: dt.datetime) -> None:
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
        paid_at=to_db_time(conn, now) if paid else None,
        now=to_db_time(conn, now),
    )


def _duplicate(conn: Connection, event_key: str) -> PaymentResult:
    row = one(conn, _EVENT_OUTCOME, key=event_key)
    assert row is not None
    outcome, detail, order_id = row
    order = get_order(conn, order_id) if order_id else None
    return PaymentResult(PaymentOutcome.DUPLICATE, str(outcome), order)


def _short(order_id: str | None) -> str | None:
    """An order id from outside (metadata, an invoice payload) longer than ours is not ours."""
    return order_id if order_id is None or len(order_id) <= 40 else order_id[:40]
