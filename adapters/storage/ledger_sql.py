"""The ledger's units of work: synchronous SQLAlchemy Core over one `Connection`.

Each public function here is run by `Database.write` inside its own SAVEPOINT of a batched
transaction. The rules they keep:
- check and reserve in one guarded UPDATE (`... WHERE available >= n`), never read-then-write;
- every movement is one transfer row whose unique `key` makes a repeat "already done";
- a hold resolves once: capture and release only change it while it is still `held`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, case, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from adapters.storage.tables import AccountRow, HoldRow, IdentityRow, LotRow, PersonRow, TransferRow
from core.domain.identity import Person
from core.domain.ledger import (
    AccountStats,
    Balance,
    Entry,
    Grant,
    Hold,
    HoldState,
    LotKind,
    Outcome,
    Reason,
)
from core.errors import (
    HoldAlreadyResolved,
    HoldNotFound,
    InsufficientCredits,
    OperationFailed,
    UnknownIdentity,
    WalletFrozen,
)

accounts = AccountRow.__table__  # type: ignore[attr-defined]
transfers = TransferRow.__table__  # type: ignore[attr-defined]
holds = HoldRow.__table__  # type: ignore[attr-defined]
lots = LotRow.__table__  # type: ignore[attr-defined]
persons = PersonRow.__table__  # type: ignore[attr-defined]
identities = IdentityRow.__table__  # type: ignore[attr-defined]

_available = accounts.c.credits_posted - accounts.c.debits_posted - accounts.c.debits_pending


def insert_ignore(conn: Connection, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for either backend."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(table).on_conflict_do_nothing()


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands datetimes back naive; everything we store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _naive(value: dt.datetime) -> dt.datetime:
    """Store UTC without tzinfo on SQLite so that string comparison orders correctly."""
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _ts(conn: Connection, value: dt.datetime) -> dt.datetime:
    return _naive(value) if conn.dialect.name == "sqlite" else value.astimezone(dt.UTC)


# --- accounts ----------------------------------------------------------------------------


class SystemAccounts:
    """Ids of the system sources and sinks, created on first use and cached (they never change)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def id(self, conn: Connection, name: str, now: dt.datetime) -> int:
        found = self._ids.get(name)
        if found is None:
            found = ensure_account(conn, "system", f"system:{name}", now)
            self._ids[name] = found
        return found


def ensure_account(conn: Connection, kind: str, owner_key: str, now: dt.datetime) -> int:
    conn.execute(
        insert_ignore(conn, accounts).values(
            kind=kind,
            owner_key=owner_key,
            credits_posted=0,
            debits_posted=0,
            debits_pending=0,
            frozen=False,
            created_at=_ts(conn, now),
        )
    )
    return int(conn.execute(select(accounts.c.id).where(accounts.c.owner_key == owner_key)).scalar_one())


def balance(conn: Connection, account_id: int) -> Balance:
    row = conn.execute(
        select(
            accounts.c.credits_posted - accounts.c.debits_posted,
            accounts.c.debits_pending,
            accounts.c.frozen,
        ).where(accounts.c.id == account_id)
    ).one_or_none()
    if row is None:
        raise OperationFailed("unknown_account")
    posted, pending, frozen = int(row[0]), int(row[1]), bool(row[2])
    free = paid = 0
    for kind, remaining in conn.execute(
        select(lots.c.kind, func.coalesce(func.sum(lots.c.remaining), 0))
        .where(lots.c.account_id == account_id, lots.c.remaining > 0)
        .group_by(lots.c.kind)
    ):
        if kind == LotKind.FREE:
            free = int(remaining)
        else:
            paid = int(remaining)
    return Balance(account_id, free=free, paid=paid, held=pending, frozen=frozen, debt=max(0, -posted))


def _refuse_debit(conn: Connection, account_id: int, amount: int) -> None:
    """Explain why a guarded debit matched no row."""
    current = balance(conn, account_id)
    if current.frozen:
        raise WalletFrozen(account_id)
    raise InsufficientCredits(required=amount, available=max(0, current.available))


