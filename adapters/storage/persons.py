"""Persons inside a unit of work: who an identity is, who a person is now (after account
linking), and their wallet's row lock. Every area that acts on a person starts here.

Why a lock: a rule reads state ("claimed today?", "how much free credit today?") and then
writes. On SQLite the single writer already serialises that; on PostgreSQL (several processes)
we take the person's wallet row lock first (a no-op UPDATE), so every decision about one person
runs one at a time, and at READ COMMITTED each statement after the lock sees what the previous
holder committed. Several wallets are locked in id order (no deadlock).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Integer, String, bindparam, cast, delete, exists, false, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import Select

from adapters.storage.sql import Statement, as_int, const, from_db_time, insert_or_skip, one, run, scalar, to_db_time
from adapters.storage.tables import accounts, identities, persons
from adapters.storage.tables_rewards import person_links
from core.domain.identity import Person
from core.errors import OperationFailed, UnknownIdentity

WALLET_PREFIX = "person:"  # a person's wallet is the account owned by "person:<id>"


def person_and(*columns: object) -> Select[tuple[object, ...]]:
    """SELECT the person behind identity `:key`, their wallet's id, then `columns` of that
    wallet's accounts row: one statement where it was two (identity, then wallet)."""
    owner = const(WALLET_PREFIX) + cast(identities.c.person_id, String)
    return (
        select(identities.c.person_id, accounts.c.id, *columns)  # type: ignore[arg-type]
        .select_from(identities.join(accounts, accounts.c.owner_key == owner))
        .where(identities.c.key == bindparam("key"))
    )


_PERSON_WITH_WALLET = Statement(person_and())
_ACCOUNT_ID = Statement(select(accounts.c.id).where(accounts.c.owner_key == bindparam("owner_key")))
_INSERT_PERSON = Statement(insert(persons).values(created_at=bindparam("now")).returning(persons.c.id))
_DELETE_PERSON = Statement(delete(persons).where(persons.c.id == bindparam("id")))
_INSERT_IDENTITY = Statement(
    insert_or_skip(
        identities,
        ["key"],
        {"key": bindparam("key"), "person_id": bindparam("person_id"), "created_at": bindparam("now")},
    )
)
_IDENTITIES_OF = Statement(
    select(identities.c.key).where(identities.c.person_id == bindparam("person_id")).order_by(identities.c.created_at)
)
_SURVIVOR = Statement(
    select(person_links.c.survivor_person_id).where(person_links.c.absorbed_person_id == bindparam("id"))
)
_LOCK_WALLET = Statement(update(accounts).where(accounts.c.id == bindparam("id")).values(frozen=accounts.c.frozen))
_CREATED = Statement(select(persons.c.created_at).where(persons.c.id == bindparam("id")))


def _new_person_with_wallet() -> Select[tuple[object, ...]]:
    """PostgreSQL: a new person, its identity and its wallet in one statement (three round trips
    fewer for everyone's first message). Returns (the person inserted, the identity's person if
    this statement claimed it, the wallet): the first is NULL when the identity was already
    someone's; the second NULL when another process claimed it meanwhile."""
    now = bindparam("now", type_=persons.c.created_at.type)
    key = bindparam("key", type_=identities.c.key.type)
    fresh = (
        insert(persons)
        .from_select(["created_at"], select(now).where(~exists().where(identities.c.key == key)))
        .returning(persons.c.id)
        .cte("fresh")
    )
    claimed = (
        postgresql.insert(identities)
        .from_select(["key", "person_id", "created_at"], select(key, fresh.c.id, now))
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(identities.c.person_id)
        .cte("claimed")
    )
    wallet = (
        insert(accounts)
        .from_select(
            ["kind", "owner_key", "credits_posted", "debits_posted", "debits_pending", "frozen", "created_at"],
            select(
                const("person"),
                const(WALLET_PREFIX) + cast(claimed.c.person_id, String),
                const(0),
                const(0),
                const(0),
                false(),
                now,
            ),
        )
        .returning(accounts.c.id)
        .cte("wallet")
    )
    return select(
        select(fresh.c.id).scalar_subquery(),
        select(claimed.c.person_id).scalar_subquery(),
        select(wallet.c.id).scalar_subquery(),
    )


