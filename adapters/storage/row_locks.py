"""The rows a write batch locks before its first unit of work runs, in one global order.

Why: on PostgreSQL several writers (and several processes) commit batches in parallel. Two
batches that each lock wallet A and wallet B, in opposite orders, deadlock; PostgreSQL notices
only after `deadlock_timeout` and the retry costs a whole batch. So every batch first locks the
orders, then the wallets its units name, each set in ascending id order; a unit's own updates
then find those rows already locked by its transaction. SQLite needs none of this: its
`BEGIN IMMEDIATE` takes the one write lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from adapters.storage.sql import Statement, as_int, every
from adapters.storage.tables import accounts, holds
from adapters.storage.tables_payments import orders


@dataclass(frozen=True)
class Locks:
    """What a unit of work will change: wallets by id, holds by key (their wallet is looked
    up), payment orders by id."""

    wallets: tuple[int, ...] = ()
    holds: tuple[str, ...] = ()
    orders: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.wallets or self.holds or self.orders)


NO_LOCKS = Locks()

_LOCK_ORDERS = Statement(
    select(orders.c.id)
    .where(orders.c.id == any_(bindparam("ids", type_=ARRAY(orders.c.id.type))))
    .order_by(orders.c.id)
    .with_for_update()
)
_WALLETS_OF_HOLDS = Statement(
    select(holds.c.account_id).where(holds.c.key == any_(bindparam("keys", type_=ARRAY(holds.c.key.type))))
)
_LOCK_WALLETS = Statement(
    select(accounts.c.id)
    .where(accounts.c.id == any_(bindparam("ids", type_=ARRAY(accounts.c.id.type))))
    .order_by(accounts.c.id)
    .with_for_update()
)


def lock_in_order(conn: Connection, wanted: Iterable[Locks]) -> None:
    """Lock the named orders, then the named wallets (those of the named holds too), each in
    ascending order. PostgreSQL only."""
    order_ids: set[str] = set()
    wallet_ids: set[int] = set()
    hold_keys: set[str] = set()
    for locks in wanted:
        order_ids.update(locks.orders)
        wallet_ids.update(locks.wallets)
        hold_keys.update(locks.holds)
    if order_ids:
        every(conn, _LOCK_ORDERS, ids=sorted(order_ids))
    if hold_keys:
        wallet_ids.update(as_int(row[0]) for row in every(conn, _WALLETS_OF_HOLDS, keys=sorted(hold_keys)))
    if wallet_ids:
        every(conn, _LOCK_WALLETS, ids=sorted(wallet_ids))
