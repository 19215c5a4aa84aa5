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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Connection, any_, bindparam, column, exists, func, not_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.schema import Column

from adapters.storage.database import LEFT_TO_UNIT
from adapters.storage.sql import Statement, as_int, const, every, from_db_time, run
from adapters.storage.tables import accounts, holds, lots, transfers
from core.domain.ledger import Balance, HoldState, LotKind, LotView, Outcome, Reason, take_from_lots

if TYPE_CHECKING:
    from adapters.storage.ledger import SystemAccounts

AVAILABLE = accounts.c.credits_posted - accounts.c.debits_posted - accounts.c.debits_pending


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
    update(accounts)
    .where(
        accounts.c.id == _HOLD_REQ.c.account_id,
        not_(accounts.c.frozen),
        AVAILABLE >= _HOLD_REQ.c.amount,
        ~exists().where(holds.c.key == _HOLD_REQ.c.key),
    )
    .values(debits_pending=accounts.c.debits_pending + _HOLD_REQ.c.amount)
    .returning(_HOLD_REQ.c.key, _HOLD_REQ.c.account_id, _HOLD_REQ.c.amount, _HOLD_REQ.c.expires_at, _HOLD_REQ.c.now)
    .cte("reserved")
)
# Reserve and record in one statement: a hold row exists exactly for the rows reserved.
_PLACE_HOLDS = Statement(
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
    .returning(holds.c.key)
)


@dataclass(frozen=True)
class HoldRequest:
    key: str
    account_id: int
    amount: int
    expires_at: dt.datetime
    now: dt.datetime


class PlaceHolds:
    """`ledger.place_hold` for many rows at once."""

    def run_many(self, conn: Connection, requests: Sequence[object]) -> list[object]:
        chosen = _one_per_wallet([r for r in requests if isinstance(r, HoldRequest)])
        placed: set[str] = set()
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
            placed = {str(row[0]) for row in rows}
        done = [r for r in chosen if r.key in placed]
        found = balances(conn, [r.account_id for r in done])
        outcomes = {id(r): Outcome(r.key, r.amount, found[r.account_id]) for r in done}
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
# One held hold per wallet (the lowest key), so each wallet is changed once per statement.
_FIRST_PER_WALLET = (
    select(holds.c.key)
    .where(holds.c.key == any_(_array("keys", holds.c.key)), holds.c.state == const(HoldState.HELD))
    .distinct(holds.c.account_id)
    .order_by(holds.c.account_id, holds.c.key)
)
_RESOLVE_HELD = Statement(
    update(holds)
    .where(
        holds.c.key == _CAPTURE_REQ.c.key,
        holds.c.state == const(HoldState.HELD),
        holds.c.key.in_(_FIRST_PER_WALLET),
    )
    .values(state=const(HoldState.CAPTURED), resolved_at=_CAPTURE_REQ.c.now)
    .returning(holds.c.key, holds.c.account_id, holds.c.amount, _CAPTURE_REQ.c.now)
)
_POST_REQ = _rows("req", ("id", accounts.c.id), ("amount", accounts.c.debits_posted))
_POST_RESERVED = Statement(
    update(accounts)
    .where(accounts.c.id == _POST_REQ.c.id)
    .values(
        debits_pending=accounts.c.debits_pending - _POST_REQ.c.amount,
        debits_posted=accounts.c.debits_posted + _POST_REQ.c.amount,
    )
)
_SPEND_REQ = _rows(
    "req",
    ("key", transfers.c.key),
    ("debit", transfers.c.debit_account_id),
    ("amount", transfers.c.amount),
    ("now", transfers.c.created_at),
)
_RECORD_SPENDS = Statement(
    postgresql.insert(transfers)
    .from_select(
        ["key", "debit_account_id", "credit_account_id", "amount", "reason", "order_ref", "memo", "created_at"],
        select(
            _SPEND_REQ.c.key,
            _SPEND_REQ.c.debit,
            bindparam("sink", type_=transfers.c.credit_account_id.type),
            _SPEND_REQ.c.amount,
            const(Reason.SPEND),
            bindparam("order_ref", type_=transfers.c.order_ref.type),
            const(""),
            _SPEND_REQ.c.now,
        ),
    )
    .on_conflict_do_nothing(index_elements=["key"])
)
_LOTS_OF = Statement(
    select(lots.c.account_id, lots.c.id, lots.c.kind, lots.c.remaining, lots.c.expires_at, lots.c.order_ref).where(
        lots.c.account_id == any_(_array("ids", lots.c.account_id)), lots.c.remaining > const(0)
    )
)
_TAKE_REQ = _rows("req", ("id", lots.c.id), ("amount", lots.c.remaining))
_TAKE_FROM_LOTS = Statement(
    update(lots).where(lots.c.id == _TAKE_REQ.c.id).values(remaining=lots.c.remaining - _TAKE_REQ.c.amount)
)


