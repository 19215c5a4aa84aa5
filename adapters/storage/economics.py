"""What unit economics read: jobs with their provider cost and charge, a wallet's ledger history
with the lots each credit created, and the paid orders behind those lots (`EconomicsReads`;
the arithmetic is `core.domain.economics`). Reads only: nothing on the money path changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import BindParameter, Connection, bindparam, literal, or_, select

from adapters.storage.database import Database
from adapters.storage.sql import DbRow, Statement, as_int, const, every, from_db_time, one, to_db_time
from adapters.storage.tables import lots, transfers
from adapters.storage.tables_jobs import jobs
from adapters.storage.tables_payments import orders
from core.domain.economics import EconomicsSnapshot, JobCost, LotSeed, PaidOrder, WalletMove
from core.domain.jobs import HOLD_KEY_PREFIX
from core.domain.ledger import LotKind, Reason

_START: BindParameter[dt.datetime] = bindparam("start")
_END: BindParameter[dt.datetime] = bindparam("end")
_SPEND_PREFIX = f"spend:{HOLD_KEY_PREFIX}"
_FINISHED = ("succeeded", "failed", "canceled", "expired")

_spend_key = literal(_SPEND_PREFIX) + jobs.c.id
_charges = (
    select(
        jobs.c.id,
        jobs.c.wallet_id,
        jobs.c.operation,
        jobs.c.seconds,
        jobs.c.cost,
        jobs.c.provider_cost_micros,
        transfers.c.amount,
    )
    .select_from(jobs.outerjoin(transfers, transfers.c.key == _spend_key))
    .where(jobs.c.state.in_([const(state) for state in _FINISHED]))
    .order_by(jobs.c.seq)
)
_JOBS_BETWEEN = Statement(_charges.where(jobs.c.finished_at >= _START, jobs.c.finished_at <= _END))
_JOBS_OF_WALLET = Statement(_charges.where(jobs.c.wallet_id == bindparam("wallet")))

_WALLET: BindParameter[int] = bindparam("wallet")
_MOVES = Statement(
    select(
        transfers.c.id,
        transfers.c.key,
        transfers.c.reason,
        transfers.c.amount,
        transfers.c.credit_account_id,
        transfers.c.order_ref,
        transfers.c.created_at,
    )
    .where(or_(transfers.c.debit_account_id == _WALLET, transfers.c.credit_account_id == _WALLET))
    .order_by(transfers.c.id)
)
_LOTS = Statement(
    select(lots.c.id, lots.c.transfer_key, lots.c.kind, lots.c.granted, lots.c.expires_at, lots.c.order_ref)
    .where(lots.c.account_id == _WALLET)
    .order_by(lots.c.id)
)
_ORDER = Statement(
    select(
        orders.c.pack_id,
        orders.c.channel,
        orders.c.credits,
        orders.c.amount,
        orders.c.amount_refunded + orders.c.amount_disputed,
    ).where(orders.c.id == bindparam("id"), orders.c.paid_at.is_not(None))
)


def _job_costs(rows: list[DbRow]) -> list[JobCost]:
    return [
        JobCost(
            job_id=str(job_id),
            operation=str(operation),
            seconds=as_int(seconds),
            priced=as_int(cost),
            charged=0 if charged is None else as_int(charged),
            cost_micros=0 if provider_cost is None else as_int(provider_cost),
            spend_key=f"{_SPEND_PREFIX}{job_id}",
            wallet_id=as_int(wallet),
        )
        for job_id, wallet, operation, seconds, cost, provider_cost, charged in rows
    ]


def wallet_moves(conn: Connection, wallet_id: int) -> list[WalletMove]:
    seeds: dict[str, list[LotSeed]] = {}
    for lot_id, transfer_key, kind, granted, expires_at, order_ref in every(conn, _LOTS, wallet=wallet_id):
        seeds.setdefault(str(transfer_key), []).append(
            LotSeed(
                as_int(lot_id),
                LotKind(str(kind)),
                as_int(granted),
                from_db_time(expires_at),
                None if order_ref is None else str(order_ref),
            )
        )
    moves: list[WalletMove] = []
    for transfer_id, key, reason, amount, credit_account, order_ref, created_at in every(
        conn, _MOVES, wallet=wallet_id
    ):
        incoming = as_int(credit_account) == wallet_id
        at = from_db_time(created_at)
        assert at is not None
        moves.append(
            WalletMove(
                transfer_id=as_int(transfer_id),
                key=str(key),
                reason=Reason(str(reason)),
                amount=as_int(amount),
                incoming=incoming,
                at=at,
                lots=tuple(seeds.get(str(key), ())) if incoming else (),
                order_ref=None if order_ref is None else str(order_ref),
            )
        )
    return moves


def paid_order(conn: Connection, order_ref: str) -> PaidOrder | None:
    row = one(conn, _ORDER, id=order_ref)
    if row is None:
        return None
    pack_id, channel, credits, amount, returned = row
    return PaidOrder(order_ref, str(pack_id), str(channel), as_int(credits), as_int(amount), as_int(returned))


def economics_in(
    conn: Connection, start: dt.datetime, end: dt.datetime, recent_since: dt.datetime
) -> EconomicsSnapshot:
    """The window's jobs, the recent jobs, and the histories and orders behind them (inside the
    caller's transaction, so the dashboard reads them in its one snapshot)."""
    window = _job_costs(every(conn, _JOBS_BETWEEN, start=to_db_time(conn, start), end=to_db_time(conn, end)))
    recent = _job_costs(every(conn, _JOBS_BETWEEN, start=to_db_time(conn, recent_since), end=to_db_time(conn, end)))
    return _behind(conn, window, recent)


def wallet_economics_in(conn: Connection, wallet_id: int) -> EconomicsSnapshot:
    """Every ended job a wallet paid for, with what is behind them."""
    return _behind(conn, _job_costs(every(conn, _JOBS_OF_WALLET, wallet=wallet_id)), [])


def _behind(conn: Connection, jobs: list[JobCost], recent: list[JobCost]) -> EconomicsSnapshot:
    wallets = sorted({job.wallet_id for job in jobs if job.charged})
    histories = {wallet: wallet_moves(conn, wallet) for wallet in wallets}
    refs = sorted({seed.order_ref for moves in histories.values() for m in moves for seed in m.lots if seed.order_ref})
    found = {ref: paid_order(conn, ref) for ref in refs}
    orders = {ref: order for ref, order in found.items() if order is not None}
    return EconomicsSnapshot(tuple(jobs), tuple(recent), histories, orders)


class SqlEconomicsReads:
    """`EconomicsReads` (core/ports.py): each call one read transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def snapshot(self, start: dt.datetime, end: dt.datetime, *, recent_since: dt.datetime) -> EconomicsSnapshot:
        return await self.db.read(lambda c: _in_transaction(c, lambda: economics_in(c, start, end, recent_since)))

    async def wallet_snapshot(self, wallet_id: int) -> EconomicsSnapshot:
        return await self.db.read(lambda c: _in_transaction(c, lambda: wallet_economics_in(c, wallet_id)))


def _in_transaction(conn: Connection, work: Callable[[], EconomicsSnapshot]) -> EconomicsSnapshot:
    with conn.begin():
        return work()