def _debit_posted(conn: Connection, account_id: int, amount: int, *, guarded: bool) -> None:
    stmt = update(accounts).where(accounts.c.id == account_id)
    if guarded:
        stmt = stmt.where(accounts.c.frozen.is_(False), _available >= amount)
    result = conn.execute(stmt.values(debits_posted=accounts.c.debits_posted + amount))
    if result.rowcount != 1:
        _refuse_debit(conn, account_id, amount)


def _credit_posted(conn: Connection, account_id: int, amount: int) -> None:
    conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(credits_posted=accounts.c.credits_posted + amount)
    )


def _record_transfer(
    conn: Connection,
    key: str,
    debit: int,
    credit: int,
    amount: int,
    reason: Reason,
    now: dt.datetime,
    *,
    order_ref: str | None = None,
    memo: str = "",
) -> bool:
    """Insert the movement; False when its key was already applied."""
    result = conn.execute(
        insert_ignore(conn, transfers).values(
            key=key,
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            reason=str(reason),
            order_ref=order_ref,
            memo=memo[:300],
            created_at=_ts(conn, now),
        )
    )
    return result.rowcount == 1


def _duplicate(conn: Connection, key: str, account_id: int) -> Outcome:
    amount = conn.execute(select(transfers.c.amount).where(transfers.c.key == key)).scalar_one()
    return Outcome(key, int(amount), balance(conn, account_id), duplicate=True)


# --- lots --------------------------------------------------------------------------------

_spend_order = (
    case((lots.c.kind == LotKind.FREE.value, 0), else_=1),
    case((lots.c.expires_at.is_(None), 1), else_=0),
    lots.c.expires_at,
    lots.c.id,
)


def _add_lot(
    conn: Connection,
    account_id: int,
    amount: int,
    kind: LotKind,
    key: str,
    now: dt.datetime,
    *,
    pack_id: str | None = None,
    order_ref: str | None = None,
    expires_at: dt.datetime | None = None,
) -> None:
    """Record where new posted credits came from. Credits that pay off a dispute debt first
    do not become spendable, so the lots always sum to max(posted balance, 0)."""
    posted = int(
        conn.execute(
            select(accounts.c.credits_posted - accounts.c.debits_posted).where(accounts.c.id == account_id)
        ).scalar_one()
    )
    remaining = min(amount, max(posted, 0))
    conn.execute(
        insert(lots).values(
            account_id=account_id,
            kind=str(kind),
            granted=amount,
            remaining=remaining,
            transfer_key=key,
            pack_id=pack_id,
            order_ref=order_ref,
            expires_at=_ts(conn, expires_at) if expires_at else None,
            created_at=_ts(conn, now),
        )
    )


def _consume_lots(
    conn: Connection, account_id: int, amount: int, *, first_order_ref: str | None = None
) -> list[tuple[LotKind, int]]:
    """Take `amount` from the wallet's lots: free first (earliest expiry first), then paid
    (oldest first); `first_order_ref` puts that purchase's lot ahead of all others."""
    order = _spend_order
    if first_order_ref is not None:
        order = (case((lots.c.order_ref == first_order_ref, 0), else_=1), *_spend_order)
    taken: list[tuple[LotKind, int]] = []
    left = amount
    rows = conn.execute(
        select(lots.c.id, lots.c.kind, lots.c.remaining)
        .where(lots.c.account_id == account_id, lots.c.remaining > 0)
        .order_by(*order)
    ).all()
    for lot_id, kind, remaining in rows:
        if left == 0:
            break
        take = min(left, int(remaining))
        conn.execute(update(lots).where(lots.c.id == lot_id).values(remaining=lots.c.remaining - take))
        taken.append((LotKind(kind), take))
        left -= take
    return taken


# --- persons -----------------------------------------------------------------------------


def _person_wallet(conn: Connection, person_id: int) -> int:
    return int(
        conn.execute(select(accounts.c.id).where(accounts.c.owner_key == f"person:{person_id}")).scalar_one()
    )


def find_person(conn: Connection, identity: str) -> Person | None:
    person_id = conn.execute(select(identities.c.person_id).where(identities.c.key == identity)).scalar()
    if person_id is None:
        return None
    return Person(int(person_id), _person_wallet(conn, int(person_id)), created=False)


