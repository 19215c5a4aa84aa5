"""The ledger's units of work: plain SQL over one `Connection` (see `adapters.storage.sql`).

Each public function is run by `Database.write` inside its own SAVEPOINT of a batched
transaction. The rules they keep:
- check and reserve in one guarded UPDATE (`... WHERE available >= n`), never read-then-write;
- every movement is one transfer row whose unique `key` makes a repeat "already done";
- a hold resolves once: capture and release only change it while it is still `held`;
- the lots of a wallet always sum to max(posted balance, 0).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from adapters.storage.sql import Savepoint, every, from_db_time, one, run, scalar, to_db_time
from adapters.storage.sql import Statement as S
from core.domain.identity import Person
from core.domain.ledger import (
    AccountStats,
    Balance,
    Entry,
    ExpiredPart,
    ExpirySweep,
    Grant,
    Hold,
    HoldState,
    LotKind,
    LotView,
    Outcome,
    Reason,
    expirable_parts,
)
from core.errors import (
    HoldAlreadyResolved,
    HoldNotFound,
    InsufficientCredits,
    InternalError,
    OperationFailed,
    UnknownIdentity,
    WalletFrozen,
)

AVAILABLE = "credits_posted - debits_posted - debits_pending"

# --- accounts ----------------------------------------------------------------------------

_INSERT_ACCOUNT = S("""
    INSERT INTO accounts (kind, owner_key, credits_posted, debits_posted, debits_pending, frozen, created_at)
    VALUES (:kind, :owner_key, 0, 0, 0, :frozen, :now) ON CONFLICT (owner_key) DO NOTHING""")
_ACCOUNT_ID = S("SELECT id FROM accounts WHERE owner_key = :owner_key")
_BALANCE = S("""
    SELECT a.credits_posted - a.debits_posted, a.debits_pending, a.frozen,
        COALESCE((SELECT SUM(remaining) FROM lots WHERE account_id = a.id AND kind = 'free'), 0),
        COALESCE((SELECT SUM(remaining) FROM lots WHERE account_id = a.id AND kind = 'paid'), 0)
    FROM accounts a WHERE a.id = :id""")
_POSTED = S("SELECT credits_posted - debits_posted FROM accounts WHERE id = :id")
_DEBIT_GUARDED = S(f"""
    UPDATE accounts SET debits_posted = debits_posted + :amount
    WHERE id = :id AND NOT frozen AND {AVAILABLE} >= :amount""")
_DEBIT = S("UPDATE accounts SET debits_posted = debits_posted + :amount WHERE id = :id")
_CREDIT = S("UPDATE accounts SET credits_posted = credits_posted + :amount WHERE id = :id")
_RESERVE = S(f"""
    UPDATE accounts SET debits_pending = debits_pending + :amount
    WHERE id = :id AND NOT frozen AND {AVAILABLE} >= :amount""")
_UNRESERVE = S("UPDATE accounts SET debits_pending = debits_pending - :amount WHERE id = :id")
_POST_RESERVED = S("""
    UPDATE accounts SET debits_pending = debits_pending - :amount, debits_posted = debits_posted + :amount
    WHERE id = :id""")
_SET_FROZEN = S("UPDATE accounts SET frozen = :frozen WHERE id = :id")
_AVAILABLE_OF = S(f"SELECT {AVAILABLE} FROM accounts WHERE id = :id")


class SystemAccounts:
    """Ids of the system sources and sinks (one per `Reason`).

    Only ids known to be committed are cached (`remember`, after `prepare` committed): an id
    created inside a batch that is later rolled back, or not yet committed while another
    writer already uses it, would break a foreign key.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    @property
    def ready(self) -> bool:
        return all(reason.value in self._ids for reason in Reason)

    @staticmethod
    def prepare(conn: Connection, now: dt.datetime) -> dict[str, int]:
        return {r.value: ensure_account(conn, "system", f"system:{r.value}", now) for r in Reason}

    def remember(self, ids: dict[str, int]) -> None:
        self._ids.update(ids)

    def id(self, conn: Connection, name: str, now: dt.datetime) -> int:
        found = self._ids.get(name)
        if found is None:  # not prepared yet: find or create it in this transaction, uncached
            found = ensure_account(conn, "system", f"system:{name}", now)
        return found


