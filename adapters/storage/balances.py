"""A wallet's balance in SQL, written once for the ledger's statements on both databases: what
is posted and available, the unspent credits of each lot kind, the columns a balance is read
from (in a SELECT, or in the RETURNING of an UPDATE of `accounts`), and the guarded reserve
that a hold cannot overdraw."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Integer, Update, exists, func, literal_column, not_, select, update
from sqlalchemy.sql.selectable import FromClause

from adapters.storage.sql import as_int, const
from adapters.storage.tables import accounts, holds, lots
from core.domain.ledger import Balance, LotKind

POSTED = accounts.c.credits_posted - accounts.c.debits_posted
AVAILABLE = POSTED - accounts.c.debits_pending


def unspent(kind: LotKind) -> ColumnElement[int]:
    """The wallet's unspent credits of `kind`. The wallet's id is written with its table's name:
    SQLite writes a RETURNING clause's columns unqualified, where a bare `id` in this subquery
    would be the lot's own."""
    wallet_id = literal_column(f"{accounts.name}.{accounts.c.id.name}", Integer())
    spent = select(func.sum(lots.c.remaining)).where(lots.c.account_id == wallet_id, lots.c.kind == const(kind))
    return func.coalesce(spent.scalar_subquery(), const(0))


# What `balance_from` takes, in its order, from a row of `accounts`.
BALANCE_COLUMNS = (
    POSTED.label("posted"),
    accounts.c.debits_pending.label("pending"),
    accounts.c.frozen.label("frozen"),
    unspent(LotKind.FREE).label("free"),
    unspent(LotKind.PAID).label("paid"),
)


def spendable_part_sql(amount: ColumnElement[int], posted_after: ColumnElement[int]) -> ColumnElement[int]:
    """`core.domain.ledger.spendable_part` in PostgreSQL, for a statement that credits and records
    the lot at once: credits that pay off a dispute's debt first are not spendable."""
    return func.least(amount, func.greatest(posted_after, const(0)))


def balance_from(account: int, posted: object, pending: object, frozen: object, free: object, paid: object) -> Balance:
    # Positional, in `Balance`'s field order (account_id, free, paid, held, frozen, debt): one
    # is built for every hold and capture, and keywords cost a third more.
    debt = -as_int(posted)
    return Balance(account, as_int(free), as_int(paid), as_int(pending), bool(frozen), debt if debt > 0 else 0)


def guarded_reserve(requests: FromClause) -> Update:
    """Reserve each request's `amount` on its `account_id` (one row of `requests` per wallet),
    only where the wallet is not frozen, can afford it, and the hold's `key` is new."""
    row = requests.c
    return (
        update(accounts)
        .where(
            accounts.c.id == row.account_id,
            not_(accounts.c.frozen),
            AVAILABLE >= row.amount,
            ~exists().where(holds.c.key == row.key),
        )
        .values(debits_pending=accounts.c.debits_pending + row.amount)
    )
