"""Usage figures for operators: today, 7 and 30 days (definitions in `core.domain.stats`)."""

from __future__ import annotations

from core.domain.identity import Identity
from core.domain.rewards import stats_windows
from core.domain.rules import CreditRules
from core.domain.stats import PackRevenue, StatsReport, WindowReport
from core.errors import NotPermitted
from core.ports import Clock, StatsStore


class StatsService:
    def __init__(self, store: StatsStore, rules: CreditRules, clock: Clock) -> None:
        self.store = store
        self.rules = rules
        self.clock = clock

    async def report(self, actor: Identity | None = None) -> StatsReport:
        """`/admin stats` (operators only); with no actor, `python -m bot stats`."""
        if actor is not None and not self.rules.is_operator(actor.key):
            raise NotPermitted("operator")
        now = self.clock.now()
        cheapest = min(self.rules.pricing.costs.values(), default=1)
        reports = []
        for window in stats_windows(now):
            stats = await self.store.window_stats(window, cheapest_clip=cheapest)
            reports.append(WindowReport(stats, self._revenue(stats.purchases_by_pack)))
        return StatsReport(now, tuple(reports))

    def _revenue(self, purchases: dict[str, int]) -> tuple[PackRevenue, ...]:
        """Purchases times the list price of the (Stripe) pack table; a pack id no longer in the
        table counts with price 0."""
        prices = {p.pack_id: p for p in self.rules.packs.packs}
        rows = []
        for pack_id, count in sorted(purchases.items()):
            pack = prices.get(pack_id)
            price, currency = (pack.price, pack.currency) if pack else (0, "usd")
            rows.append(PackRevenue(pack_id, count, count * price, currency))
        return tuple(rows)