def ensure_account(conn: Connection, kind: str, owner_key: str, now: dt.datetime) -> int:
    run(conn, _INSERT_ACCOUNT, kind=kind, owner_key=owner_key, frozen=False, now=to_db_time(conn, now))
    return int(scalar(conn, _ACCOUNT_ID, owner_key=owner_key))


def balance(conn: Connection, account_id: int) -> Balance:
    row = one(conn, _BALANCE, id=account_id)
    if row is None:
        raise OperationFailed("unknown_account")
    posted, pending, frozen, free, paid = row
    return Balance(
        account_id,
        free=int(free),
        paid=int(paid),
        held=int(pending),
        frozen=bool(frozen),
        debt=max(0, -int(posted)),
    )


def _refuse_debit(conn: Connection, account_id: int, amount: int) -> None:
    """Explain why a guarded debit matched no row."""
    current = balance(conn, account_id)
    if current.frozen:
        raise WalletFrozen(account_id)
    raise InsufficientCredits(required=amount, available=max(0, current.available))


def _debit_guarded(conn: Connection, account_id: int, amount: int) -> None:
    if run(conn, _DEBIT_GUARDED, id=account_id, amount=amount).rowcount != 1:
        _refuse_debit(conn, account_id, amount)


# --- transfers ---------------------------------------------------------------------------

_INSERT_TRANSFER = S("""
    INSERT INTO transfers (key, debit_account_id, credit_account_id, amount, reason, order_ref, memo, created_at)
    VALUES (:key, :debit, :credit, :amount, :reason, :order_ref, :memo, :now)
    ON CONFLICT (key) DO NOTHING""")
_TRANSFER_AMOUNT = S("SELECT amount FROM transfers WHERE key = :key")


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
    cursor = run(
        conn,
        _INSERT_TRANSFER,
        key=key,
        debit=debit,
        credit=credit,
        amount=amount,
        reason=str(reason),
        order_ref=order_ref,
        memo=memo[:300],
        now=to_db_time(conn, now),
    )
    return bool(cursor.rowcount == 1)


def _duplicate(conn: Connection, key: str, account_id: int) -> Outcome:
    amount = scalar(conn, _TRANSFER_AMOUNT, key=key)
    return Outcome(key, int(amount or 0), balance(conn, account_id), duplicate=True)


def _move(
    conn: Connection,
    key: str,
    debit: int,
    credit: int,
    amount: int,
    reason: Reason,
    now: dt.datetime,
    *,
    guarded: bool,
    system_side: str | None = None,
    order_ref: str | None = None,
    memo: str = "",
) -> bool:
    """Record a posted transfer and apply it to the wallets on either side; False if already
    applied. `system_side` ("debit" or "credit") names a system account, whose totals are not
    kept on its row: every writer would contend for that one row, and a system account has no
    limit to enforce. Its totals are the sums of its transfers (see the auditor)."""
    if not _record_transfer(conn, key, debit, credit, amount, reason, now, order_ref=order_ref, memo=memo):
        return False
    if system_side != "debit":
        if guarded:
            _debit_guarded(conn, debit, amount)
        else:
            run(conn, _DEBIT, id=debit, amount=amount)
    if system_side != "credit":
        run(conn, _CREDIT, id=credit, amount=amount)
    return True


# --- lots --------------------------------------------------------------------------------

_INSERT_LOT = S("""
    INSERT INTO lots (account_id, kind, granted, remaining, transfer_key, pack_id, order_ref, expires_at, created_at)
    VALUES (:account_id, :kind, :granted, :remaining, :key, :pack_id, :order_ref, :expires_at, :now)""")
_SPENDABLE_LOTS = S("""
    SELECT id, kind, remaining FROM lots WHERE account_id = :account_id AND remaining > 0
    ORDER BY CASE WHEN order_ref = :first_order_ref THEN 0 ELSE 1 END,
        CASE WHEN kind = 'free' THEN 0 ELSE 1 END,
        CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id""")
