"""Standing orders and automatic charges in memory: `TopUpStore`, with the SQL contract (one
top-up in flight per wallet, a repeated key inserts nothing, a failure pauses and closes)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from core.domain.orders import OrderState
from core.domain.top_ups import (
    AutoState,
    AutoTopUp,
    TopUp,
    TopUpDecision,
    TopUpSnapshot,
    TopUpState,
    Verdict,
    capped_key,
    day_start,
    month_start,
)
from core.ports import TopUpOrder, TopUpRule
from tests.fakes.memory.world import TopUpRow, World

COUNTED = (TopUpState.DUE, TopUpState.CHARGED, TopUpState.SUCCEEDED)


class FakeTopUpStore:
    def __init__(self, world: World) -> None:
        self.world = world

    def _in_flight_row(self, wallet_id: int) -> TopUpRow | None:
        return next((r for r in self.world.top_ups.values() if r.in_flight == wallet_id), None)

    def _end(self, row: TopUpRow, state: TopUpState, failure: str | None, pi: str | None, now: dt.datetime) -> bool:
        if not row.top_up.state.in_flight:
            return False
        row.top_up = dataclasses.replace(
            row.top_up, state=state, failure=failure, payment_intent_id=row.top_up.payment_intent_id or pi
        )
        row.in_flight = None
        return True

    def _close_order(self, order_id: str | None, now: dt.datetime) -> None:
        order = self.world.orders.get(order_id or "")
        if order is not None and order.state == OrderState.OPEN:
            self.world.orders[order.order_id] = dataclasses.replace(order, state=OrderState.CLOSED, updated_at=now)

    def _in_flight(self, wallet_id: int, now: dt.datetime) -> TopUp | None:
        row = self._in_flight_row(wallet_id)
        if row is None or row.top_up.order_id is None:
            return None if row is None else row.top_up
        order = self.world.orders.get(row.top_up.order_id)
        if order is None or order.state == OrderState.OPEN:
            return row.top_up
        self._end(row, TopUpState.SUCCEEDED if order.state.fulfilled else TopUpState.FAILED, None, None, now)
        return None

    async def auto_top_up(self, wallet_id: int) -> AutoTopUp | None:
        return self.world.auto_top_ups.get(wallet_id)

    async def save_auto_top_up(self, auto: AutoTopUp, *, now: dt.datetime) -> bool:
        with self.world.transaction():
            current = self.world.auto_top_ups.get(auto.wallet_id)
            if current is not None and current.setup_pending(now):
                return False
            if self._in_flight(auto.wallet_id, now) is not None:
                return False
            self.world.auto_top_ups[auto.wallet_id] = auto
            return True

    async def turn_off(self, wallet_id: int, *, now: dt.datetime) -> bool:
        with self.world.transaction():
            row = self._in_flight_row(wallet_id)
            if row is not None and row.top_up.state == TopUpState.DUE:
                self._end(row, TopUpState.FAILED, "turned_off", None, now)
                self._close_order(row.top_up.order_id, now)
            return self.world.auto_top_ups.pop(wallet_id, None) is not None

    async def card_saved(
        self, wallet_id: int, customer_id: str, payment_method_id: str, *, now: dt.datetime
    ) -> AutoTopUp | None:
        with self.world.transaction():
            auto = self.world.auto_top_ups.get(wallet_id)
            if auto is None or auto.customer_id != customer_id:
                return None
            auto = dataclasses.replace(
                auto,
                state=AutoState.ON,
                payment_method_id=payment_method_id,
                paused_reason=None,
                setup_order_id=None,
                setup_expires_at=None,
            )
            self.world.auto_top_ups[wallet_id] = auto
            return auto

    async def record_top_up(
        self, wallet_id: int, decide: TopUpRule, order: TopUpOrder, *, now: dt.datetime
    ) -> tuple[TopUpDecision, AutoTopUp | None]:
        with self.world.transaction():
            auto = self.world.auto_top_ups.get(wallet_id)
            if auto is None:
                return TopUpDecision(Verdict.NOTHING, "not_on"), None
            mine = [r.top_up for r in self.world.top_ups.values() if r.top_up.wallet_id == wallet_id]
            snapshot = TopUpSnapshot(
                auto=auto,
                available=self.world.accounts[wallet_id].available,
                in_flight=self._in_flight(wallet_id, now),
                charges_today=sum(1 for t in mine if t.state in COUNTED and t.created_at >= day_start(now)),
                amount_this_month=sum(
                    t.amount for t in mine if t.state in COUNTED and t.created_at >= month_start(now)
                ),
                capped_today=capped_key(wallet_id, now) in self.world.top_ups,
            )
            decision = decide(snapshot)
            top_up = decision.top_up
            if top_up is None or decision.verdict == Verdict.NOTHING:
                return decision, auto
            if top_up.key in self.world.top_ups:
                return TopUpDecision(Verdict.NOTHING, "duplicate"), auto
            if decision.verdict == Verdict.CAPPED:
                self.world.top_ups[top_up.key] = TopUpRow(top_up, None)
                return decision, auto
            made = order(auto, top_up)
            existing = next((o for o in self.world.orders.values() if o.request_key == made.request_key), None)
            if existing is None:
                self.world.orders[made.order_id] = made
            stored = dataclasses.replace(top_up, order_id=(existing or made).order_id)
            self.world.top_ups[top_up.key] = TopUpRow(stored, wallet_id)
            return TopUpDecision(decision.verdict, decision.reason, stored), auto

    async def top_up_charged(self, key: str, payment_intent_id: str, *, now: dt.datetime) -> None:
        with self.world.transaction():
            row = self.world.top_ups.get(key)
            if row is None:
                return
            if row.top_up.state == TopUpState.DUE:
                row.top_up = dataclasses.replace(
                    row.top_up, state=TopUpState.CHARGED, payment_intent_id=payment_intent_id
                )
            order = self.world.orders.get(row.top_up.order_id or "")
            if order is not None and order.payment_intent_id is None:
                self.world.orders[order.order_id] = dataclasses.replace(order, payment_intent_id=payment_intent_id)

    async def top_up_failed(
        self, key: str, failure: str, payment_intent_id: str | None, *, now: dt.datetime
    ) -> AutoTopUp | None:
        with self.world.transaction():
            row = self.world.top_ups.get(key)
            if row is None or not self._end(row, TopUpState.FAILED, failure[:40], payment_intent_id, now):
                return None
            self._close_order(row.top_up.order_id, now)
            auto = self.world.auto_top_ups.get(row.top_up.wallet_id)
            if auto is None:
                return None
            auto = dataclasses.replace(auto, state=AutoState.PAUSED, paused_reason=failure[:40])
            self.world.auto_top_ups[auto.wallet_id] = auto
            return auto

    async def top_up_settled(self, order_id: str, *, now: dt.datetime) -> TopUp | None:
        with self.world.transaction():
            row = next((r for r in self.world.top_ups.values() if r.top_up.order_id == order_id), None)
            if row is None:
                return None
            before = row.top_up
            return before if self._end(row, TopUpState.SUCCEEDED, None, None, now) else None

    async def due_top_ups(self, *, before: dt.datetime, limit: int = 100) -> list[tuple[TopUp, AutoTopUp]]:
        found: list[tuple[TopUp, AutoTopUp]] = []
        for row in self.world.top_ups.values():
            auto = self.world.auto_top_ups.get(row.top_up.wallet_id)
            if row.top_up.state == TopUpState.DUE and row.top_up.created_at < before and auto is not None:
                if auto.customer_id and auto.payment_method_id:
                    found.append((row.top_up, auto))
        return found[:limit]

    async def charged_top_ups(self, *, before: dt.datetime, limit: int = 100) -> list[TopUp]:
        rows = self.world.top_ups.values()
        return [r.top_up for r in rows if r.top_up.state == TopUpState.CHARGED and r.top_up.created_at < before][:limit]