@dataclass(frozen=True)
class CaptureRequest:
    key: str
    system: SystemAccounts
    now: dt.datetime


class CaptureHolds:
    """`ledger.capture_hold` of holds still held, for many rows at once."""

    def run_many(self, conn: Connection, requests: Sequence[object]) -> list[object]:
        asked = [r for r in requests if isinstance(r, CaptureRequest)]
        if not asked:
            return [LEFT_TO_UNIT] * len(requests)
        resolved = {
            str(key): (as_int(account), as_int(amount), now)
            for key, account, amount, now in every(
                conn, _RESOLVE_HELD, keys=[r.key for r in asked], nows=[r.now for r in asked]
            )
        }
        if resolved:
            wallets = [account for account, _, _ in resolved.values()]
            amounts = [amount for _, amount, _ in resolved.values()]
            run(conn, _POST_RESERVED, ids=wallets, amounts=amounts)
            run(
                conn,
                _RECORD_SPENDS,
                keys=[f"spend:{key}" for key in resolved],
                debits=wallets,
                amounts=amounts,
                nows=[now for _, _, now in resolved.values()],
                sink=asked[0].system.id(conn, Reason.SPEND.value, asked[0].now),
                order_ref=None,
            )
            _take_lots(conn, dict(zip(wallets, amounts, strict=True)))
        found = balances(conn, [account for account, _, _ in resolved.values()])
        outcomes: dict[str, Outcome] = {}
        for key, (account, amount, _) in resolved.items():
            outcomes[key] = Outcome(f"spend:{key}", amount, found[account])
        results: list[object] = []
        for request in requests:
            # A key asked twice: its first row gets the outcome, the repeat runs alone ("already done").
            outcome = outcomes.pop(request.key, None) if isinstance(request, CaptureRequest) else None
            results.append(LEFT_TO_UNIT if outcome is None else outcome)
        return results


def _take_lots(conn: Connection, amounts: dict[int, int]) -> None:
    """Take each wallet's amount from its lots, as `ledger._take_lots` does for one."""
    by_wallet: dict[int, list[LotView]] = {wallet: [] for wallet in amounts}
    for account, lot_id, kind, remaining, expires_at, order_ref in every(conn, _LOTS_OF, ids=list(amounts)):
        by_wallet[as_int(account)].append(
            LotView(
                as_int(lot_id),
                LotKind(str(kind)),
                as_int(remaining),
                from_db_time(expires_at),
                None if order_ref is None else str(order_ref),
            )
        )
    takes = [part for wallet, amount in amounts.items() for part in take_from_lots(by_wallet[wallet], amount)]
    if takes:
        run(conn, _TAKE_FROM_LOTS, ids=[t.lot_id for t in takes], amounts=[t.amount for t in takes])


# --- balances ----------------------------------------------------------------------------


def _unspent(kind: LotKind) -> ColumnElement[int]:
    spent = select(func.sum(lots.c.remaining)).where(lots.c.account_id == accounts.c.id, lots.c.kind == const(kind))
    return func.coalesce(spent.scalar_subquery(), const(0))


_BALANCES = Statement(
    select(
        accounts.c.id,
        accounts.c.credits_posted - accounts.c.debits_posted,
        accounts.c.debits_pending,
        accounts.c.frozen,
        _unspent(LotKind.FREE),
        _unspent(LotKind.PAID),
    ).where(accounts.c.id == any_(_array("ids", accounts.c.id)))
)


def balances(conn: Connection, account_ids: list[int]) -> dict[int, Balance]:
    """`ledger.balance` of several wallets in one statement."""
    if not account_ids:
        return {}
    found = {}
    for account, posted, pending, frozen, free, paid in every(conn, _BALANCES, ids=sorted(set(account_ids))):
        found[as_int(account)] = Balance(
            as_int(account),
            free=as_int(free),
            paid=as_int(paid),
            held=as_int(pending),
            frozen=bool(frozen),
            debt=max(0, -as_int(posted)),
        )
    return found
