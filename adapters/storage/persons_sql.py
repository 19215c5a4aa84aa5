"""Finding and locking a person inside a unit of work, with account linking in mind.

Why a lock: reward rules read state ("claimed today?", "how much free credit today?") and then
write. On SQLite the single writer already serialises that; on PostgreSQL (several processes)
we take the person's wallet row lock first (a no-op UPDATE), so every rule check about one
person runs one at a time, and at READ COMMITTED each statement after the lock sees what the
previous holder committed. Several wallets are locked in id order (no deadlock).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from adapters.storage import ledger_sql
from adapters.storage.sql import Statement as S
from adapters.storage.sql import from_db_time, run, scalar
from core.domain.identity import Person
from core.errors import OperationFailed

_SURVIVOR = S("SELECT survivor_person_id FROM person_links WHERE absorbed_person_id = :id")
_WALLET = S("SELECT id FROM accounts WHERE owner_key = :owner_key")
_LOCK_WALLET = S("UPDATE accounts SET frozen = frozen WHERE id = :id")
_CREATED = S("SELECT created_at FROM persons WHERE id = :id")


def survivor(conn: Connection, person_id: int) -> int:
    """The person `person_id` is now (itself, or whom it was merged into; links are kept flat)."""
    merged = scalar(conn, _SURVIVOR, id=person_id)
    return person_id if merged is None else int(merged)


def wallet_of(conn: Connection, person_id: int) -> int:
    wallet = scalar(conn, _WALLET, owner_key=f"person:{person_id}")
    if wallet is None:
        raise OperationFailed("unknown_account")
    return int(wallet)


def created_at(conn: Connection, person_id: int) -> dt.datetime:
    stamp = from_db_time(scalar(conn, _CREATED, id=person_id))
    if stamp is None:
        raise OperationFailed("unknown_account")
    return stamp


def lock_wallets(conn: Connection, *wallet_ids: int) -> None:
    for wallet in sorted(set(wallet_ids)):
        run(conn, _LOCK_WALLET, id=wallet)


def locked_person(conn: Connection, identity: str) -> Person:
    """The person behind `identity`, with their wallet locked for this transaction. Re-checked
    after the lock: a link committed meanwhile may have moved the identity to another person."""
    person = ledger_sql.require_person(conn, identity)
    while True:
        lock_wallets(conn, person.wallet_id)
        again = ledger_sql.require_person(conn, identity)
        if again.person_id == person.person_id:
            return person
        person = again


def locked_person_id(conn: Connection, person_id: int) -> Person:
    """Like `locked_person`, from a person id that may have been merged into another."""
    current = survivor(conn, person_id)
    while True:
        wallet = wallet_of(conn, current)
        lock_wallets(conn, wallet)
        again = survivor(conn, current)
        if again == current:
            return Person(current, wallet, created=False)
        current = again
