"""A separate OS process that races holds against one wallet (used by test_ledger_processes)."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from core.errors import InsufficientCredits


async def race(url: str, wallet: int, prefix: str, attempts: int) -> int:
    now = dt.datetime.now(dt.UTC)
    won = 0
    async with Database(url) as db:
        store = SqlLedgerStore(db)

        async def one(i: int) -> bool:
            try:
                await store.hold(f"{prefix}:{i}", wallet, 1, expires_at=now + dt.timedelta(minutes=5), now=now)
                return True
            except InsufficientCredits:
                return False

        won = sum(await asyncio.gather(*[one(i) for i in range(attempts)]))
    return won


if __name__ == "__main__":
    url, wallet, prefix, attempts = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    print(asyncio.run(race(url, wallet, prefix, attempts)))
