"""`LedgerStore` over SQL: each call is one unit of work on the batching `Database`."""

from __future__ import annotations

import datetime as dt

from adapters.storage import ledger_sql as sql
from adapters.storage.audit import audit
from adapters.storage.database import Database
from core.domain.identity import Person
from core.domain.ledger import AccountStats, Balance, Entry, ExpirySweep, Grant, Hold, Outcome, Reason


class SqlLedgerStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.system = sql.SystemAccounts()  # shared with stores that compose ledger operations

    async def prepare(self) -> None:
        """Create the system accounts once, committed, before any movement names them."""
        if not self.system.ready:
            now = dt.datetime.now(dt.UTC)
            self.system.remember(await self.db.write(lambda c: sql.SystemAccounts.prepare(c, now)))

    async def ensure_person(self, identity: str, *, welcome: Grant | None, now: dt.datetime) -> Person:
        found = await self.db.read(lambda c: sql.find_person(c, identity))
        if found is not None:  # the common case never queues behind the writer
            return found
        await self.prepare()
        return await self.db.write(lambda c: sql.ensure_person(c, self.system, identity, welcome, now))

    async def open_wallet(self, identity: str, *, welcome: Grant | None, now: dt.datetime) -> tuple[Person, Balance]:
        found = await self.find_wallet(identity)
        if found is not None:
            return found
        await self.prepare()
        return await self.db.write(lambda c: sql.ensure_person_with_balance(c, self.system, identity, welcome, now))

    async def find_wallet(self, identity: str) -> tuple[Person, Balance] | None:
        return await self.db.read_point(lambda c: sql.find_person_with_balance(c, identity))

    async def find_person(self, identity: str) -> Person | None:
        return await self.db.read(lambda c: sql.find_person(c, identity))

    async def ensure_server_wallet(self, server_key: str, *, now: dt.datetime) -> int:
        return await self.db.write(lambda c: sql.ensure_account(c, "server", server_key, now))

    async def grant(self, grant: Grant, *, now: dt.datetime) -> Outcome:
        await self.prepare()
        return await self.db.write(lambda c: sql.grant(c, self.system, grant, now))

    async def hold(
        self, key: str, account_id: int, amount: int, *, expires_at: dt.datetime, now: dt.datetime
    ) -> Outcome:
        return await self.db.write(lambda c: sql.hold(c, key, account_id, amount, expires_at, now))

    async def capture(self, key: str, *, now: dt.datetime) -> Outcome:
        await self.prepare()
        return await self.db.write(lambda c: sql.capture(c, self.system, key, now))

    async def release(self, key: str, *, now: dt.datetime) -> Outcome:
        return await self.db.write(lambda c: sql.release(c, key, now))

    async def sweep_expired_holds(self, *, now: dt.datetime, limit: int = 500) -> int:
        return await self.db.write(lambda c: sql.sweep_expired_holds(c, now, limit))

    async def expire_free_credits(self, *, now: dt.datetime, after_account: int = 0, limit: int = 100) -> ExpirySweep:
        """`ExpiryStore`: one batch of the free-credit expiry sweep, one transaction."""
        await self.prepare()
        return await self.db.write(lambda c: sql.expire_free_credits(c, self.system, now, after_account, limit))

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
        return await self.db.write(lambda c: sql.transfer(c, key, from_account, to_account, amount, reason, now, memo))

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
        await self.prepare()
        return await self.db.write(
            lambda c: sql.take_back(c, self.system, key, account_id, order_ref, target_total, reason, now)
        )

    async def take(
        self, key: str, account_id: int, amount: int, reason: Reason, *, now: dt.datetime, memo: str = ""
    ) -> Outcome:
        await self.prepare()
        return await self.db.write(lambda c: sql.take(c, self.system, key, account_id, amount, reason, now, memo))

    async def set_frozen(self, account_id: int, frozen: bool) -> Balance:
        return await self.db.write(lambda c: sql.set_frozen(c, account_id, frozen))

    async def balance(self, account_id: int) -> Balance:
        return await self.db.read(lambda c: sql.balance(c, account_id))

    async def stats(self, account_id: int) -> AccountStats:
        return await self.db.read(lambda c: sql.stats(c, account_id))

    async def history(self, account_id: int, *, limit: int = 10) -> list[Entry]:
        return await self.db.read(lambda c: sql.history(c, account_id, limit))

    async def get_hold(self, key: str) -> Hold | None:
        return await self.db.read(lambda c: sql.get_hold(c, key))

    async def audit(self) -> list[str]:
        return await self.db.read(audit)