_NEW_PERSON_WITH_WALLET = Statement(_new_person_with_wallet())


def found_or_made_person(conn: Connection, identity: str, now: dt.datetime) -> Person:
    """PostgreSQL: the person behind `identity`, made with its wallet when there is none (one
    statement), exactly once even when two processes race for it; `created` says which."""
    row = one(conn, _NEW_PERSON_WITH_WALLET, key=identity, now=to_db_time(conn, now))
    fresh, claimed, wallet = row or (None, None, None)
    if claimed is None or wallet is None:
        if fresh is not None:  # another process claimed the identity meanwhile: theirs is the person
            run(conn, _DELETE_PERSON, id=as_int(fresh))
        return require_person(conn, identity)
    return Person(as_int(claimed), as_int(wallet), created=True)


def wallet_owner_key(person_id: int) -> str:
    return f"{WALLET_PREFIX}{person_id}"


def account_of(conn: Connection, owner_key: str) -> int | None:
    found = scalar(conn, _ACCOUNT_ID, owner_key=owner_key)
    return None if found is None else as_int(found)


def find_person(conn: Connection, identity: str) -> Person | None:
    row = one(conn, _PERSON_WITH_WALLET, key=identity)
    return None if row is None else Person(as_int(row[0]), as_int(row[1]), created=False)


def require_person(conn: Connection, identity: str) -> Person:
    found = find_person(conn, identity)
    if found is None:
        raise UnknownIdentity(identity)
    return found


def claim_identity(conn: Connection, identity: str, now: dt.datetime) -> int | None:
    """A new person for `identity`; None when another process won the race for it (their person
    is the one: `find_person` reads it)."""
    stamp = to_db_time(conn, now)
    person_id = as_int(scalar(conn, _INSERT_PERSON, now=stamp))
    if run(conn, _INSERT_IDENTITY, key=identity, person_id=person_id, now=stamp).rowcount != 1:
        run(conn, _DELETE_PERSON, id=person_id)
        return None
    return person_id


def attach_identity(conn: Connection, identity: str, person_id: int, now: dt.datetime) -> bool:
    """Join `identity` to an existing person; False when it became a person of its own meanwhile."""
    stamp = to_db_time(conn, now)
    return bool(run(conn, _INSERT_IDENTITY, key=identity, person_id=person_id, now=stamp).rowcount == 1)


def identities_of(conn: Connection, person_id: int) -> list[str]:
    return [str(row[0]) for row in run(conn, _IDENTITIES_OF, person_id=person_id).fetchall()]


def _current_with_wallet() -> Select[tuple[object, ...]]:
    current_id = func.coalesce(
        select(person_links.c.survivor_person_id)
        .where(person_links.c.absorbed_person_id == bindparam("id"))
        .scalar_subquery(),
        bindparam("id", type_=Integer),
    ).label("person_id")
    current = select(current_id).subquery()
    owner = const(WALLET_PREFIX) + cast(current.c.person_id, String)
    return select(current.c.person_id, accounts.c.id).select_from(current.join(accounts, accounts.c.owner_key == owner))


_CURRENT_WITH_WALLET = Statement(_current_with_wallet())


def current_person(conn: Connection, person_id: int) -> Person:
    """The person `person_id` is now (itself, or whom it was merged into) with their wallet: one
    statement for `survivor` then `wallet_of`."""
    row = one(conn, _CURRENT_WITH_WALLET, id=person_id)
    if row is None:
        raise OperationFailed("unknown_account")
    return Person(as_int(row[0]), as_int(row[1]), created=False)


def survivor(conn: Connection, person_id: int) -> int:
    """The person `person_id` is now (itself, or whom it was merged into; links are kept flat)."""
    merged = scalar(conn, _SURVIVOR, id=person_id)
    return person_id if merged is None else as_int(merged)


def wallet_of(conn: Connection, person_id: int) -> int:
    wallet = account_of(conn, wallet_owner_key(person_id))
    if wallet is None:
        raise OperationFailed("unknown_account")
    return wallet


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
    person = require_person(conn, identity)
    while True:
        lock_wallets(conn, person.wallet_id)
        again = require_person(conn, identity)
        if again.person_id == person.person_id:
            return person
        person = again
