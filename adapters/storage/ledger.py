"""The credit ledger over SQL: `LedgerStore` and `ExpiryStore`, and the ledger operations other
areas compose into their own transactions (a job and its hold, a payment and its grant).

Each store method is one unit of work on the batching `Database`, run inside its own SAVEPOINT
of a batched transaction. The guards kept here:
- check and reserve in one guarded UPDATE (`... WHERE available >= n`), never read-then-write;
- every movement is one transfer row whose unique `key` makes a repeat "already done";
- a hold resolves once: capture and release only change it while it is still `held`;
- the lots of a wallet always sum to max(posted balance, 0).
Which lots a movement takes, what a take-back takes and what expires are decided in
`core.domain.ledger` from the rows read here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, bindparam, case, exists, false, func, insert, not_, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import Select

from adapters.storage.audit import audit
from adapters.storage.balances import AVAILABLE, BALANCE_COLUMNS, POSTED, balance_from, spendable_part_sql
from adapters.storage.database import Database
from adapters.storage.ledger_sets import CaptureHolds, CaptureRequest, HoldRequest, PlaceHolds, lot_view
from adapters.storage.ledger_sets_sqlite import CaptureHoldsSqlite, PlaceHoldsSqlite
from adapters.storage.persons import (
    account_of,
    claim_identity,
    find_person,
    found_or_made_person,
    lock_wallets,
    person_and,
    require_person,
    wallet_owner_key,
)
from adapters.storage.sql import (
    DbRow,
    Savepoint,
    Statement,
    as_int,
    const,
    consts,
    every,
    from_db_time,
    insert_or_skip,
    max_length,
    one,
    run,
    scalar,
    to_db_time,
)
from adapters.storage.tables import accounts, holds, lots, transfers
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
    LotTake,
    LotView,
    Outcome,
    Reason,
    expirable_parts,
    freezes_wallet,
    may_unfreeze,
    received_kind,
    spendable_part,
    take_back_amount,
    take_from_lots,
)
from core.errors import (
    HoldAlreadyResolved,
    HoldNotFound,
    InsufficientCredits,
    InternalError,
    OperationFailed,
    WalletFrozen,
)
from core.ports import WelcomeDecision

MAX_MEMO = max_length(transfers.c.memo)
_ACCOUNT = accounts.c.id == bindparam("id")

# --- accounts ----------------------------------------------------------------------------

_INSERT_ACCOUNT = Statement(
    insert_or_skip(
        accounts,
        ["owner_key"],
        {
            "kind": bindparam("kind"),
            "owner_key": bindparam("owner_key"),
            "credits_posted": const(0),
            "debits_posted": const(0),
            "debits_pending": const(0),
            "frozen": false(),
            "created_at": bindparam("now"),
        },
        returning=[accounts.c.id],
    )
)


_BALANCE = Statement(select(*BALANCE_COLUMNS).where(_ACCOUNT))
# Who an identity is, with their wallet's balance, in one statement (the first read of most
# requests).
_PERSON_WITH_BALANCE = Statement(person_and(*BALANCE_COLUMNS))
_POSTED = Statement(select(POSTED).where(_ACCOUNT))
_AVAILABLE = Statement(select(AVAILABLE).where(_ACCOUNT))
_PENDING = Statement(select(accounts.c.debits_pending).where(_ACCOUNT))
_DEBIT_GUARDED = Statement(
    update(accounts)
    .where(_ACCOUNT, not_(accounts.c.frozen), AVAILABLE >= bindparam("amount"))
    .values(debits_posted=accounts.c.debits_posted + bindparam("amount"))
)
# Never below what open holds reserve; frozen wallets too (time does not stop for a dispute).
_DEBIT_UNRESERVED = Statement(
    update(accounts)
    .where(_ACCOUNT, AVAILABLE >= bindparam("amount"))
    .values(debits_posted=accounts.c.debits_posted + bindparam("amount"))
)
_DEBIT = Statement(
    update(accounts).where(_ACCOUNT).values(debits_posted=accounts.c.debits_posted + bindparam("amount"))
)
_CREDIT = Statement(
    update(accounts).where(_ACCOUNT).values(credits_posted=accounts.c.credits_posted + bindparam("amount"))
)
# The same, returning the wallet's balance parts after it (its lots as they were before the
# credit's own lot is added): a grant then needs no reads of its own.
_CREDIT_RETURNING = Statement(
    update(accounts)
    .where(_ACCOUNT)
    .values(credits_posted=accounts.c.credits_posted + bindparam("amount"))
    .returning(*BALANCE_COLUMNS)
)
_RESERVE = Statement(
    update(accounts)
    .where(_ACCOUNT, not_(accounts.c.frozen), AVAILABLE >= bindparam("amount"))
    .values(debits_pending=accounts.c.debits_pending + bindparam("amount"))
)
_UNRESERVE = Statement(
    update(accounts).where(_ACCOUNT).values(debits_pending=accounts.c.debits_pending - bindparam("amount"))
)
_POST_RESERVED = Statement(
    update(accounts)
    .where(_ACCOUNT)
    .values(
        debits_pending=accounts.c.debits_pending - bindparam("amount"),
        debits_posted=accounts.c.debits_posted + bindparam("amount"),
    )
)
_SET_FROZEN = Statement(update(accounts).where(_ACCOUNT).values(frozen=bindparam("frozen")))


class SystemAccounts:
    """Ids of the system sources and sinks (one per `Reason`).

    Only ids known to be committed are cached (`remember`, after `prepare` committed): an id
    created inside a batch that is later rolled back, or not yet committed while another
    writer already uses it, would break a foreign key. Until then (a store used without
    `SqlLedgerStore.prepare`, as tests do) `id` finds or creates the account inside the
    transaction that names it, so no store method needs to prepare first.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self.ready = False

    @staticmethod
    def prepare(conn: Connection, now: dt.datetime) -> dict[str, int]:
        return {r.value: ensure_account(conn, "system", f"system:{r.value}", now) for r in Reason}

    def remember(self, ids: dict[str, int]) -> None:
        self._ids.update(ids)
        self.ready = all(reason.value in self._ids for reason in Reason)

    def id(self, conn: Connection, name: str, now: dt.datetime) -> int:
        found = self._ids.get(name)
        if found is None:  # not prepared yet: find or create it in this transaction, uncached
            found = ensure_account(conn, "system", f"system:{name}", now)
        return found


