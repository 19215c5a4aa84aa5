"""Statements built from the table definitions, compiled once per dialect, run on the DBAPI cursor.

Every statement is a SQLAlchemy Core expression over the Table objects of
`adapters.storage.tables` (the same ones Alembic's metadata holds), so a table or column name is
written once, in its table definition. Why not let SQLAlchemy execute them: building,
cache-keying and compiling an expression costs 30–90 µs per statement here, against 2–3 µs for
the driver itself, and the ledger runs ~10 statements per hold+capture. So a `Statement` is
compiled on first use for each dialect (SQLite, PostgreSQL) into its SQL text and the order of
its parameters; every later call costs one tuple and the driver. SQLAlchemy still owns the
engine, the pool, the transactions and SAVEPOINTs; these statements only borrow the
connection's cursor. Values cross as the drivers take them (`to_db_time` for timestamps).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, overload

from sqlalchemy import ColumnElement, Connection, Dialect, Integer, String, func, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import DQLDMLClauseElement
from sqlalchemy.sql.schema import Table

_savepoint_ids = itertools.count(1)  # unique names; next() on a count is atomic

# Per positional parameter: (name, None) for a value the caller passes, (None, value) for one
# the statement fixed itself (SQLite's `OFFSET 0` after a LIMIT).
_Plan = tuple[tuple[str | None, object], ...]
Expression = DQLDMLClauseElement  # a SELECT, INSERT, UPDATE or DELETE (or a union of SELECTs)
Builder = Callable[[str], Expression]  # dialect name -> expression, for dialect-specific syntax

DbRow = tuple[object, ...]
"""A row as the DBAPI driver returns it. Its values are what that driver gives: int, str, bool,
float, a `Decimal` (PostgreSQL's SUM of integers), a datetime (asyncpg) or SQLite's timestamp
text, None. They become domain values where the row is read: `as_int`, `str`, `bool`,
`from_db_time`."""


class Cursor(Protocol):
    """The DBAPI cursor `run` returns, as far as this package uses it."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, operation: str, parameters: Sequence[object] = ..., /) -> object: ...

    def fetchone(self) -> Sequence[object] | None: ...

    def fetchall(self) -> Sequence[Sequence[object]]: ...


# `int()`, `float()` and `bytes()` themselves, typed as taking a DbRow value: they convert what
# the driver gives (an int from PostgreSQL's Decimal SUM, say) and raise on what they cannot. So
# a row value needs no `cast` first, and the hot path pays for no wrapper call.
if TYPE_CHECKING:

    def as_int(value: object, /) -> int: ...
    def as_float(value: object, /) -> float: ...
    def as_bytes(value: object, /) -> bytes: ...

else:
    as_int, as_float, as_bytes = int, float, bytes


class Statement:
    """One statement, compiled once per dialect on first use."""

    def __init__(self, expression: Expression | Builder) -> None:
        self._expression = expression
        self._compiled: dict[str, tuple[str, _Plan]] = {}

    def compiled(self, dialect: Dialect) -> tuple[str, _Plan]:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self._expression, dialect)
        return found


def _compile(expression: Expression | Builder, dialect: Dialect) -> tuple[str, _Plan]:
    built = expression if isinstance(expression, DQLDMLClauseElement) else expression(dialect.name)
    compiled = built.compile(dialect=dialect)
    if compiled.insert_prefetch or compiled.update_prefetch:
        # A column default SQLAlchemy would compute at execution: we never execute through it.
        missing = [column.name for column in [*compiled.insert_prefetch, *compiled.update_prefetch]]
        raise ValueError(f"give these columns a value explicitly: {missing}")
    binds = compiled.binds
    plan = tuple(
        (name, None) if binds[name].value is None else (None, binds[name].effective_value)
        for name in compiled.positiontup or ()
    )
    return str(compiled), plan


def max_length(column: ColumnElement[str]) -> int:
    """The longest text `column` holds, from its table definition."""
    length = getattr(column.type, "length", None)  # a String, or a TypeDecorator over one (AutoString)
    if not isinstance(length, int):
        raise TypeError(f"{column} has no maximum length")
    return length


