"""Usage figures for operators: today, 7 and 30 days (definitions in `core.domain.stats`)."""

from __future__ import annotations

from core.domain.identity import Identity
from core.domain.rewards import stats_windows
from core.domain.rules import CreditRules
from core.domain.stats import StatsReport, stats_report
from core.errors import NotPermitted
from core.ports import Clock, StatsStore


class StatsService:
    def __init__(self, store: StatsStore, rules: CreditRules, clock: Clock) -> None:
        self.store = store
        self.rules = rules
        self.clock = clock

    async def report(self, actor: Identity | None = None) -> StatsReport:
        """`/admin stats` (operators only); with no actor, `python -m bot stats`. Revenue is
        what the paid orders recorded, per currency, net of refunds and disputes."""
        if actor is not None and not self.rules.is_operator(actor.key):
            raise NotPermitted("operator")
        now = self.clock.now()
        cheapest = self.rules.pricing.cheapest
        stats = [await self.store.window_stats(w, cheapest_clip=cheapest) for w in stats_windows(now)]
        return stats_report(now, stats)
