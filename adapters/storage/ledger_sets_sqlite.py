"""Holds and captures of a whole write batch in a few set-based statements (SQLite).

Why: SQLite runs in this process, so a statement costs no round trip, but each one run from
Python costs several times what SQLite spends on it (a cursor, the parameters, the row, the
conversions), and a hold + capture is ~9 of them one by one. Here a batch's holds are one
guarded `UPDATE ... FROM` over a JSON array of the requests plus one `executemany`, and its
captures a handful of such statements, whatever the batch's size.

The same contract as `ledger_sets` (PostgreSQL), with SQLite's syntax: SQLite has no
data-modifying CTEs, but it has `UPDATE ... FROM ... RETURNING` (3.35+), and its one writer
(`BEGIN IMMEDIATE`) means nothing changes between the statements of a batch. Only the ordinary
case runs here, with the guards in the SQL: a hold whose key is new and whose wallet can afford
it and is not frozen; a capture of a hold still `held`. Every other row (a repeat, a refusal, an
expired hold, a second row for the same wallet) is left to the unit of work itself
(`ledger.place_hold`, `ledger.capture_hold`), which then runs exactly as it would have alone.
Each wallet appears at most once per statement: `UPDATE ... FROM` changes a row once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlalchemy import (
    Connection,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.selectable import Subquery

from adapters.storage.balances import BALANCE_COLUMNS, POSTED, balance_from, guarded_reserve
from adapters.storage.database import LEFT_TO_UNIT
from adapters.storage.ledger_sets import (
    SPEND_PREFIX,
    CaptureRequest,
    HoldRequest,
    lot_view,
)
from adapters.storage.sql import Statement, as_int, const, run, to_db_time
from adapters.storage.tables import accounts, holds, lots, transfers
from core.domain.ledger import HoldState, LotKind, LotView, Outcome, Reason, take_from_lots
from core.errors import InternalError


def _json_rows(name: str, *columns: str) -> Subquery:
    """`(SELECT value ->> 0 AS a, value ->> 1 AS b, ... FROM json_each(:name)) AS req`: the
    requests as one JSON array of arrays, one parameter whatever the batch's size."""
    each = func.json_each(bindparam(name)).table_valued("value")
    return (
        select(*(func.json_extract(each.c.value, const(f"$[{i}]")).label(c) for i, c in enumerate(columns)))
        .select_from(each)
        .subquery("req")
    )


class _PerRow:
    """A statement run once for each row by `executemany`, the rows giving its parameters in
    the order `names` says; checked against the compiled statement at its first run."""

    def __init__(self, statement: Statement, names: tuple[str, ...]) -> None:
        self.statement = statement
        self.names = names
        self._checked: set[str] = set()  # the dialects it was checked for

    def run(self, conn: Connection, rows: Sequence[Sequence[object]]) -> int:
        """The rows changed in all."""
        sql, plan = self.statement.compiled(conn.dialect)
        if conn.dialect.name not in self._checked:
            if tuple(name for name, _fixed in plan) != self.names:
                raise AssertionError(f"parameters {plan} are not {self.names}")
            self._checked.add(conn.dialect.name)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(sql, rows)
        return int(cursor.rowcount)


_HOLD_REQ = _json_rows("rows", "key", "account_id", "amount")
# Reserve, guarded; the new totals and the lots' sums come back for each wallet's balance.
_RESERVE_MANY = Statement(guarded_reserve(_HOLD_REQ).returning(accounts.c.id, *BALANCE_COLUMNS))
_INSERT_HELD = _PerRow(
    Statement(
        insert(holds).values(
            key=bindparam("key"),
            account_id=bindparam("account_id"),
            amount=bindparam("amount"),
            state=const(HoldState.HELD),
            expires_at=bindparam("expires_at"),
            created_at=bindparam("now"),
        )
    ),
    ("key", "account_id", "amount", "expires_at", "now"),
)


class PlaceHoldsSqlite:
    """`ledger.place_hold` for many rows at once."""

    def run_many(self, conn: Connection, requests: Sequence[object]) -> list[object]:
        chosen: dict[int, HoldRequest] = {}  # wallet -> its request: one per wallet
        keys: set[str] = set()
        for request in requests:
            if isinstance(request, HoldRequest) and request.account_id not in chosen and request.key not in keys:
                chosen[request.account_id] = request
                keys.add(request.key)
        if not chosen:
            return [LEFT_TO_UNIT] * len(requests)
        expiries, times = _DbTimes(conn), _DbTimes(conn)
        reserved = run(conn, _RESERVE_MANY, rows=json.dumps([(r.key, r.account_id, r.amount) for r in chosen.values()]))
        placed: dict[int, Outcome] = {}
        held: list[tuple[object, ...]] = []
        for account, posted, pending, frozen, free, paid in reserved.fetchall():
            wallet = as_int(account)
            r = chosen[wallet]
            balance = balance_from(wallet, posted, pending, frozen, as_int(free), as_int(paid))
            placed[id(r)] = Outcome(r.key, r.amount, balance)
            held.append((r.key, wallet, r.amount, expiries(r.expires_at), times(r.now)))
        if held:
            _INSERT_HELD.run(conn, held)
        return [placed.get(id(r), LEFT_TO_UNIT) for r in requests]


# --- captures ----------------------------------------------------------------------------