_TAKE_FROM_LOT = S("UPDATE lots SET remaining = remaining - :amount WHERE id = :id")
_UNSPENT_OF_ORDER = S("""
    SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE account_id = :account_id AND order_ref = :order_ref""")


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
    """Record where new posted credits came from. Credits that pay off a dispute debt first do
    not become spendable, so the lots always sum to max(posted balance, 0)."""
    posted = int(scalar(conn, _POSTED, id=account_id))
    run(
        conn,
        _INSERT_LOT,
        account_id=account_id,
        kind=str(kind),
        granted=amount,
        remaining=min(amount, max(posted, 0)),
        key=key,
        pack_id=pack_id,
        order_ref=order_ref,
        expires_at=to_db_time(conn, expires_at),
        now=to_db_time(conn, now),
    )


def _consume_lots(
    conn: Connection, account_id: int, amount: int, *, first_order_ref: str | None = None
) -> list[tuple[LotKind, int]]:
    """Take `amount` from the wallet's lots: free first (earliest expiry first), then paid
    (oldest first); `first_order_ref` puts that purchase's lot ahead of all others."""
    taken: list[tuple[LotKind, int]] = []
    left = amount
    for lot_id, kind, remaining in every(
        conn, _SPENDABLE_LOTS, account_id=account_id, first_order_ref=first_order_ref or ""
    ):
        if left == 0:
            break
        take = min(left, int(remaining))
        run(conn, _TAKE_FROM_LOT, id=lot_id, amount=take)
        taken.append((LotKind(kind), take))
        left -= take
    return taken


# --- persons -----------------------------------------------------------------------------

_PERSON_OF = S("SELECT person_id FROM identities WHERE key = :key")
_INSERT_PERSON = S("INSERT INTO persons (created_at) VALUES (:now) RETURNING id")
_DELETE_PERSON = S("DELETE FROM persons WHERE id = :id")
_INSERT_IDENTITY = S("""
    INSERT INTO identities (key, person_id, created_at) VALUES (:key, :person_id, :now)
    ON CONFLICT (key) DO NOTHING""")
_IDENTITIES_OF = S("SELECT key FROM identities WHERE person_id = :person_id ORDER BY created_at")


def find_person(conn: Connection, identity: str) -> Person | None:
    person_id = scalar(conn, _PERSON_OF, key=identity)
    if person_id is None:
        return None
    wallet = scalar(conn, _ACCOUNT_ID, owner_key=f"person:{person_id}")
    return Person(int(person_id), int(wallet), created=False)


def ensure_person(
    conn: Connection, system: SystemAccounts, identity: str, welcome: Grant | None, now: dt.datetime
) -> Person:
    found = find_person(conn, identity)
    if found is not None:
        return found
    person_id = int(scalar(conn, _INSERT_PERSON, now=to_db_time(conn, now)))
    if run(conn, _INSERT_IDENTITY, key=identity, person_id=person_id, now=to_db_time(conn, now)).rowcount != 1:
        # Another process won the race for this identity: theirs is the person.
        run(conn, _DELETE_PERSON, id=person_id)
        winner = find_person(conn, identity)
        assert winner is not None
        return winner
    wallet_id = ensure_account(conn, "person", f"person:{person_id}", now)
    if welcome is not None and welcome.amount > 0:
        grant(conn, system, _for_new_wallet(welcome, wallet_id, person_id), now)
    return Person(person_id, wallet_id, created=True)


def find_person_with_balance(conn: Connection, identity: str) -> tuple[Person, Balance] | None:
    found = find_person(conn, identity)
    return None if found is None else (found, balance(conn, found.wallet_id))


def ensure_person_with_balance(
    conn: Connection, system: SystemAccounts, identity: str, welcome: Grant | None, now: dt.datetime
) -> tuple[Person, Balance]:
    person = ensure_person(conn, system, identity, welcome, now)
    return person, balance(conn, person.wallet_id)


def _for_new_wallet(welcome: Grant, wallet_id: int, person_id: int) -> Grant:
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
    return [str(row[0]) for row in every(conn, _IDENTITIES_OF, person_id=person_id)]


def require_person(conn: Connection, identity: str) -> Person:
    found = find_person(conn, identity)
    if found is None:
        raise UnknownIdentity(identity)
    return found