def ensure_person(
    conn: Connection, system: SystemAccounts, identity: str, welcome: Grant | None, now: dt.datetime
) -> Person:
    found = find_person(conn, identity)
    if found is not None:
        return found
    person_id = int(conn.execute(insert(persons).values(created_at=_ts(conn, now))).inserted_primary_key[0])
    inserted = conn.execute(
        insert_ignore(conn, identities).values(key=identity, person_id=person_id, created_at=_ts(conn, now))
    )
    if inserted.rowcount != 1:
        # Another process won the race for this identity: theirs is the person.
        conn.execute(persons.delete().where(persons.c.id == person_id))
        winner = find_person(conn, identity)
        assert winner is not None
        return winner
    wallet_id = ensure_account(conn, "person", f"person:{person_id}", now)
    if welcome is not None and welcome.amount > 0:
        grant(conn, system, _with_account(welcome, wallet_id, person_id), now)
    return Person(person_id, wallet_id, created=True)


def _with_account(welcome: Grant, wallet_id: int, person_id: int) -> Grant:
    return Grant(
        key=welcome.key.replace("{person}", str(person_id)),
        account_id=wallet_id,
        amount=welcome.amount,
        reason=welcome.reason,
        lot_kind=welcome.lot_kind,
        expires_at=welcome.expires_at,
        memo=welcome.memo,
    )


def identities_of(conn: Connection, person_id: int) -> list[str]:
    return list(conn.execute(select(identities.c.key).where(identities.c.person_id == person_id)).scalars())


# --- operations --------------------------------------------------------------------------


def grant(conn: Connection, system: SystemAccounts, g: Grant, now: dt.datetime) -> Outcome:
    source = system.id(conn, str(g.reason), now)
    if not _record_transfer(
        conn, g.key, source, g.account_id, g.amount, g.reason, now, order_ref=g.order_ref, memo=g.memo
    ):
        return _duplicate(conn, g.key, g.account_id)
    _debit_posted(conn, source, g.amount, guarded=False)
    _credit_posted(conn, g.account_id, g.amount)
    _add_lot(
        conn,
        g.account_id,
        g.amount,
        g.lot_kind,
        g.key,
        now,
        pack_id=g.pack_id,
        order_ref=g.order_ref,
        expires_at=g.expires_at,
    )
    return Outcome(g.key, g.amount, balance(conn, g.account_id))


def hold(
    conn: Connection, key: str, account_id: int, amount: int, expires_at: dt.datetime, now: dt.datetime
) -> Outcome:
    inserted = conn.execute(
        insert_ignore(conn, holds).values(
            key=key,
            account_id=account_id,
            amount=amount,
            state=HoldState.HELD.value,
            expires_at=_ts(conn, expires_at),
            created_at=_ts(conn, now),
        )
    )
    if inserted.rowcount != 1:
        existing = get_hold(conn, key)
        assert existing is not None
        return Outcome(key, existing.amount, balance(conn, existing.account_id), duplicate=True)
    reserved = conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id, accounts.c.frozen.is_(False), _available >= amount)
        .values(debits_pending=accounts.c.debits_pending + amount)
    )
    if reserved.rowcount != 1:
        _refuse_debit(conn, account_id, amount)  # raises; the savepoint drops the hold row
    return Outcome(key, amount, balance(conn, account_id))


def get_hold(conn: Connection, key: str) -> Hold | None:
    row = conn.execute(
        select(holds.c.key, holds.c.account_id, holds.c.amount, holds.c.state, holds.c.expires_at).where(
            holds.c.key == key
        )
    ).one_or_none()
    if row is None:
        return None
    expires_at = utc(row.expires_at)
    assert expires_at is not None
    return Hold(row.key, int(row.account_id), int(row.amount), HoldState(row.state), expires_at)


def _resolve_hold(conn: Connection, key: str, to_state: HoldState, now: dt.datetime) -> Hold | None:
    """Move a held hold to `to_state`; None when it was no longer held (someone resolved it)."""
    current = get_hold(conn, key)
    if current is None:
        raise HoldNotFound(key)
    if current.state != HoldState.HELD:
        return None
    changed = conn.execute(
        update(holds)
        .where(holds.c.key == key, holds.c.state == HoldState.HELD.value)
        .values(state=to_state.value, resolved_at=_ts(conn, now))
    )
    if changed.rowcount != 1:
        return None
    conn.execute(
        update(accounts)
        .where(accounts.c.id == current.account_id)
        .values(debits_pending=accounts.c.debits_pending - current.amount)
    )
    return current


