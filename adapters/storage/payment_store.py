"""`PaymentStore` over SQL: each call is one unit of work on the batching `Database`.

`apply` composes the ledger's own units (`ledger_sql.grant`, `take_back`) with the order and
event rows in one transaction, through the ledger store's shared `SystemAccounts` cache.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from adapters.storage import payments_sql as sql
from adapters.storage.database import Database
from adapters.storage.ledger_store import SqlLedgerStore
from core.domain.orders import Effect, Order, PaymentResult


class SqlPaymentStore:
    def __init__(self, db: Database, ledger: SqlLedgerStore) -> None:
        self.db = db
        self.ledger = ledger  # its committed system-account ids are what `apply` composes with

    async def create_order(self, order: Order) -> Order:
        return await self.db.write(lambda c: sql.create_order(c, order))

    async def set_checkout(self, order_id: str, session_id: str, url: str, *, now: dt.datetime) -> Order:
        return await self.db.write(lambda c: sql.set_checkout(c, order_id, session_id, url, now))

    async def get_order(self, order_id: str) -> Order | None:
        return await self.db.read(lambda c: sql.get_order(c, order_id))

    async def order_by_payment_intent(self, payment_intent_id: str) -> Order | None:
        return await self.db.read(lambda c: sql.order_by_payment_intent(c, payment_intent_id))

    async def order_by_telegram_charge(self, charge_id: str) -> Order | None:
        return await self.db.read(lambda c: sql.order_by_telegram_charge(c, charge_id))

    async def event_seen(self, event_key: str) -> bool:
        return await self.db.read(lambda c: sql.event_seen(c, event_key))

    async def pre_checkout_facts(self, order_id: str, payer: str) -> tuple[Order | None, int | None, bool]:
        return await self.db.read(lambda c: sql.pre_checkout_facts(c, order_id, payer))

    async def apply(
        self,
        order_id: str | None,
        decide: Callable[[Order | None], Effect],
        *,
        event_key: str | None,
        event_type: str,
        now: dt.datetime,
    ) -> PaymentResult:
        await self.ledger.prepare()
        system = self.ledger.system
        return await self.db.write(lambda c: sql.apply(c, system, order_id, decide, event_key, event_type, now))