def ensure_account(conn: Connection, kind: str, owner_key: str, now: dt.datetime) -> int:
    inserted = scalar(conn, _INSERT_ACCOUNT, kind=kind, owner_key=owner_key, now=to_db_time(conn, now))
    if inserted is not None:
        return as_int(inserted)
    found = account_of(conn, owner_key)  # it was there before
    assert found is not None
    return found


def balance(conn: Connection, account_id: int) -> Balance:
    row = one(conn, _BALANCE, id=account_id)
    if row is None:
        raise OperationFailed("unknown_account")
    return balance_from(account_id, *row)


def person_with_balance(conn: Connection, identity: str) -> tuple[Person, Balance] | None:
    row = one(conn, _PERSON_WITH_BALANCE, key=identity)
    if row is None:
        return None
    person = Person(as_int(row[0]), as_int(row[1]), created=False)
    return person, balance_from(person.wallet_id, *row[2:])


def _refuse_debit(conn: Connection, account_id: int, amount: int) -> None:
    """Explain why a guarded debit matched no row."""
    current = balance(conn, account_id)
    if current.frozen:
        raise WalletFrozen(account_id)
    raise InsufficientCredits(required=amount, available=max(0, current.available))


# --- transfers ---------------------------------------------------------------------------

# A movement's row, from the parameters every statement that records one takes.
_TRANSFER_ROW = {
    "key": bindparam("key"),
    "debit_account_id": bindparam("debit"),
    "credit_account_id": bindparam("credit"),
    "amount": bindparam("amount"),
    "reason": bindparam("reason"),
    "order_ref": bindparam("order_ref"),
    "memo": bindparam("memo"),
    "created_at": bindparam("now"),
}
_INSERT_TRANSFER = Statement(insert_or_skip(transfers, ["key"], _TRANSFER_ROW))
_TRANSFER_AMOUNT = Statement(select(transfers.c.amount).where(transfers.c.key == bindparam("key")))
_TRANSFER_EXISTS = Statement(select(const(1)).select_from(transfers).where(transfers.c.key == bindparam("key")))


def record_transfer(
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
        memo=memo[:MAX_MEMO],
        now=to_db_time(conn, now),
    )
    return bool(cursor.rowcount == 1)