def capture(conn: Connection, system: SystemAccounts, key: str, now: dt.datetime) -> Outcome:
    spend_key = f"spend:{key}"
    resolved = _resolve_hold(conn, key, HoldState.CAPTURED, now)
    if resolved is None:
        current = get_hold(conn, key)
        assert current is not None
        if current.state == HoldState.CAPTURED:
            return _duplicate(conn, spend_key, current.account_id)
        if current.state == HoldState.RELEASED:
            raise HoldAlreadyResolved(key, current.state.value)
        # Expired: the clip was delivered late. Charge it only if the balance still allows.
        if conn.execute(select(transfers.c.id).where(transfers.c.key == spend_key)).first():
            return _duplicate(conn, spend_key, current.account_id)
        try:
            return _spend(conn, system, spend_key, current.account_id, current.amount, now, guarded=True)
        except (InsufficientCredits, WalletFrozen):
            return Outcome(spend_key, 0, balance(conn, current.account_id))
    return _spend(conn, system, spend_key, resolved.account_id, resolved.amount, now, guarded=False)


def _spend(
    conn: Connection,
    system: SystemAccounts,
    key: str,
    account_id: int,
    amount: int,
    now: dt.datetime,
    *,
    guarded: bool,
) -> Outcome:
    sink = system.id(conn, Reason.SPEND.value, now)
    if guarded:
        _debit_posted(conn, account_id, amount, guarded=True)
    else:  # the hold already reserved it: the pending debit becomes a posted one
        conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(debits_posted=accounts.c.debits_posted + amount)
        )
    _credit_posted(conn, sink, amount)
    _record_transfer(conn, key, account_id, sink, amount, Reason.SPEND, now)
    _consume_lots(conn, account_id, amount)
    return Outcome(key, amount, balance(conn, account_id))


def release(conn: Connection, key: str, now: dt.datetime, *, state: HoldState = HoldState.RELEASED) -> Outcome:
    resolved = _resolve_hold(conn, key, state, now)
    if resolved is None:
        current = get_hold(conn, key)
        assert current is not None
        if current.state == HoldState.CAPTURED:
            raise HoldAlreadyResolved(key, current.state.value)
        return Outcome(key, current.amount, balance(conn, current.account_id), duplicate=True)
    return Outcome(key, resolved.amount, balance(conn, resolved.account_id))


def sweep_expired_holds(conn: Connection, now: dt.datetime, limit: int) -> int:
    keys = conn.execute(
        select(holds.c.key)
        .where(holds.c.state == HoldState.HELD.value, holds.c.expires_at < _ts(conn, now))
        .order_by(holds.c.expires_at)
        .limit(limit)
    ).scalars()
    count = 0
    for key in list(keys):
        if not release(conn, key, now, state=HoldState.EXPIRED).duplicate:
            count += 1
    return count


def transfer(
    conn: Connection,
    key: str,
    from_account: int,
    to_account: int,
    amount: int,
    reason: Reason,
    now: dt.datetime,
    memo: str,
) -> Outcome:
    if from_account == to_account:
        raise OperationFailed("same_account")
    if not _record_transfer(conn, key, from_account, to_account, amount, reason, now, memo=memo):
        return _duplicate(conn, key, from_account)
    _debit_posted(conn, from_account, amount, guarded=True)
    _credit_posted(conn, to_account, amount)
    for kind, taken in _consume_lots(conn, from_account, amount):
        # A gift is free to whoever receives it; moving one's own credits keeps their kind.
        _add_lot(conn, to_account, taken, LotKind.FREE if reason == Reason.GIFT else kind, key, now)
    return Outcome(key, amount, balance(conn, from_account))


def take(
    conn: Connection,
    system: SystemAccounts,
    key: str,
    account_id: int,
    amount: int,
    reason: Reason,
    now: dt.datetime,
    memo: str,
) -> Outcome:
    sink = system.id(conn, str(reason), now)
    if not _record_transfer(conn, key, account_id, sink, amount, reason, now, memo=memo):
        return _duplicate(conn, key, account_id)
    _debit_posted(conn, account_id, amount, guarded=True)
    _credit_posted(conn, sink, amount)
    _consume_lots(conn, account_id, amount)
    return Outcome(key, amount, balance(conn, account_id))