# --- grants, holds, captures -------------------------------------------------------------


def grant(conn: Connection, system: SystemAccounts, g: Grant, now: dt.datetime) -> Outcome:
    source = system.id(conn, str(g.reason), now)
    if not _move(
        conn,
        g.key,
        source,
        g.account_id,
        g.amount,
        g.reason,
        now,
        guarded=False,
        system_side="debit",
        order_ref=g.order_ref,
        memo=g.memo,
    ):
        return _duplicate(conn, g.key, g.account_id)
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


_INSERT_HOLD = S("""
    INSERT INTO holds (key, account_id, amount, state, expires_at, created_at)
    VALUES (:key, :account_id, :amount, 'held', :expires_at, :now)
    ON CONFLICT (key) DO NOTHING""")
_HOLD = S("SELECT key, account_id, amount, state, expires_at FROM holds WHERE key = :key")
_RESOLVE_HOLD = S("""
    UPDATE holds SET state = :state, resolved_at = :now WHERE key = :key AND state = 'held'
    RETURNING account_id, amount""")
_EXPIRED_HOLDS = S("""
    SELECT key FROM holds WHERE state = 'held' AND expires_at < :now ORDER BY expires_at LIMIT :limit""")
_SPEND_EXISTS = S("SELECT 1 FROM transfers WHERE key = :key")


def hold(
    conn: Connection, key: str, account_id: int, amount: int, expires_at: dt.datetime, now: dt.datetime
) -> Outcome:
    inserted = run(
        conn,
        _INSERT_HOLD,
        key=key,
        account_id=account_id,
        amount=amount,
        expires_at=to_db_time(conn, expires_at),
        now=to_db_time(conn, now),
    )
    if inserted.rowcount != 1:
        existing = get_hold(conn, key)
        assert existing is not None
        return Outcome(key, existing.amount, balance(conn, existing.account_id), duplicate=True)
    if run(conn, _RESERVE, id=account_id, amount=amount).rowcount != 1:
        _refuse_debit(conn, account_id, amount)  # raises; the savepoint drops the hold row
    return Outcome(key, amount, balance(conn, account_id))


def get_hold(conn: Connection, key: str) -> Hold | None:
    row = one(conn, _HOLD, key=key)
    if row is None:
        return None
    expires_at = from_db_time(row[4])
    assert expires_at is not None
    return Hold(str(row[0]), int(row[1]), int(row[2]), HoldState(row[3]), expires_at)


def _resolve(conn: Connection, key: str, state: HoldState, now: dt.datetime) -> tuple[int, int] | None:
    """Move a held hold to `state`: (account, amount), or None when it was no longer held."""
    row = one(conn, _RESOLVE_HOLD, key=key, state=state.value, now=to_db_time(conn, now))
    return None if row is None else (int(row[0]), int(row[1]))


def capture(conn: Connection, system: SystemAccounts, key: str, now: dt.datetime) -> Outcome:
    spend_key = f"spend:{key}"
    resolved = _resolve(conn, key, HoldState.CAPTURED, now)
    if resolved is not None:
        account_id, amount = resolved
        run(conn, _POST_RESERVED, id=account_id, amount=amount)  # pending debit becomes posted
        sink = system.id(conn, Reason.SPEND.value, now)
        _record_transfer(conn, spend_key, account_id, sink, amount, Reason.SPEND, now)
        _consume_lots(conn, account_id, amount)
        return Outcome(spend_key, amount, balance(conn, account_id))
    current = get_hold(conn, key)
    if current is None:
        raise HoldNotFound(key)
    if current.state == HoldState.CAPTURED or scalar(conn, _SPEND_EXISTS, key=spend_key):
        return _duplicate(conn, spend_key, current.account_id)
    if current.state == HoldState.RELEASED:
        raise HoldAlreadyResolved(key, current.state.value)
    # Expired before the clip was delivered: charge it only if the balance still allows.
    sink = system.id(conn, Reason.SPEND.value, now)
    attempt = Savepoint(conn)  # a refused late charge must leave no transfer row behind
    try:
        _move(
            conn,
            spend_key,
            current.account_id,
            sink,
            current.amount,
            Reason.SPEND,
            now,
            guarded=True,
            system_side="credit",
        )
    except (InsufficientCredits, WalletFrozen):
        attempt.rollback()
        return Outcome(spend_key, 0, balance(conn, current.account_id))
    attempt.commit()
    _consume_lots(conn, current.account_id, current.amount)
    return Outcome(spend_key, current.amount, balance(conn, current.account_id))


