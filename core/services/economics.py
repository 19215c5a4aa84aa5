"""Unit economics for operators: the margin report, the losing-price warning, and what one
person's free use has cost (`core.domain.economics` holds the arithmetic)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from fractions import Fraction

from core.domain.economics import (
    EconomicsSnapshot,
    Fees,
    JobCost,
    LosingPrice,
    MarginReport,
    Purchase,
    losing_prices,
    margin_report,
    operation_label,
    replay_spends,
)
from core.domain.pricing import Pack
from core.ports import Clock, EconomicsReads


class EconomicsService:
    def __init__(
        self, reads: EconomicsReads, fees: Fees, packs: Iterable[Pack], *, clock: Clock, warning_days: int = 30
    ) -> None:
        self.reads = reads
        self.fees = fees
        self.packs = tuple(packs)  # every pack on sale (card and Stars): the cheapest sets the bar
        self.clock = clock
        self.warning_days = warning_days

    async def report(self, days: int) -> tuple[MarginReport, list[LosingPrice]]:
        """The last `days` days, and the prices that lose money over the same days."""
        end = self.clock.now()
        start = end - dt.timedelta(days=days)
        snapshot = await self.reads.snapshot(start, end, recent_since=start)
        return self.margin(snapshot, start, end), self.losing_in(snapshot.recent)

    async def losing(self) -> list[LosingPrice]:
        """The operations whose average cost over the warning's days is more than their credits
        bring in at the cheapest pack (nothing while no job has a cost)."""
        end = self.clock.now()
        start = end - dt.timedelta(days=self.warning_days)
        return self.losing_in((await self.reads.snapshot(start, end, recent_since=start)).recent)

    def warning_since(self, now: dt.datetime) -> dt.datetime:
        return now - dt.timedelta(days=self.warning_days)

    def losing_in(self, jobs: Iterable[JobCost]) -> list[LosingPrice]:
        totals: dict[str, tuple[int, int, int]] = {}  # label -> (priced at, jobs, cost)
        for job in jobs:
            label = operation_label(job)
            _, count, cost = totals.get(label, (0, 0, 0))
            totals[label] = (job.priced, count + 1, cost + job.cost_micros)
        averages = {label: (priced, Fraction(cost, count)) for label, (priced, count, cost) in totals.items()}
        return losing_prices(averages, self.packs, self.fees)

    async def free_use_cost(self, wallet_id: int) -> Fraction:
        """What the provider billed for the part of a wallet's jobs paid with free credits (and
        for its jobs that were never charged)."""
        now = self.clock.now()
        return self.margin(await self.reads.wallet_snapshot(wallet_id), now, now).overall.free_cost

    def margin(self, snapshot: EconomicsSnapshot, start: dt.datetime, end: dt.datetime) -> MarginReport:
        mixes = {key: mix for moves in snapshot.histories.values() for key, mix in replay_spends(moves).items()}
        purchases = {ref: Purchase.of(order, self.fees) for ref, order in snapshot.orders.items()}
        return margin_report(start, end, snapshot.jobs, mixes, purchases)