def take_back(
    conn: Connection,
    system: SystemAccounts,
    key: str,
    account_id: int,
    order_ref: str,
    target_total: int,
    reason: Reason,
    now: dt.datetime,
) -> Outcome:
    if conn.execute(select(transfers.c.id).where(transfers.c.key == key)).first():
        return _duplicate(conn, key, account_id)
    already = int(
        conn.execute(
            select(func.coalesce(func.sum(transfers.c.amount), 0)).where(
                transfers.c.order_ref == order_ref,
                transfers.c.debit_account_id == account_id,
                transfers.c.reason.in_([Reason.REFUND.value, Reason.DISPUTE.value]),
            )
        ).scalar_one()
    )
    wanted = target_total - already
    dispute = reason == Reason.DISPUTE
    if dispute:
        conn.execute(update(accounts).where(accounts.c.id == account_id).values(frozen=True))
    if wanted <= 0:
        return Outcome(key, 0, balance(conn, account_id))
    if dispute:
        amount = wanted  # may leave the wallet below zero: it is frozen until an operator clears it
    else:
        unspent = int(
            conn.execute(
                select(func.coalesce(func.sum(lots.c.remaining), 0)).where(
                    lots.c.account_id == account_id, lots.c.order_ref == order_ref
                )
            ).scalar_one()
        )
        available = max(0, balance(conn, account_id).available)
        amount = min(wanted, unspent, available)
        if amount <= 0:
            return Outcome(key, 0, balance(conn, account_id))
    sink = system.id(conn, str(reason), now)
    _record_transfer(conn, key, account_id, sink, amount, reason, now, order_ref=order_ref)
    _debit_posted(conn, account_id, amount, guarded=False)
    _credit_posted(conn, sink, amount)
    _consume_lots(conn, account_id, amount, first_order_ref=order_ref)
    return Outcome(key, amount, balance(conn, account_id))


def set_frozen(conn: Connection, account_id: int, frozen: bool) -> Balance:
    if not frozen:
        row = conn.execute(select(_available).where(accounts.c.id == account_id)).scalar_one_or_none()
        if row is not None and int(row) < 0:
            raise OperationFailed("wallet_in_debt")
    result = conn.execute(update(accounts).where(accounts.c.id == account_id).values(frozen=frozen))
    if result.rowcount != 1:
        raise OperationFailed("unknown_account")
    return balance(conn, account_id)


# --- reads -------------------------------------------------------------------------------


def stats(conn: Connection, account_id: int) -> AccountStats:
    packs = conn.execute(
        select(lots.c.pack_id).where(lots.c.account_id == account_id, lots.c.pack_id.is_not(None)).distinct()
    ).scalars()
    spent, generations = conn.execute(
        select(func.coalesce(func.sum(transfers.c.amount), 0), func.count(transfers.c.id)).where(
            transfers.c.debit_account_id == account_id, transfers.c.reason == Reason.SPEND.value
        )
    ).one()
    return AccountStats(account_id, tuple(sorted(packs)), int(spent), int(generations))


def history(conn: Connection, account_id: int, limit: int) -> list[Entry]:
    signed = case((transfers.c.credit_account_id == account_id, transfers.c.amount), else_=-transfers.c.amount)
    rows = conn.execute(
        select(transfers.c.created_at, signed, transfers.c.reason, transfers.c.key, transfers.c.memo)
        .where(or_(transfers.c.debit_account_id == account_id, transfers.c.credit_account_id == account_id))
        .order_by(transfers.c.id.desc())
        .limit(limit)
    ).all()
    entries = []
    for at, amount, reason, key, memo in rows:
        stamp = utc(at)
        assert stamp is not None
        entries.append(Entry(stamp, int(amount), str(reason), str(key), str(memo or "")))
    return entries


def require_person(conn: Connection, identity: str) -> Person:
    found = find_person(conn, identity)
    if found is None:
        raise UnknownIdentity(identity)
    return found

