"""A separate OS process that checks one person's progress (used by test_progress_processes):
prints the credits its checks awarded."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from functools import partial

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.progress import SqlProgressStore
from core.domain.pricing import PackTable, Pricing
from core.domain.progress import decide_progress
from core.domain.rules import CreditRules


async def check(url: str, person_id: int, times: int) -> int:
    rules = CreditRules(Pricing({5: 1}), PackTable(()), achievement_credits=(("first_clip", 3),), max_free_per_day=0)
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    decide = partial(decide_progress, all_styles=frozenset({"piano", "guitar"}), rules=rules, now=now)
    async with Database(url) as db:
        ledger = SqlLedgerStore(db)
        await ledger.prepare()
        store = SqlProgressStore(db, ledger)
        results = await asyncio.gather(*[store.award_progress(person_id, decide, now=now) for _ in range(times)])
    return sum(result.credits for result in results)


if __name__ == "__main__":
    print(asyncio.run(check(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
