"""Holds and captures of a whole write batch in a few set-based statements (PostgreSQL).

Why: on PostgreSQL every statement is a round trip to the server, and a hold + capture is ~9
of them one by one; a batch of 64 holds done as one `unnest` statement costs about what one
hold does. These run only for the ordinary case, with the guards in the SQL: a hold whose key
is new and whose wallet can afford it and is not frozen; a capture of a hold still `held`.
Every other row (a repeat, a refusal, an expired hold, a second row for the same wallet) is
left to the unit of work itself (`ledger.place_hold`, `ledger.capture_hold`), which then runs
exactly as it would have alone, so the outcomes, errors and rows are the same either way.
Each wallet appears at most once per statement: `UPDATE ... FROM` changes a row once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from sqlalchemy import ColumnElement, Connection, and_, any_, bindparam, column, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on
from sqlalchemy.sql.schema import Column

from adapters.storage.balances import BALANCE_COLUMNS, balance_from, guarded_reserve
from adapters.storage.database import LEFT_TO_UNIT
from adapters.storage.sql import DbRow, Statement, as_int, const, every, from_db_time, run
from adapters.storage.tables import accounts, holds, lots, transfers
from core.domain.ledger import HoldState, LotKind, LotTake, LotView, Outcome, Reason, take_from_lots

SPEND_PREFIX = "spend:"  # a capture's transfer key is its hold's key after this


def _array(name: str, of: Column[object]) -> ColumnElement[object]:
    return bindparam(name, type_=ARRAY(of.type))


def _rows(alias: str, *columns: tuple[str, Column[object]]):  # type: ignore[no-untyped-def]
    """`unnest(:a, :b, ...) AS alias(a, b, ...)`: one parameter array per column."""
    arrays = [_array(f"{name}s", of) for name, of in columns]
    return (
        func.unnest(*arrays)
        .table_valued(*(column(name, of.type) for name, of in columns))
        .render_derived(name=alias, with_types=False)
        .alias(alias)
    )


# --- holds -------------------------------------------------------------------------------

_HOLD_REQ = _rows(
    "req",
    ("key", holds.c.key),
    ("account_id", holds.c.account_id),
    ("amount", holds.c.amount),
    ("expires_at", holds.c.expires_at),
    ("now", holds.c.created_at),
)
_RESERVED = (
    guarded_reserve(_HOLD_REQ)
    .returning(
        _HOLD_REQ.c.key,
        _HOLD_REQ.c.account_id,
        _HOLD_REQ.c.amount,
        _HOLD_REQ.c.expires_at,
        _HOLD_REQ.c.now,
        *BALANCE_COLUMNS,
    )
    .cte("reserved")
)
_RECORDED = (
    postgresql.insert(holds)
    .from_select(
        ["key", "account_id", "amount", "state", "expires_at", "created_at"],
        select(
            _RESERVED.c.key,
            _RESERVED.c.account_id,
            _RESERVED.c.amount,
            const(HoldState.HELD),
            _RESERVED.c.expires_at,
            _RESERVED.c.now,
        ),
    )
    .cte("recorded")
)
# Reserve and record in one statement: a hold row exists exactly for the rows reserved (a key
# inserted meanwhile by another process fails the statement, and the batch runs unit by unit).
_PLACE_HOLDS = Statement(
    select(
        _RESERVED.c.key,
        _RESERVED.c.account_id,
        _RESERVED.c.amount,
        *(_RESERVED.c[c.name] for c in BALANCE_COLUMNS),
    ).add_cte(_RECORDED)
)


class HoldRequest(NamedTuple):
    """A hold asked for, as the batch carries it (a tuple: one is made for every hold)."""

    key: str
    account_id: int
    amount: int
    expires_at: dt.datetime
    now: dt.datetime


class PlaceHolds:
    """`ledger.place_hold` for many rows at once."""

    def run_many(self, conn: Connection, requests: Sequence[object]) -> list[object]:
        chosen = _one_per_wallet([r for r in requests if isinstance(r, HoldRequest)])
        placed: dict[str, Outcome] = {}
        if chosen:
            rows = every(
                conn,
                _PLACE_HOLDS,
                keys=[r.key for r in chosen],
                account_ids=[r.account_id for r in chosen],
                amounts=[r.amount for r in chosen],
                expires_ats=[r.expires_at for r in chosen],
                nows=[r.now for r in chosen],
            )
            for key, account, amount, posted, pending, frozen, free, paid in rows:
                balance = balance_from(as_int(account), posted, pending, frozen, as_int(free), as_int(paid))
                placed[str(key)] = Outcome(str(key), as_int(amount), balance)
        outcomes = {id(r): placed[r.key] for r in chosen if r.key in placed}
        return [outcomes.get(id(r), LEFT_TO_UNIT) for r in requests]


def _one_per_wallet(requests: list[HoldRequest]) -> list[HoldRequest]:
    wallets: set[int] = set()
    keys: set[str] = set()
    chosen = []
    for request in requests:
        if request.account_id not in wallets and request.key not in keys:
            wallets.add(request.account_id)
            keys.add(request.key)
            chosen.append(request)
    return chosen


# --- captures ----------------------------------------------------------------------------

_CAPTURE_REQ = _rows("req", ("key", holds.c.key), ("now", holds.c.resolved_at))
# One held hold per wallet (the lowest key), so each wallet is changed once per statement. The
# asked holds are found by their unique keys first, behind a MATERIALIZED fence: left to join
# them freely, the planner scans the state index for 'held' instead, walking every dead entry
# that the holds resolved since the last vacuum left there.
_ASKED_HOLDS = (
    select(holds.c.key, holds.c.account_id, holds.c.state)
    .where(holds.c.key == any_(_array("keys", holds.c.key)))
    .cte("asked_holds")
    .prefix_with("MATERIALIZED")
)
_FIRST_PER_WALLET = (
    select(_ASKED_HOLDS.c.key)
    .where(_ASKED_HOLDS.c.state == const(HoldState.HELD))
    .ext(distinct_on(_ASKED_HOLDS.c.account_id))
    .order_by(_ASKED_HOLDS.c.account_id, _ASKED_HOLDS.c.key)
)
_RESOLVED = (
    update(holds)
    .where(
        holds.c.key == _CAPTURE_REQ.c.key,
        holds.c.state == const(HoldState.HELD),
        holds.c.key.in_(_FIRST_PER_WALLET),
    )
    .values(state=const(HoldState.CAPTURED), resolved_at=_CAPTURE_REQ.c.now)
    .returning(holds.c.key, holds.c.account_id, holds.c.amount, _CAPTURE_REQ.c.now)
    .cte("resolved")
)
# The pending debit becomes posted; the new totals come back for the balance.
_POSTED = (
    update(accounts)
    .where(accounts.c.id == _RESOLVED.c.account_id)
    .values(
        debits_pending=accounts.c.debits_pending - _RESOLVED.c.amount,
        debits_posted=accounts.c.debits_posted + _RESOLVED.c.amount,
    )
    .returning(accounts.c.id, *BALANCE_COLUMNS[:3])
    .cte("posted")
)
_SPENT = (
    postgresql.insert(transfers)
    .from_select(
        ["key", "debit_account_id", "credit_account_id", "amount", "reason", "memo", "created_at"],
        select(
            const(SPEND_PREFIX) + _RESOLVED.c.key,
            _RESOLVED.c.account_id,
            bindparam("sink", type_=transfers.c.credit_account_id.type),
            _RESOLVED.c.amount,
            const(Reason.SPEND),
            const(""),
            _RESOLVED.c.now,
        ),
    )
    .on_conflict_do_nothing(index_elements=["key"])
    .cte("spent")
)
# Resolve, post and record in one statement, which also reads the wallets' lots (one row per
# lot with credits left; the lots are not changed by it) so their takes can be worked out.
_CAPTURE_HOLDS = Statement(
    select(
        _RESOLVED.c.key,
        _RESOLVED.c.account_id,
        _RESOLVED.c.amount,
        _POSTED.c.posted,
        _POSTED.c.pending,
        _POSTED.c.frozen,
        lots.c.id,
        lots.c.kind,
        lots.c.remaining,
        lots.c.expires_at,
        lots.c.order_ref,
    )
    .select_from(
        _RESOLVED.join(_POSTED, _POSTED.c.id == _RESOLVED.c.account_id).outerjoin(
            lots, and_(lots.c.account_id == _RESOLVED.c.account_id, lots.c.remaining > const(0))
        )
    )
    .add_cte(_SPENT)
)
_TAKE_REQ = _rows("req", ("id", lots.c.id), ("amount", lots.c.remaining))
_TAKE_FROM_LOTS = Statement(
    update(lots).where(lots.c.id == _TAKE_REQ.c.id).values(remaining=lots.c.remaining - _TAKE_REQ.c.amount)
)


class SystemAccountIds(Protocol):
    """`ledger.SystemAccounts`: the id of a system account, by name."""

    def id(self, conn: Connection, name: str, now: dt.datetime) -> int: ...


class CaptureRequest(NamedTuple):
    """A capture asked for, as the batch carries it."""

    key: str
    system: SystemAccountIds
    now: dt.datetime


class CaptureHolds:
    """`ledger.capture_hold` of holds still held, for many rows at once."""

    def run_many(self, conn: Connection, requests: Sequence[object]) -> list[object]:
        asked = [r for r in requests if isinstance(r, CaptureRequest)]
        if not asked:
            return [LEFT_TO_UNIT] * len(requests)
        sink = asked[0].system.id(conn, Reason.SPEND.value, asked[0].now)
        rows = every(conn, _CAPTURE_HOLDS, keys=[r.key for r in asked], nows=[r.now for r in asked], sink=sink)
        captured: dict[str, tuple[int, int, DbRow]] = {}
        wallet_lots: dict[int, list[LotView]] = {}
        for key, account, amount, posted, pending, frozen, lot_id, kind, remaining, expires_at, order_ref in rows:
            wallet = as_int(account)
            captured[str(key)] = (wallet, as_int(amount), (posted, pending, frozen))
            found = wallet_lots.setdefault(wallet, [])
            if lot_id is not None:
                found.append(lot_view(lot_id, kind, remaining, expires_at, order_ref))
        outcomes: dict[str, Outcome] = {}
        takes: list[LotTake] = []
        for key, (wallet, amount, (posted, pending, frozen)) in captured.items():
            taken = take_from_lots(wallet_lots[wallet], amount)
            takes += taken
            left = {lot.lot_id: lot.remaining for lot in wallet_lots[wallet]}
            for part in taken:
                left[part.lot_id] -= part.amount
            free = sum(left[lot.lot_id] for lot in wallet_lots[wallet] if lot.kind == LotKind.FREE)
            paid = sum(left[lot.lot_id] for lot in wallet_lots[wallet] if lot.kind == LotKind.PAID)
            outcomes[key] = Outcome(
                SPEND_PREFIX + key, amount, balance_from(wallet, posted, pending, frozen, free, paid)
            )
        if takes:
            run(conn, _TAKE_FROM_LOTS, ids=[t.lot_id for t in takes], amounts=[t.amount for t in takes])
        results: list[object] = []
        for request in requests:
            # A key asked twice: its first row gets the outcome, the repeat runs alone ("already done").
            outcome = outcomes.pop(request.key, None) if isinstance(request, CaptureRequest) else None
            results.append(LEFT_TO_UNIT if outcome is None else outcome)
        return results


_LOT_KINDS: dict[object, LotKind] = {kind.value: kind for kind in LotKind}


def lot_view(lot_id: object, kind: object, remaining: object, expires_at: object, order_ref: object) -> LotView:
    """A lot as its row's columns give it."""
    return LotView(
        as_int(lot_id),
        _LOT_KINDS.get(kind) or LotKind(str(kind)),  # a dict lookup: the Enum call costs 10x
        as_int(remaining),
        None if expires_at is None else from_db_time(expires_at),
        None if order_ref is None else str(order_ref),
    )