def _debit(conn: Connection, account_id: int, amount: int) -> None:
    run(conn, _DEBIT, id=account_id, amount=amount)


def _credit(conn: Connection, account_id: int, amount: int) -> None:
    run(conn, _CREDIT, id=account_id, amount=amount)


def _duplicate(conn: Connection, key: str, account_id: int) -> Outcome:
    amount = scalar(conn, _TRANSFER_AMOUNT, key=key)
    return Outcome(key, as_int(amount or 0), balance(conn, account_id), duplicate=True)


def move(
    conn: Connection,
    key: str,
    debit_account: int,
    credit_account: int,
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
    if not record_transfer(
        conn, key, debit_account, credit_account, amount, reason, now, order_ref=order_ref, memo=memo
    ):
        return False
    if system_side != "debit":
        if not guarded:
            _debit(conn, debit_account, amount)
        elif run(conn, _DEBIT_GUARDED, id=debit_account, amount=amount).rowcount != 1:
            _refuse_debit(conn, debit_account, amount)
    if system_side != "credit":
        _credit(conn, credit_account, amount)
    return True


# --- lots --------------------------------------------------------------------------------

_INSERT_LOT = Statement(
    insert(lots).values(
        account_id=bindparam("account_id"),
        kind=bindparam("kind"),
        granted=bindparam("granted"),
        remaining=bindparam("remaining"),
        transfer_key=bindparam("key"),
        pack_id=bindparam("pack_id"),
        order_ref=bindparam("order_ref"),
        expires_at=bindparam("expires_at"),
        created_at=bindparam("now"),
    )
)
# In no particular order: `core.domain.ledger.spend_order` orders them.
_LOTS = Statement(
    select(lots.c.id, lots.c.kind, lots.c.remaining, lots.c.expires_at, lots.c.order_ref).where(
        lots.c.account_id == bindparam("account_id"), lots.c.remaining > const(0)
    )
)
_TAKE_FROM_LOT = Statement(
    update(lots).where(lots.c.id == bindparam("id")).values(remaining=lots.c.remaining - bindparam("amount"))
)
_UNSPENT_OF_ORDER = Statement(
    select(func.coalesce(func.sum(lots.c.remaining), const(0))).where(
        lots.c.account_id == bindparam("account_id"), lots.c.order_ref == bindparam("order_ref")
    )
)


def add_lot(
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
    remaining: int | None = None,
) -> None:
    """Record where new posted credits came from (after they were credited). `remaining`: its
    spendable part, when the caller knows the wallet's posted balance after the credit; else
    it is read."""
    if remaining is None:
        remaining = spendable_part(amount, as_int(scalar(conn, _POSTED, id=account_id)))
    run(
        conn,
        _INSERT_LOT,
        account_id=account_id,
        kind=str(kind),
        granted=amount,
        remaining=remaining,
        key=key,
        pack_id=pack_id,
        order_ref=order_ref,
        expires_at=to_db_time(conn, expires_at),
        now=to_db_time(conn, now),
    )


def lots_of(conn: Connection, account_id: int) -> list[LotView]:
    return [lot_view(*row) for row in every(conn, _LOTS, account_id=account_id)]


def _take_lots(conn: Connection, account_id: int, amount: int, *, first_order_ref: str | None = None) -> list[LotTake]:
    """Take `amount` from the wallet's lots, in the order `take_from_lots` decides."""
    taken = take_from_lots(lots_of(conn, account_id), amount, first_order_ref=first_order_ref)
    for part in taken:
        run(conn, _TAKE_FROM_LOT, id=part.lot_id, amount=part.amount)
    return taken


# --- persons and their wallets -----------------------------------------------------------


def open_person(
    conn: Connection, system: SystemAccounts, identity: str, welcome: WelcomeDecision, now: dt.datetime
) -> Person:
    """The person behind `identity`; on first contact a new one, with its wallet and the grant
    `welcome` decides for it, exactly once even when two processes race for the identity."""
    return open_person_with_grant(conn, system, identity, welcome, now)[0]


def open_person_with_grant(
    conn: Connection, system: SystemAccounts, identity: str, welcome: WelcomeDecision, now: dt.datetime
) -> tuple[Person, Outcome | None]:
    """`open_person`, and the welcome grant's outcome when this call made one."""
    if conn.dialect.name == "postgresql":
        person = found_or_made_person(conn, identity, now)
        if not person.created:
            return person, None
    else:  # one writer, and each statement a function call: the steps one by one
        found = find_person(conn, identity)
        if found is not None:
            return found, None
        person_id = claim_identity(conn, identity, now)
        if person_id is None:  # another process won the race for this identity: theirs is the person
            return require_person(conn, identity), None
        person = Person(person_id, ensure_account(conn, "person", wallet_owner_key(person_id), now), created=True)
    grant = welcome(person)
    if grant is not None and grant.amount > 0:
        return person, post_grant(conn, system, grant, now)
    return person, None


# --- grants, holds, captures -------------------------------------------------------------


def _grant_at_once() -> Select[tuple[object, ...]]:
    """PostgreSQL: a grant's transfer, credit and lot in one statement (two round trips fewer
    for every welcome, daily credit and pack). Returns the balance columns after the credit, or
    no row when the transfer's key was already applied (nothing changed)."""
    moved = (
        postgresql.insert(transfers)
        .values(_TRANSFER_ROW)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(transfers.c.key)
        .cte("moved")
    )
    credited = (
        update(accounts)
        .where(accounts.c.id == bindparam("credit"), exists(select(moved.c.key)))
        .values(credits_posted=accounts.c.credits_posted + bindparam("amount"))
        .returning(*BALANCE_COLUMNS)
        .cte("credited")
    )
    columns = ("account_id", "kind", "granted", "remaining", "transfer_key", "pack_id", "order_ref", "expires_at")
    values = {name: bindparam(name, type_=lots.c[name].type) for name in ("kind", "pack_id", "order_ref", "expires_at")}
    lot = insert(lots).from_select(
        [*columns, "created_at"],
        select(
            bindparam("credit", type_=lots.c.account_id.type),
            values["kind"],
            bindparam("amount", type_=lots.c.granted.type),
            spendable_part_sql(bindparam("amount", type_=lots.c.granted.type), credited.c.posted),
            bindparam("key", type_=lots.c.transfer_key.type),
            values["pack_id"],
            values["order_ref"],
            values["expires_at"],
            bindparam("now", type_=lots.c.created_at.type),
        ),
    )
    return select(*credited.c).add_cte(lot.cte("lot"))


_GRANT_AT_ONCE = Statement(_grant_at_once())


def post_grant(conn: Connection, system: SystemAccounts, g: Grant, now: dt.datetime) -> Outcome:
    """Credits from a system source into a wallet, as a new lot; once per key."""
    source = system.id(conn, str(g.reason), now)
    if conn.dialect.name == "postgresql":
        row = _grant_at_once_row(conn, source, g, now)
        if row is None:
            return _duplicate(conn, g.key, g.account_id)  # raises for a wallet that does not exist
        return _granted(g, row)
    # The source is a system account: its totals are the sums of its transfers (see `move`).
    if not record_transfer(
        conn, g.key, source, g.account_id, g.amount, g.reason, now, order_ref=g.order_ref, memo=g.memo
    ):
        return _duplicate(conn, g.key, g.account_id)
    # The credit returns the balance's parts, so the grant reads nothing more.
    row = one(conn, _CREDIT_RETURNING, id=g.account_id, amount=g.amount)
    if row is None:
        raise OperationFailed("unknown_account")
    add_lot(
        conn,
        g.account_id,
        g.amount,
        g.lot_kind,
        g.key,
        now,
        pack_id=g.pack_id,
        order_ref=g.order_ref,
        expires_at=g.expires_at,
        remaining=spendable_part(g.amount, as_int(row[0])),
    )
    return _granted(g, row)


def _grant_at_once_row(conn: Connection, source: int, g: Grant, now: dt.datetime) -> DbRow | None:
    return one(
        conn,
        _GRANT_AT_ONCE,
        key=g.key,
        debit=source,
        credit=g.account_id,
        amount=g.amount,
        reason=str(g.reason),
        order_ref=g.order_ref,
        memo=g.memo[:MAX_MEMO],
        kind=str(g.lot_kind),
        pack_id=g.pack_id,
        expires_at=to_db_time(conn, g.expires_at),
        now=to_db_time(conn, now),
    )


def _granted(g: Grant, credited: DbRow) -> Outcome:
    """The grant's outcome from the balance columns its credit returned: their lot sums were
    read before the new lot, which is added here."""
    posted, pending, frozen, free, paid = credited
    remaining = spendable_part(g.amount, as_int(posted))
    free_now = as_int(free) + (remaining if g.lot_kind == LotKind.FREE else 0)
    paid_now = as_int(paid) + (remaining if g.lot_kind == LotKind.PAID else 0)
    return Outcome(g.key, g.amount, balance_from(g.account_id, posted, pending, frozen, free_now, paid_now))


_INSERT_HOLD = Statement(
    insert_or_skip(
        holds,
        ["key"],
        {
            "key": bindparam("key"),
            "account_id": bindparam("account_id"),
            "amount": bindparam("amount"),
            "state": const(HoldState.HELD),
            "expires_at": bindparam("expires_at"),
            "created_at": bindparam("now"),
        },
    )
)
_HOLD = Statement(
    select(holds.c.key, holds.c.account_id, holds.c.amount, holds.c.state, holds.c.expires_at).where(
        holds.c.key == bindparam("key")
    )
)
_RESOLVE_HOLD = Statement(
    update(holds)
    .where(holds.c.key == bindparam("key"), holds.c.state == const(HoldState.HELD))
    .values(state=bindparam("state"), resolved_at=bindparam("now"))
    .returning(holds.c.account_id, holds.c.amount)
)
_EXPIRED_HOLDS = Statement(
    select(holds.c.key)
    .where(holds.c.state == const(HoldState.HELD), holds.c.expires_at < bindparam("now"))
    .order_by(holds.c.expires_at)
    .limit(bindparam("limit"))
)


def place_hold(
    conn: Connection, key: str, account_id: int, amount: int, expires_at: dt.datetime, now: dt.datetime
) -> Outcome:
    """Reserve `amount` (a job's cost) in one guarded UPDATE; once per key."""
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
    return Hold(str(row[0]), as_int(row[1]), as_int(row[2]), HoldState(str(row[3])), expires_at)


def _resolve(conn: Connection, key: str, state: HoldState, now: dt.datetime) -> tuple[int, int] | None:
    """Move a held hold to `state`: (account, amount), or None when it was no longer held."""
    row = one(conn, _RESOLVE_HOLD, key=key, state=state.value, now=to_db_time(conn, now))
    return None if row is None else (as_int(row[0]), as_int(row[1]))


def capture_hold(conn: Connection, system: SystemAccounts, key: str, now: dt.datetime) -> Outcome:
    """Charge a held amount; a hold that expired meanwhile only if the balance still allows."""
    spend_key = f"spend:{key}"
    resolved = _resolve(conn, key, HoldState.CAPTURED, now)
    if resolved is not None:
        account_id, amount = resolved
        run(conn, _POST_RESERVED, id=account_id, amount=amount)  # pending debit becomes posted
        sink = system.id(conn, Reason.SPEND.value, now)
        record_transfer(conn, spend_key, account_id, sink, amount, Reason.SPEND, now)
        _take_lots(conn, account_id, amount)
        return Outcome(spend_key, amount, balance(conn, account_id))
    current = get_hold(conn, key)
    if current is None:
        raise HoldNotFound(key)
    if current.state == HoldState.CAPTURED or scalar(conn, _TRANSFER_EXISTS, key=spend_key):
        return _duplicate(conn, spend_key, current.account_id)
    if current.state == HoldState.RELEASED:
        raise HoldAlreadyResolved(key, current.state.value)
    # Expired before the clip was delivered: charge it only if the balance still allows.
    sink = system.id(conn, Reason.SPEND.value, now)
    attempt = Savepoint(conn)  # a refused late charge must leave no transfer row behind
    try:
        move(
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
    _take_lots(conn, current.account_id, current.amount)
    return Outcome(spend_key, current.amount, balance(conn, current.account_id))


def release_hold(conn: Connection, key: str, now: dt.datetime, *, state: HoldState = HoldState.RELEASED) -> Outcome:
    """Give a held amount back; a repeat is "already done", after a capture an error."""
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


# --- take-backs after a refund or dispute ------------------------------------------------

_TAKEN_FOR_ORDER = Statement(
    select(func.coalesce(func.sum(transfers.c.amount), const(0))).where(
        transfers.c.order_ref == bindparam("order_ref"),
        transfers.c.debit_account_id == bindparam("account_id"),
        transfers.c.reason.in_(consts([Reason.REFUND, Reason.DISPUTE])),
    )
)


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
    """Bring what was taken back for `order_ref` up to `target_total`, as `take_back_amount`
    decides; that purchase's own lots go first."""
    if scalar(conn, _TRANSFER_EXISTS, key=key):
        return _duplicate(conn, key, account_id)
    if freezes_wallet(reason):
        run(conn, _SET_FROZEN, id=account_id, frozen=True)
    amount = take_back_amount(
        reason,
        target_total=target_total,
        already=as_int(scalar(conn, _TAKEN_FOR_ORDER, order_ref=order_ref, account_id=account_id)),
        unspent=as_int(scalar(conn, _UNSPENT_OF_ORDER, account_id=account_id, order_ref=order_ref)),
        available=as_int(scalar(conn, _AVAILABLE, id=account_id)),
    )
    if amount <= 0:
        return Outcome(key, 0, balance(conn, account_id))
    sink = system.id(conn, str(reason), now)
    move(conn, key, account_id, sink, amount, reason, now, guarded=False, system_side="credit", order_ref=order_ref)
    _take_lots(conn, account_id, amount, first_order_ref=order_ref)
    return Outcome(key, amount, balance(conn, account_id))


def taken_for_order(conn: Connection, account_id: int, order_ref: str) -> int:
    """Credits refunds and disputes have taken back for `order_ref` so far."""
    return as_int(scalar(conn, _TAKEN_FOR_ORDER, order_ref=order_ref, account_id=account_id))


# --- reads -------------------------------------------------------------------------------

# The packs wallet `:id` ever bought.
PACKS_BOUGHT = (
    select(lots.c.pack_id).distinct().where(lots.c.account_id == bindparam("id"), lots.c.pack_id.is_not(None))
)
_PACKS_BOUGHT = Statement(PACKS_BOUGHT)
_SPENT = Statement(
    select(func.coalesce(func.sum(transfers.c.amount), const(0)), func.count(transfers.c.id)).where(
        transfers.c.debit_account_id == bindparam("id"), transfers.c.reason == const(Reason.SPEND)
    )
)
_HISTORY = Statement(
    select(
        transfers.c.created_at,
        case((transfers.c.credit_account_id == bindparam("id"), transfers.c.amount), else_=-transfers.c.amount),
        transfers.c.reason,
        transfers.c.key,
        transfers.c.memo,
    )
    .where(or_(transfers.c.debit_account_id == bindparam("id"), transfers.c.credit_account_id == bindparam("id")))
    .order_by(transfers.c.id.desc())
    .limit(bindparam("limit"))
)


def packs_bought(conn: Connection, account_id: int) -> tuple[str, ...]:
    return tuple(sorted(str(row[0]) for row in every(conn, _PACKS_BOUGHT, id=account_id)))


def _spent(conn: Connection, wallet_id: int) -> tuple[int, int]:
    """(credits spent on clips, clips paid for)."""
    spent, clips = one(conn, _SPENT, id=wallet_id) or (0, 0)
    return as_int(spent), as_int(clips)


def generations(conn: Connection, wallet_id: int) -> int:
    """Clips the wallet paid for (`AccountStats.generations` alone)."""
    return _spent(conn, wallet_id)[1]


def stats(conn: Connection, wallet_id: int) -> AccountStats:
    spent, clips = _spent(conn, wallet_id)
    return AccountStats(wallet_id, packs_bought(conn, wallet_id), spent, clips)


# --- expiry of free credits --------------------------------------------------------------

# Candidates only, an index range scan (the partial index `ix_lots_expiring` holds the lots that
# can still expire): wallets with a free lot past its expiry that still has credits.
# `core.domain.ledger.expirable_parts` decides what expires.
_WALLETS_WITH_EXPIRED = Statement(
    select(lots.c.account_id)
    .distinct()
    .where(
        lots.c.remaining > const(0),
        lots.c.expires_at.is_not(None),
        lots.c.expires_at <= bindparam("now"),
        lots.c.kind == const(LotKind.FREE),
        lots.c.account_id > bindparam("after"),
    )
    .order_by(lots.c.account_id)
    .limit(bindparam("limit"))
)


def _expire_batch(
    conn: Connection, system: SystemAccounts, now: dt.datetime, after_account: int, limit: int
) -> ExpirySweep:
    """For up to `limit` wallets (ids above `after_account`) with an expired free lot, move what
    may expire to the `expiry` system account, one transfer per lot step. Each wallet is locked
    first (the row lock every spend, grant and link takes), so the holds and lots read here
    stay as read until commit; two sweeps racing find the lots already emptied, and the key
    backs that up."""
    wallets = [
        as_int(row[0])
        for row in every(conn, _WALLETS_WITH_EXPIRED, now=to_db_time(conn, now), after=after_account, limit=limit)
    ]
    expired: list[tuple[int, ExpiredPart]] = []
    sink = system.id(conn, Reason.EXPIRY.value, now) if wallets else 0
    for wallet in wallets:  # ascending ids: the order `lock_wallets` always locks in
        lock_wallets(conn, wallet)
        held = as_int(scalar(conn, _PENDING, id=wallet))
        for part in expirable_parts(lots_of(conn, wallet), held, now):
            memo = f"free credits of lot {part.lot_id}"
            if not record_transfer(conn, part.key, wallet, sink, part.amount, Reason.EXPIRY, now, memo=memo):
                continue  # this step was applied before: already done
            if run(conn, _DEBIT_UNRESERVED, id=wallet, amount=part.amount).rowcount != 1:
                raise InternalError(f"expiry of lot {part.lot_id} would overdraw wallet {wallet}")
            run(conn, _TAKE_FROM_LOT, id=part.lot_id, amount=part.amount)
            expired.append((wallet, part))
    return ExpirySweep(tuple(expired), wallets[-1] if wallets else after_account, more=len(wallets) == limit)


# --- the store ---------------------------------------------------------------------------


# The hot path's set-based forms: a batch's holds, and its captures, together.
PLACE_HOLDS = PlaceHolds()
CAPTURE_HOLDS = CaptureHolds()
PLACE_HOLDS_SQLITE = PlaceHoldsSqlite()
CAPTURE_HOLDS_SQLITE = CaptureHoldsSqlite()


class SqlLedgerStore:
    """`LedgerStore` and `ExpiryStore` (core/ports.py): each call is one unit of work."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.system = SystemAccounts()  # shared with the stores that compose ledger operations
        self._place_holds = PLACE_HOLDS_SQLITE if db.sqlite else PLACE_HOLDS
        self._capture_holds = CAPTURE_HOLDS_SQLITE if db.sqlite else CAPTURE_HOLDS

    async def prepare(self) -> None:
        """Create the system accounts once, committed, and cache their ids (`build_app` does,
        at start-up); without it every movement finds its system account in its own
        transaction (`SystemAccounts.id`)."""
        if not self.system.ready:
            now = dt.datetime.now(dt.UTC)
            self.system.remember(await self.db.write(lambda c: SystemAccounts.prepare(c, now)))

    async def ensure_person(self, identity: str, *, welcome: WelcomeDecision, now: dt.datetime) -> Person:
        found = await self.db.read_point(lambda c: find_person(c, identity))
        if found is not None:  # the common case never queues behind the writer
            return found
        return await self.db.write(lambda c: open_person(c, self.system, identity, welcome, now))

    async def open_wallet(self, identity: str, *, welcome: WelcomeDecision, now: dt.datetime) -> tuple[Person, Balance]:
        found = await self.find_wallet(identity)
        if found is not None:
            return found

        def work(conn: Connection) -> tuple[Person, Balance]:
            person, granted = open_person_with_grant(conn, self.system, identity, welcome, now)
            if granted is not None and granted.balance.account_id == person.wallet_id and not granted.duplicate:
                return person, granted.balance
            return person, balance(conn, person.wallet_id)

        return await self.db.write(work)

    async def find_wallet(self, identity: str) -> tuple[Person, Balance] | None:
        return await self.db.read_point(lambda c: person_with_balance(c, identity))

    async def find_person(self, identity: str) -> Person | None:
        return await self.db.read_point(lambda c: find_person(c, identity))

    async def ensure_server_wallet(self, server_key: str, *, now: dt.datetime) -> int:
        return await self.db.write(lambda c: ensure_account(c, "server", server_key, now))

    async def grant(self, grant: Grant, *, now: dt.datetime) -> Outcome:
        return await self.db.write(lambda c: post_grant(c, self.system, grant, now), wallets=[grant.account_id])

    async def hold(
        self, key: str, account_id: int, amount: int, *, expires_at: dt.datetime, now: dt.datetime
    ) -> Outcome:
        return await self.db.write(
            lambda c: place_hold(c, key, account_id, amount, expires_at, now),
            wallets=(account_id,),
            holds=(key,),
            together=(self._place_holds, HoldRequest(key, account_id, amount, expires_at, now)),
        )

    async def capture(self, key: str, *, now: dt.datetime) -> Outcome:
        return await self.db.write(
            lambda c: capture_hold(c, self.system, key, now),
            holds=(key,),
            together=(self._capture_holds, CaptureRequest(key, self.system, now)),
        )

    async def release(self, key: str, *, now: dt.datetime) -> Outcome:
        return await self.db.write(lambda c: release_hold(c, key, now), holds=[key])

    async def sweep_expired_holds(self, *, now: dt.datetime, limit: int = 500) -> int:
        def work(conn: Connection) -> int:
            keys = [str(row[0]) for row in every(conn, _EXPIRED_HOLDS, now=to_db_time(conn, now), limit=limit)]
            return sum(1 for key in keys if not release_hold(conn, key, now, state=HoldState.EXPIRED).duplicate)

        return await self.db.write(work)

    async def expire_free_credits(self, *, now: dt.datetime, after_account: int = 0, limit: int = 100) -> ExpirySweep:
        return await self.db.write(lambda c: _expire_batch(c, self.system, now, after_account, limit))

    async def transfer(
        self,
        key: str,
        from_account: int,
        to_account: int,
        amount: int,
        reason: Reason,
        *,
        now: dt.datetime,
        memo: str = "",
    ) -> Outcome:
        if from_account == to_account:
            raise OperationFailed("same_account")

        def work(conn: Connection) -> Outcome:
            if not move(conn, key, from_account, to_account, amount, reason, now, guarded=True, memo=memo):
                return _duplicate(conn, key, from_account)
            for part in _take_lots(conn, from_account, amount):
                add_lot(conn, to_account, part.amount, received_kind(part.kind, reason), key, now)
            return Outcome(key, amount, balance(conn, from_account))

        return await self.db.write(work, wallets=[from_account, to_account])

    async def take_back(
        self,
        key: str,
        account_id: int,
        *,
        order_ref: str,
        target_total: int,
        reason: Reason,
        now: dt.datetime,
    ) -> Outcome:
        return await self.db.write(
            lambda c: take_back(c, self.system, key, account_id, order_ref, target_total, reason, now),
            wallets=[account_id],
        )

    async def take(
        self, key: str, account_id: int, amount: int, reason: Reason, *, now: dt.datetime, memo: str = ""
    ) -> Outcome:
        def work(conn: Connection) -> Outcome:
            sink = self.system.id(conn, str(reason), now)
            if not move(
                conn, key, account_id, sink, amount, reason, now, guarded=True, system_side="credit", memo=memo
            ):
                return _duplicate(conn, key, account_id)
            _take_lots(conn, account_id, amount)
            return Outcome(key, amount, balance(conn, account_id))

        return await self.db.write(work, wallets=[account_id])

    async def set_frozen(self, account_id: int, frozen: bool) -> Balance:
        def work(conn: Connection) -> Balance:
            available = scalar(conn, _AVAILABLE, id=account_id)
            if available is None:
                raise OperationFailed("unknown_account")
            if not frozen and not may_unfreeze(as_int(available)):
                raise OperationFailed("wallet_in_debt")
            run(conn, _SET_FROZEN, id=account_id, frozen=frozen)
            return balance(conn, account_id)

        return await self.db.write(work, wallets=[account_id])

    async def balance(self, account_id: int) -> Balance:
        return await self.db.read_point(lambda c: balance(c, account_id))

    async def stats(self, account_id: int) -> AccountStats:
        return await self.db.read(lambda c: stats(c, account_id))

    async def history(self, account_id: int, *, limit: int = 10) -> list[Entry]:
        def work(conn: Connection) -> list[Entry]:
            entries = []
            for at, amount, reason, key, memo in every(conn, _HISTORY, id=account_id, limit=limit):
                stamp = from_db_time(at)
                assert stamp is not None
                entries.append(Entry(stamp, as_int(amount), str(reason), str(key), str(memo or "")))
            return entries

        return await self.db.read(work)

    async def get_hold(self, key: str) -> Hold | None:
        return await self.db.read(lambda c: get_hold(c, key))

    async def audit(self) -> list[str]:
        return await self.db.read(audit)
