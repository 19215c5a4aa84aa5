"""A separate OS process that settles referrals (used by test_rewards_processes)."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from functools import partial

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.referrals import SqlReferralStore
from core.domain.pricing import PackTable, Pricing
from core.domain.referral_payouts import decide_referral
from core.domain.rules import CreditRules


async def settle(url: str, cap: int, referred: list[int]) -> int:
    rules = CreditRules(
        Pricing({5: 1}),
        PackTable(()),
        referral_monthly_cap=cap,
        max_free_per_day=0,
        new_account_cooldown=dt.timedelta(0),
    )
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    decide = partial(decide_referral, rules=rules, now=now, succeeded=True)
    async with Database(url) as db:
        ledger = SqlLedgerStore(db)
        await ledger.prepare()
        store = SqlReferralStore(db, ledger)
        payouts = await asyncio.gather(*[store.settle_referral(p, decide, now=now) for p in referred])
    return sum(p.referrer_credits for p in payouts if p is not None)


if __name__ == "__main__":
    url, cap, ids = sys.argv[1], int(sys.argv[2]), [int(x) for x in sys.argv[3].split(",")]
    print(asyncio.run(settle(url, cap, ids)))
