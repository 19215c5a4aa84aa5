"""Free-credit expiry: "paid credits never expire; free credits may (config, off by default)".

With `CreditRules.free_credit_ttl` set (FREE_CREDIT_TTL_DAYS), every free grant (welcome, daily,
share, email, ...) stamps `expires_at` on its lot and spending takes the earliest-expiring free
credits first. This sweep, run periodically by the runtime, moves what is left of each expired
free lot out of the wallet: one `expiry` ledger entry per lot (key `expiry:<lot>:<remainder>`,
under the transfers' unique key), one transaction per batch of wallets. Credits held by a
running job are not expired (`core.domain.ledger.expirable_parts`): the job is paid from them,
or, if it fails, they expire at the next sweep. Without a TTL the sweep does nothing at all.

Between a lot's expiry time and the next sweep its credits can still be spent; the sweep
interval bounds that grace.
"""

from __future__ import annotations

import logging

from core.domain.rules import CreditRules
from core.ports import Clock, ExpiryStore

logger = logging.getLogger(__name__)

EXPIRY_BATCH = 100  # wallets per transaction
MAX_BATCHES = 1000  # per sweep; the rest waits for the next one


class ExpiryService:
    def __init__(self, store: ExpiryStore, rules: CreditRules, clock: Clock, *, batch: int = EXPIRY_BATCH) -> None:
        self.store = store
        self.rules = rules
        self.clock = clock
        self.batch = batch

    @property
    def enabled(self) -> bool:
        return self.rules.free_credit_ttl is not None

    async def sweep(self) -> int:
        """Expire every free lot past its expiry; returns the credits expired (0 when off)."""
        if not self.enabled:
            return 0
        now = self.clock.now()
        total, after = 0, 0
        for _ in range(MAX_BATCHES):
            result = await self.store.expire_free_credits(now=now, after_account=after, limit=self.batch)
            total += result.credits
            after = result.last_account_id
            if not result.more:
                break
        if total:
            logger.info("expired %d free credits", total)
        return total
