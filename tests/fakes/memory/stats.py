"""Usage figures in memory: `StatsStore`, by the definitions of `core.domain.stats`."""

from __future__ import annotations

from collections import Counter, defaultdict

from core.domain.jobs import JobState
from core.domain.ledger import Reason
from core.domain.rewards import Window
from core.domain.stats import OperationStats, Sales, WindowStats
from tests.fakes.memory.world import World


class FakeStatsStore:
    def __init__(self, world: World) -> None:
        self.world = world

    async def window_stats(self, window: Window, *, cheapest_clip: int) -> WindowStats:
        world = self.world

        def inside(at: object) -> bool:
            return window.start <= at <= window.end  # type: ignore[operator]

        kinds = {account.id: account.kind for account in world.accounts.values()}
        people = {p: made for p, made in world.persons.items() if p not in world.person_links}
        transfers = sorted(world.transfers.values(), key=lambda t: t.id)
        spends = [t for t in transfers if t.reason == Reason.SPEND and inside(t.created_at)]
        granted: Counter[str] = Counter()
        for t in transfers:
            if kinds[t.debit] == "system" and t.reason != Reason.SPEND and inside(t.created_at):
                granted[str(t.reason)] += t.amount
        sales: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for order in world.orders.values():
            if order.paid_at is not None and inside(order.paid_at):
                row = sales[(order.currency, order.pack_id)]
                row[0] += 1
                row[1] += order.amount
                row[2] += min(order.amount_refunded + order.amount_disputed, order.amount)
        firsts: dict[int, object] = {}
        for lot in world.lots.values():
            if kinds[lot.account_id] == "person" and lot.pack_id is not None:
                firsts[lot.account_id] = min(firsts.get(lot.account_id, lot.created_at), lot.created_at)  # type: ignore[type-var]
        ran_out = came_back = 0
        running: dict[int, int] = defaultdict(int)
        first_out: dict[int, int] = {}
        for t in transfers:
            for account, delta in ((t.credit, t.amount), (t.debit, -t.amount)):
                if kinds[account] != "person":
                    continue
                running[account] += delta
                if t.reason == Reason.SPEND and running[account] < cheapest_clip and inside(t.created_at):
                    first_out.setdefault(account, t.id)
        for account, first_id in first_out.items():
            ran_out += 1
            came_back += any(t.debit == account and t.reason == Reason.SPEND and t.id > first_id for t in transfers)
        operations: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for row in world.jobs.values():
            job = row.job
            if job.created_at is not None and inside(job.created_at):
                figures = operations[job.operation]
                figures[0] += 1
                figures[1] += job.state == JobState.SUCCEEDED
                figures[2] += job.state in (JobState.FAILED, JobState.EXPIRED)
                figures[3] += job.cost if job.state == JobState.SUCCEEDED else 0
        return WindowStats(
            by_operation=tuple(OperationStats(name, *operations[name]) for name in sorted(operations)),
            window=window,
            new_persons=sum(1 for made in people.values() if inside(made)),
            generations=len(spends),
            credits_spent=sum(t.amount for t in spends),
            granted_by_reason=dict(sorted(granted.items())),
            sales=tuple(Sales(currency, pack, *row) for (currency, pack), row in sorted(sales.items())),
            first_purchasers=sum(1 for at in firsts.values() if inside(at)),
            free_base=max(
                sum(1 for made in people.values() if made <= window.end)
                - sum(1 for at in firsts.values() if at < window.start),  # type: ignore[operator]
                0,
            ),
            ran_out=ran_out,
            came_back=came_back,
        )
