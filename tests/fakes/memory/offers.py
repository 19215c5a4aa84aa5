"""Pricing experiments and offer events in memory: `OfferStore`, with the same contracts as SQL
(one experiment running at a time, an id used once, one 'paid' event per order)."""

from __future__ import annotations

import datetime as dt

from core.domain.experiments import ArmCounts, Experiment, OfferEvent, OfferEventKind
from core.domain.ledger import Reason
from core.domain.upsell import BuyerHistory
from core.errors import ExperimentRunning, InvalidExperiment
from tests.fakes.memory.world import World


def record_event(world: World, event: OfferEvent) -> None:
    """One offer event; a 'paid' one is skipped when its order has one already."""
    if event.order_id is not None and any(e.order_id == event.order_id for e in world.offer_events):
        return
    world.offer_events.append(event)


class FakeOfferStore:
    def __init__(self, world: World) -> None:
        self.world = world

    def _running(self) -> str | None:
        return next((key for key, (_, _, stopped) in self.world.experiments.items() if stopped is None), None)

    async def start_experiment(self, experiment: Experiment, definition: str) -> None:
        with self.world.transaction():
            if experiment.experiment_id in self.world.experiments:
                raise InvalidExperiment("id_used", experiment.experiment_id)
            running = self._running()
            if running is not None:
                raise ExperimentRunning(running)
            self.world.experiments[experiment.experiment_id] = (definition, experiment.started_at, None)

    async def stop_experiment(self, *, now: dt.datetime) -> str | None:
        with self.world.transaction():
            running = self._running()
            if running is not None:
                definition, started, _ = self.world.experiments[running]
                self.world.experiments[running] = (definition, started, now)
            return running

    async def experiment(self, experiment_id: str | None = None) -> tuple[str, dt.datetime, dt.datetime | None] | None:
        if experiment_id is not None:
            return self.world.experiments.get(experiment_id)
        running = self._running()
        if running is not None:
            return self.world.experiments[running]
        latest = sorted(self.world.experiments.items(), key=lambda item: (item[1][1], item[0]))
        return latest[-1][1] if latest else None

    async def running_definition(self) -> tuple[str, dt.datetime] | None:
        running = self._running()
        if running is None:
            return None
        definition, started, _ = self.world.experiments[running]
        return definition, started

    async def record_event(self, event: OfferEvent) -> None:
        with self.world.transaction():
            record_event(self.world, event)

    async def arm_counts(self, experiment_id: str) -> list[ArmCounts]:
        arms: dict[str, list[OfferEvent]] = {}
        for event in self.world.offer_events:
            if event.experiment_id == experiment_id and event.arm is not None:
                arms.setdefault(event.arm, []).append(event)
        counts = []
        for arm, events in arms.items():
            paid = [e for e in events if e.kind == OfferEventKind.PAID]
            revenue: dict[str, int] = {}
            for e in paid:
                revenue[e.currency or ""] = revenue.get(e.currency or "", 0) + (e.amount or 0)
            counts.append(
                ArmCounts(
                    arm,
                    len({e.wallet_id for e in events}),
                    sum(1 for e in events if e.kind == OfferEventKind.SHOWN),
                    sum(1 for e in events if e.kind == OfferEventKind.CLICKED),
                    len({e.wallet_id for e in paid}),
                    tuple(sorted(revenue.items())),
                )
            )
        return counts

    async def buyer_history(self, person_id: int, wallet_id: int, pack_id: str, *, since: dt.datetime) -> BuyerHistory:
        bought = sum(
            1
            for o in self.world.orders.values()
            if o.person_id == person_id and o.wallet_id == wallet_id and o.pack_id == pack_id and o.paid_at is not None
        )
        spent = sum(
            t.amount
            for t in self.world.transfers.values()
            if t.debit == wallet_id and t.reason == Reason.SPEND and t.created_at >= since
        )
        return BuyerHistory(bought, spent)