def release(conn: Connection, key: str, now: dt.datetime, *, state: HoldState = HoldState.RELEASED) -> Outcome:
    resolved = _resolve(conn, key, state, now)
    if resolved is not None:
        account_id, amount = resolved
        run(conn, _UNRESERVE, id=account_id, amount=amount)
        return Outcome(key, amount, balance(conn, account_id))
    current = get_hold(conn, key)
    if current is None:
        raise HoldNotFound(key)
    if current.state == HoldState.CAPTURED:
        raise HoldAlreadyResolved(key, current.state.value)
    return Outcome(key, current.amount, balance(conn, current.account_id), duplicate=True)


def sweep_expired_holds(conn: Connection, now: dt.datetime, limit: int) -> int:
    keys = [row[0] for row in every(conn, _EXPIRED_HOLDS, now=to_db_time(conn, now), limit=limit)]
    return sum(1 for key in keys if not release(conn, key, now, state=HoldState.EXPIRED).duplicate)


# --- transfers between wallets and take-backs --------------------------------------------


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
    if not _move(conn, key, from_account, to_account, amount, reason, now, guarded=True, memo=memo):
        return _duplicate(conn, key, from_account)
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
    if not _move(conn, key, account_id, sink, amount, reason, now, guarded=True, system_side="credit", memo=memo):
        return _duplicate(conn, key, account_id)
    _consume_lots(conn, account_id, amount)
    return Outcome(key, amount, balance(conn, account_id))


_TAKEN_FOR_ORDER = S("""
    SELECT COALESCE(SUM(amount), 0) FROM transfers
    WHERE order_ref = :order_ref AND debit_account_id = :account_id AND reason IN ('refund', 'dispute')""")


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
    if scalar(conn, _SPEND_EXISTS, key=key):
        return _duplicate(conn, key, account_id)
    dispute = reason == Reason.DISPUTE
    if dispute:
        run(conn, _SET_FROZEN, id=account_id, frozen=True)
    already = int(scalar(conn, _TAKEN_FOR_ORDER, order_ref=order_ref, account_id=account_id))
    wanted = target_total - already
    if wanted <= 0:
        return Outcome(key, 0, balance(conn, account_id))
    if dispute:
        amount = wanted  # may leave the wallet below zero: it is frozen until an operator clears it
    else:
        unspent = int(scalar(conn, _UNSPENT_OF_ORDER, account_id=account_id, order_ref=order_ref))
        available = int(scalar(conn, _AVAILABLE_OF, id=account_id))
        amount = min(wanted, unspent, max(available, 0))
        if amount <= 0:
            return Outcome(key, 0, balance(conn, account_id))
    sink = system.id(conn, str(reason), now)
    _move(conn, key, account_id, sink, amount, reason, now, guarded=False, system_side="credit", order_ref=order_ref)
    _consume_lots(conn, account_id, amount, first_order_ref=order_ref)
    return Outcome(key, amount, balance(conn, account_id))


def set_frozen(conn: Connection, account_id: int, frozen: bool) -> Balance:
    available = scalar(conn, _AVAILABLE_OF, id=account_id)
    if available is None:
        raise OperationFailed("unknown_account")
    if not frozen and int(available) < 0:
        raise OperationFailed("wallet_in_debt")
    run(conn, _SET_FROZEN, id=account_id, frozen=frozen)
    return balance(conn, account_id)


# --- reads -------------------------------------------------------------------------------

_PACKS_BOUGHT = S("SELECT DISTINCT pack_id FROM lots WHERE account_id = :id AND pack_id IS NOT NULL")
_SPENT = S("""
    SELECT COALESCE(SUM(amount), 0), COUNT(id) FROM transfers WHERE debit_account_id = :id AND reason = 'spend'""")