# The holds asked for, looked up by key. Which are still held is checked in Python: with
# `state` in its condition, SQLite walks the state index (every open hold) instead.
_HOLDS_OF = Statement(
    select(holds.c.key, holds.c.account_id, holds.c.amount, holds.c.state, holds.c.id).where(
        holds.c.key.in_(select(func.json_each(bindparam("keys")).table_valued("value").c.value))
    )
)
_RESOLVE = _PerRow(  # by the row's id, found just now: one seek instead of the key's two
    Statement(
        update(holds)
        .where(holds.c.id == bindparam("id"), holds.c.state == const(HoldState.HELD))
        .values(state=const(HoldState.CAPTURED), resolved_at=bindparam("now"))
    ),
    ("now", "id"),
)
_POST_REQ = _json_rows("rows", "account_id", "amount")
# The pending debits become posted; the new totals come back for the balances.
_POST_MANY = Statement(
    update(accounts)
    .where(accounts.c.id == _POST_REQ.c.account_id)
    .values(
        debits_pending=accounts.c.debits_pending - _POST_REQ.c.amount,
        debits_posted=accounts.c.debits_posted + _POST_REQ.c.amount,
    )
    .returning(
        accounts.c.id,
        POSTED,
        accounts.c.debits_pending,
        accounts.c.frozen,
    )
)
_INSERT_SPENT = _PerRow(
    Statement(
        sqlite.insert(transfers)
        .values(
            key=bindparam("key"),
            debit_account_id=bindparam("debit"),
            credit_account_id=bindparam("credit"),
            amount=bindparam("amount"),
            reason=const(Reason.SPEND),
            memo=const(""),
            created_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["key"])
    ),
    ("key", "debit", "credit", "amount", "now"),
)
# In no particular order: `core.domain.ledger.spend_order` orders them.
_LOTS_OF_WALLETS = Statement(
    select(lots.c.account_id, lots.c.id, lots.c.kind, lots.c.remaining, lots.c.expires_at, lots.c.order_ref).where(
        lots.c.account_id.in_(select(func.json_each(bindparam("wallets")).table_valued("value").c.value)),
        lots.c.remaining > const(0),
    )
)
_TAKE_FROM_LOT = _PerRow(
    Statement(
        update(lots).where(lots.c.id == bindparam("id")).values(remaining=lots.c.remaining - bindparam("amount"))
    ),
    ("amount", "id"),
)


class CaptureHoldsSqlite:
    """`ledger.capture_hold` of holds still held, for many rows at once."""

    def run_many(self, conn: Connection, requests: Sequence[object]) -> list[object]:
        asked: dict[str, CaptureRequest] = {}  # hold key -> its first request
        for request in requests:
            if isinstance(request, CaptureRequest) and request.key not in asked:
                asked[request.key] = request
        # One held hold per wallet (the lowest key), so each wallet is changed once per statement.
        chosen: dict[int, tuple[str, int, int]] = {}  # wallet -> (hold key, amount, the hold row's id)
        held = HoldState.HELD.value
        for key, account, amount, state, row_id in run(conn, _HOLDS_OF, keys=json.dumps(list(asked))).fetchall():
            if state == held:
                wallet = as_int(account)
                found = chosen.get(wallet)
                if found is None or str(key) < found[0]:
                    chosen[wallet] = (str(key), as_int(amount), as_int(row_id))
        if not chosen:
            return [LEFT_TO_UNIT] * len(requests)
        times = _DbTimes(conn)
        first = next(iter(asked.values()))
        sink = first.system.id(conn, Reason.SPEND.value, first.now)
        resolving: list[tuple[object, int]] = []
        posting: list[tuple[int, int]] = []
        spending: list[tuple[object, ...]] = []
        for wallet, (key, amount, row_id) in chosen.items():
            now = times(asked[key].now)
            resolving.append((now, row_id))
            posting.append((wallet, amount))
            spending.append((SPEND_PREFIX + key, wallet, sink, amount, now))
        if _RESOLVE.run(conn, resolving) != len(resolving):  # cannot be: one writer, read just now
            raise InternalError("a hold changed under its capture")
        totals = {as_int(row[0]): row for row in run(conn, _POST_MANY, rows=json.dumps(posting)).fetchall()}
        _INSERT_SPENT.run(conn, spending)
        wallet_lots: dict[int, list[LotView]] = {wallet: [] for wallet in chosen}
        for wallet, lot_id, kind, remaining, expires_at, order_ref in run(
            conn, _LOTS_OF_WALLETS, wallets=json.dumps(list(chosen))
        ).fetchall():
            wallet_lots[as_int(wallet)].append(lot_view(lot_id, kind, remaining, expires_at, order_ref))
        outcomes: dict[str, Outcome] = {}
        takes: list[tuple[int, int]] = []
        for wallet, (key, amount, _row_id) in chosen.items():
            found_lots = wallet_lots[wallet]
            left = {LotKind.FREE: 0, LotKind.PAID: 0}  # unspent credits of each kind
            for lot in found_lots:
                left[lot.kind] += lot.remaining
            for part in take_from_lots(found_lots, amount):
                takes.append((part.amount, part.lot_id))
                left[part.kind] -= part.amount
            _id, posted_total, pending, frozen = totals[wallet]
            balance = balance_from(wallet, posted_total, pending, frozen, left[LotKind.FREE], left[LotKind.PAID])
            outcomes[key] = Outcome(SPEND_PREFIX + key, amount, balance)
        if takes:
            _TAKE_FROM_LOT.run(conn, takes)
        # A key asked twice: its first row gets the outcome, the repeat runs alone ("already done").
        return [
            outcomes.pop(request.key, LEFT_TO_UNIT) if isinstance(request, CaptureRequest) else LEFT_TO_UNIT
            for request in requests
        ]


# --- shared ------------------------------------------------------------------------------


class _DbTimes:
    """`to_db_time`, converting again only when the time differs from the one before (the
    requests of a batch often share their `now`, and their expiry to the microsecond)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._last: dt.datetime | None = None
        self._converted: object = None

    def __call__(self, value: dt.datetime) -> object:
        if value is not self._last and value != self._last:
            self._converted = to_db_time(self._conn, value)
        self._last = value
        return self._converted
