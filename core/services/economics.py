"""Unit economics for operators: the margin report, the losing-price warning, and what one
person's free use has cost (`core.domain.economics` holds the arithmetic)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from fractions import Fraction

from core.domain.economics import (
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
    def __init__(self, reads: EconomicsReads, fees: Fees, packs: Iterable[Pack], *, clock: Clock) -> None:
        self.reads = reads
        self.fees = fees
        self.packs = tuple(packs)  # every pack on sale (card and Stars): the cheapest sets the bar
        self.clock = clock

    async def report(self, days: int) -> MarginReport:
        end = self.clock.now()
        return await self.report_between(end - dt.timedelta(days=days), end)

    async def report_between(self, start: dt.datetime, end: dt.datetime) -> MarginReport:
        jobs = await self.reads.jobs_between(start, end)
        return await self._report(start, end, jobs)

    async def losing(self, days: int = 30) -> list[LosingPrice]:
        """The operations whose recent average cost is more than their credits bring in at the
        cheapest pack (nothing while no job has a cost)."""
        end = self.clock.now()
        jobs = await self.reads.jobs_between(end - dt.timedelta(days=days), end)
        return self.losing_in(jobs)

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
        jobs = await self.reads.jobs_of_wallet(wallet_id)
        now = self.clock.now()
        return (await self._report(now, now, jobs)).overall.free_cost

    async def _report(self, start: dt.datetime, end: dt.datetime, jobs: list[JobCost]) -> MarginReport:
        wallets = sorted({job.wallet_id for job in jobs if job.charged})
        histories = await self.reads.wallet_histories(wallets)
        mixes = {key: mix for moves in histories.values() for key, mix in replay_spends(moves).items()}
        refs = sorted({ref for mix in mixes.values() for ref in mix.paid})
        orders = await self.reads.paid_orders(refs)
        purchases = {ref: Purchase.of(order, self.fees) for ref, order in orders.items()}
        return margin_report(start, end, jobs, mixes, purchases)
