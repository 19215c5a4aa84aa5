"""Orders and payment events in memory: `PaymentStore`, with the same contracts as SQL.

`apply` records the event under its key (a repeat is `DUPLICATE` and changes nothing), reads the
order as it is now (after any account link), asks `decide` and applies the effect with the
ledger's grant and take-backs, all in one transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from adapters.storage.offers import paid_event
from adapters.storage.payments import MAX_EVENT_DETAIL
from core.domain.orders import Effect, Order, PaymentOutcome, PaymentResult
from tests.fakes.memory.ledger import post_grant, take_back, taken_for_order
from tests.fakes.memory.offers import record_event
from tests.fakes.memory.world import EventRow, World


class FakePaymentStore:
    def __init__(self, world: World) -> None:
        self.world = world

    def _as_now(self, order: Order | None) -> Order | None:
        """A personal order follows its person into the surviving wallet after a link."""
        if order is None:
            return None
        current = self.world.survivor(order.person_id)
        if current == order.person_id or order.wallet_id != self.world.wallet_of(order.person_id):
            return order
        return dataclasses.replace(order, person_id=current, wallet_id=self.world.wallet_of(current))

    async def create_order(self, order: Order) -> Order:
        with self.world.transaction():
            existing = next((o for o in self.world.orders.values() if o.request_key == order.request_key), None)
            if existing is not None:
                return existing
            self.world.orders[order.order_id] = order
            return order

    async def set_checkout(self, order_id: str, session_id: str, url: str, *, now: dt.datetime) -> Order:
        with self.world.transaction():
            order = self.world.orders[order_id]
            if order.stripe_session_id in (None, session_id):
                order = dataclasses.replace(order, stripe_session_id=session_id, checkout_url=url, updated_at=now)
                self.world.orders[order_id] = order
            return order

    async def get_order(self, order_id: str) -> Order | None:
        return self.world.orders.get(order_id)

    async def order_by_payment_intent(self, payment_intent_id: str) -> Order | None:
        return next((o for o in self.world.orders.values() if o.payment_intent_id == payment_intent_id), None)

    async def order_by_telegram_charge(self, charge_id: str) -> Order | None:
        return next((o for o in self.world.orders.values() if o.telegram_charge_id == charge_id), None)

    async def event_seen(self, event_key: str) -> bool:
        return event_key in self.world.events

    async def pre_checkout_facts(self, order_id: str, payer: str) -> tuple[Order | None, int | None, bool]:
        order = self._as_now(self.world.orders.get(order_id))
        person = self.world.find_person(payer)
        frozen = order is not None and self.world.accounts[order.wallet_id].frozen
        return order, None if person is None else person.person_id, frozen

    async def apply(
        self,
        order_id: str | None,
        decide: Callable[[Order | None], Effect],
        *,
        event_key: str | None,
        event_type: str,
        now: dt.datetime,
    ) -> PaymentResult:
        with self.world.transaction():
            if event_key is not None:
                seen = self.world.events.get(event_key)
                if seen is not None:
                    first = self.world.orders.get(seen.order_id) if seen.order_id else None
                    return PaymentResult(PaymentOutcome.DUPLICATE, seen.outcome, first)
                self.world.events[event_key] = EventRow(event_key, order_id)
            order = self._as_now(self.world.orders.get(order_id)) if order_id else None
            effect = decide(order)
            credits, balance, unrecovered = 0, None, None
            if effect.grant is not None:
                granted = post_grant(self.world, effect.grant, now)
                credits, balance = (0 if granted.duplicate else granted.amount), granted.balance
                if order is not None and not granted.duplicate:
                    record_event(self.world, paid_event(order, now))
            for take in effect.take_backs:
                taken = take_back(
                    self.world, take.key, take.account_id, take.order_ref, take.target_total, take.reason, now
                )
                if effect.grant is None:  # a take-back right after a grant is part of the same purchase
                    credits += 0 if taken.duplicate else taken.amount
                balance = taken.balance
                unrecovered = max(0, take.target_total - taken_for_order(self.world, take.account_id, take.order_ref))
            if order is not None and effect.changes_order:
                order = self._update(self.world.orders[order.order_id], effect, now, unrecovered)
            if event_key is not None:
                self.world.events[event_key] = EventRow(
                    event_key, order_id, effect.outcome.value, effect.detail[:MAX_EVENT_DETAIL]
                )
            return PaymentResult(effect.outcome, effect.detail, order, credits, balance)

    def _update(self, order: Order, effect: Effect, now: dt.datetime, unrecovered: int | None) -> Order:
        """Fields the effect gives (None: unchanged); the provider's ids are set once."""
        changed = dataclasses.replace(
            order,
            state=effect.state or order.state,
            stripe_session_id=order.stripe_session_id or effect.session_id,
            payment_intent_id=order.payment_intent_id or effect.payment_intent_id,
            telegram_charge_id=order.telegram_charge_id or effect.telegram_charge_id,
            amount_refunded=order.amount_refunded if effect.amount_refunded is None else effect.amount_refunded,
            amount_disputed=order.amount_disputed if effect.amount_disputed is None else effect.amount_disputed,
            paid_at=order.paid_at or (now if effect.grant is not None else None),
            credits_unrecovered=order.credits_unrecovered if unrecovered is None else unrecovered,
            updated_at=now,
        )
        self.world.orders[order.order_id] = changed
        return changed