_HISTORY = S("""
    SELECT created_at, CASE WHEN credit_account_id = :id THEN amount ELSE -amount END, reason, key, memo
    FROM transfers WHERE debit_account_id = :id OR credit_account_id = :id
    ORDER BY id DESC LIMIT :limit""")


def stats(conn: Connection, account_id: int) -> AccountStats:
    packs = sorted(str(row[0]) for row in every(conn, _PACKS_BOUGHT, id=account_id))
    spent, generations = one(conn, _SPENT, id=account_id) or (0, 0)
    return AccountStats(account_id, tuple(packs), int(spent), int(generations))


def history(conn: Connection, account_id: int, limit: int) -> list[Entry]:
    entries = []
    for at, amount, reason, key, memo in every(conn, _HISTORY, id=account_id, limit=limit):
        stamp = from_db_time(at)
        assert stamp is not None
        entries.append(Entry(stamp, int(amount), str(reason), str(key), str(memo or "")))
    return entries


# --- expiry of free credits --------------------------------------------------------------

# Wallets with a free lot past its expiry that still has credits (the partial index
# `ix_lots_expiring` keeps this a short range scan: spent and expired-away lots drop out).
_WALLETS_WITH_EXPIRED = S("""
    SELECT DISTINCT account_id FROM lots
    WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= :now AND kind = 'free'
        AND account_id > :after
    ORDER BY account_id LIMIT :limit""")
_LOCK_ACCOUNT = S("UPDATE accounts SET frozen = frozen WHERE id = :id")
_PENDING_OF = S("SELECT debits_pending FROM accounts WHERE id = :id")
_LOTS_IN_SPEND_ORDER = S("""
    SELECT id, kind, remaining, expires_at FROM lots WHERE account_id = :account_id AND remaining > 0
    ORDER BY CASE WHEN kind = 'free' THEN 0 ELSE 1 END,
        CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id""")
# Never below what open holds reserve; frozen wallets too (time does not stop for a dispute).
_DEBIT_UNRESERVED = S(f"""
    UPDATE accounts SET debits_posted = debits_posted + :amount
    WHERE id = :id AND {AVAILABLE} >= :amount""")


def expire_free_credits(
    conn: Connection, system: SystemAccounts, now: dt.datetime, after_account: int, limit: int
) -> ExpirySweep:
    """One batch of the expiry sweep: for up to `limit` wallets (ids above `after_account`)
    with an expired free lot, move what may expire (`expirable_parts`) to the `expiry` system
    account, one transfer per lot step. Each wallet is locked first (the row lock every
    spend, grant and link takes), so the holds and lots read here stay as read until commit;
    two sweeps racing find the lots already emptied, and the key backs that up."""
    wallets = [
        int(row[0])
        for row in every(conn, _WALLETS_WITH_EXPIRED, now=to_db_time(conn, now), after=after_account, limit=limit)
    ]
    expired: list[tuple[int, ExpiredPart]] = []
    sink = system.id(conn, Reason.EXPIRY.value, now) if wallets else 0
    for wallet in wallets:  # ascending ids: the same lock order as `persons_sql.lock_wallets`
        run(conn, _LOCK_ACCOUNT, id=wallet)
        held = int(scalar(conn, _PENDING_OF, id=wallet))
        lots = [
            LotView(int(lot_id), LotKind(kind), int(remaining), from_db_time(expires_at))
            for lot_id, kind, remaining, expires_at in every(conn, _LOTS_IN_SPEND_ORDER, account_id=wallet)
        ]
        for part in expirable_parts(lots, held, now):
            if not _record_transfer(
                conn, part.key, wallet, sink, part.amount, Reason.EXPIRY, now, memo=f"free credits of lot {part.lot_id}"
            ):
                continue  # this step was applied before: already done
            if run(conn, _DEBIT_UNRESERVED, id=wallet, amount=part.amount).rowcount != 1:
                raise InternalError(f"expiry of lot {part.lot_id} would overdraw wallet {wallet}")
            run(conn, _TAKE_FROM_LOT, id=part.lot_id, amount=part.amount)
            expired.append((wallet, part))
    return ExpirySweep(tuple(expired), wallets[-1] if wallets else after_account, more=len(wallets) == limit)