@overload
def const(value: str) -> ColumnElement[str]: ...
@overload
def const(value: int) -> ColumnElement[int]: ...
def const(value: str | int) -> ColumnElement[str] | ColumnElement[int]:
    """A constant written into the SQL text, not bound: the planners then match partial indexes
    and plan for the value (an enum value or a number, never user input)."""
    if isinstance(value, str):
        return literal_column("'" + value.replace("'", "''") + "'", String())
    return literal_column(str(int(value)), Integer())


def consts(values: Iterable[str]) -> list[ColumnElement[str]]:
    """`column.in_(consts(states))`: a fixed list of constants, in a stable order."""
    return [const(value) for value in sorted(str(value) for value in values)]


def insert_or_skip(
    table: Table, conflict: list[str], values: dict[str, object], returning: list[ColumnElement[int]] | None = None
) -> Builder:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING [RETURNING ...]; each dialect has its own
    construct for it."""

    def build(dialect: str) -> Expression:
        insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
        statement = insert.values(values).on_conflict_do_nothing(index_elements=conflict)
        return statement.returning(*returning) if returning else statement

    return build


def run(conn: Connection, statement: Statement, **params: object) -> Cursor:
    """Execute and return the DBAPI cursor (rowcount, fetchone, fetchall)."""
    sql, plan = statement.compiled(conn.dialect)
    # A checked-out connection always has its DBAPI connection (None only once invalidated).
    cursor: Cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(sql, tuple(params[name] if name is not None else fixed for name, fixed in plan))
    return cursor


def one(conn: Connection, statement: Statement, **params: object) -> DbRow | None:
    row = run(conn, statement, **params).fetchone()
    return None if row is None else tuple(row)


def scalar(conn: Connection, statement: Statement, **params: object) -> object:
    row = one(conn, statement, **params)
    return None if row is None else row[0]


def every(conn: Connection, statement: Statement, **params: object) -> list[DbRow]:
    return [tuple(row) for row in run(conn, statement, **params).fetchall()]


def to_db_time(conn: Connection, value: dt.datetime | None) -> str | dt.datetime | None:
    """SQLite stores naive UTC text in SQLAlchemy's own format (so ordering and SQLAlchemy reads
    agree); PostgreSQL takes an aware datetime."""
    if value is None:
        return None
    utc = value.astimezone(dt.UTC)
    if conn.dialect.name == "sqlite":
        # `YYYY-MM-DD HH:MM:SS.ffffff`, the "+00:00" cut off: half what strftime costs.
        return utc.isoformat(" ", "microseconds")[:26]
    return utc


def utc_day_of(column: ColumnElement[dt.datetime], dialect: str) -> ColumnElement[str]:
    """The UTC calendar day of a stored timestamp as `YYYY-MM-DD` text, in SQL: SQLite keeps
    UTC text (`to_db_time`), PostgreSQL a timestamptz read at UTC whatever the session's zone."""
    if dialect == "sqlite":
        return func.substr(column, 1, 10)
    return func.to_char(func.timezone(const("UTC"), column), const("YYYY-MM-DD"))


def from_db_time(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    elif not isinstance(value, dt.datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


class Savepoint:
    """A raw SAVEPOINT on the connection's cursor: ~10x cheaper than SQLAlchemy's begin_nested,
    and invisible to SQLAlchemy's own transaction (which only sees BEGIN ... COMMIT)."""

    def __init__(self, conn: Connection) -> None:
        self.cursor: Cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        self.name = f"sp{next(_savepoint_ids)}"
        self.cursor.execute(f"SAVEPOINT {self.name}")
        self.open = True

    def commit(self) -> None:
        if self.open:
            self.cursor.execute(f"RELEASE SAVEPOINT {self.name}")
            self._close()

    def rollback(self) -> None:
        if self.open:
            self.cursor.execute(f"ROLLBACK TO SAVEPOINT {self.name}")
            self.cursor.execute(f"RELEASE SAVEPOINT {self.name}")
            self._close()

    def _close(self) -> None:
        self.open = False
