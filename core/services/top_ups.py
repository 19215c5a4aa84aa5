"""Automatic top-up: `/autotopup <pack> below <n>`, `/autotopup off`, the charge after a capture
that leaves the wallet below the line, and the webhook side (the saved card, the grant, the
receipt).

The money path keeps the project's rules: the decision and the top-up row (under its unique key)
and its order are one transaction; Stripe is called after it commits, with the row's key as the
idempotency key (a crash before the call leaves the row due, and `sweep` calls again with the
same key); the credits come only from the verified `payment_intent.succeeded` through the
payments' idempotent fulfilment.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from core.domain.identity import Identity
from core.domain.orders import Channel, CheckoutLink, Order, PaymentResult, open_order
from core.domain.payments import CardSaved, IntentSucceeded, OffSessionCharge, PaymentEvent
from core.domain.pricing import Pack
from core.domain.top_ups import (
    AutoState,
    AutoTopUp,
    TopUp,
    TopUpLimits,
    Verdict,
    decide_top_up,
    parse_threshold,
)
from core.errors import TopUpNeedsCard, TopUpPending, TopUpThresholdInvalid, UnknownPack
from core.ports import Clock, SavedCards, TopUpNotifier, TopUpStore
from core.services.payments import PaymentService, new_order_id
from core.services.wallets import WalletService

logger = logging.getLogger(__name__)

RETRY_AFTER = dt.timedelta(minutes=1)  # a due top-up older than this lost its Stripe call
ASK_AFTER = dt.timedelta(minutes=10)  # a charged top-up older than this may have lost its webhook


@dataclass(frozen=True)
class TopUpSetup:
    """What `/autotopup` did: `link` is the first purchase's Checkout (None: the card was
    already saved and only the pack or the line changed)."""

    auto: AutoTopUp
    pack: Pack
    link: CheckoutLink | None


class TopUpService:
    def __init__(
        self,
        store: TopUpStore,
        payments: PaymentService,
        wallets: WalletService,
        clock: Clock,
        limits: TopUpLimits,
        *,
        cards: SavedCards | None = None,
        notifier: TopUpNotifier | None = None,
        new_id: Callable[[], str] = new_order_id,
    ) -> None:
        self.store = store
        self.payments = payments
        self.wallets = wallets
        self.clock = clock
        self.limits = limits
        self.cards = cards
        self.notifier = notifier
        self.new_id = new_id

    @property
    def enabled(self) -> bool:
        return self.cards is not None and self.payments.stripe_enabled

    # --- the person's commands ----------------------------------------------------------------

    async def status(self, identity: Identity) -> AutoTopUp | None:
        found = await self.wallets.store.find_person(identity.key)
        return None if found is None else await self.store.auto_top_up(found.wallet_id)

    async def enable(self, identity: Identity, pack_id: str, threshold: str, *, request_id: str) -> TopUpSetup:
        """Opt in (or change the pack or the line). Everything is checked before anything is
        stored: `UnknownPack`, `TopUpThresholdInvalid`, `TopUpPending`, `TopUpNeedsCard`."""
        cards = self.cards
        if cards is None or not self.payments.stripe_enabled:
            raise TopUpNeedsCard()
        pack = self.payments.rules.packs.get(pack_id)
        line = parse_threshold(threshold, self.limits.max_threshold)
        if line is None:
            raise TopUpThresholdInvalid(threshold.strip()[:20], 1, self.limits.max_threshold)
        person = await self.wallets.person(identity)
        now = self.clock.now()
        current = await self.store.auto_top_up(person.wallet_id)
        if current is not None and current.setup_pending(now):
            raise TopUpPending()
        if current is not None and current.state == AutoState.ON and current.payment_method_id:
            changed = replace(current, pack_id=pack.pack_id, threshold=line, identity=identity.key)
            if not await self.store.save_auto_top_up(changed, now=now):
                raise TopUpPending()
            return TopUpSetup(changed, pack, None)
        customer = current.customer_id if current is not None and current.customer_id else None
        customer = customer or await cards.create_customer(f"wallet:{person.wallet_id}")
        link = await self.payments.buy(
            identity, pack.pack_id, request_id=f"autotopup:{request_id}", save_card_for=customer
        )
        auto = AutoTopUp(
            wallet_id=person.wallet_id,
            person_id=person.person_id,
            identity=identity.key,
            pack_id=pack.pack_id,
            threshold=line,
            state=AutoState.SETUP,
            customer_id=customer,
            setup_order_id=link.order_id,
            setup_expires_at=link.expires_at,
        )
        if not await self.store.save_auto_top_up(auto, now=now):
            raise TopUpPending()
        return TopUpSetup(auto, pack, link)

    async def disable(self, identity: Identity) -> bool:
        """`/autotopup off`: False when it was not on."""
        found = await self.wallets.store.find_person(identity.key)
        return found is not None and await self.store.turn_off(found.wallet_id, now=self.clock.now())

    # --- after a capture ----------------------------------------------------------------------

    async def after_capture(self, wallet_id: int, entry: str) -> Verdict:
        """A capture (the ledger entry `entry`) committed on `wallet_id`: charge the saved card
        if that left the wallet below the line. Called after the commit, never inside it."""
        if not self.enabled:
            return Verdict.NOTHING
        standing = await self.store.auto_top_up(wallet_id)  # a read: most wallets have none
        if standing is None or standing.state != AutoState.ON:
            return Verdict.NOTHING
        now = self.clock.now()
        decision, auto = await self.store.record_top_up(
            wallet_id,
            lambda snapshot: decide_top_up(
                snapshot, self._pack(snapshot.auto.pack_id if snapshot.auto else None), self.limits, entry, now
            ),
            self._order,
            now=now,
        )
        if decision.verdict == Verdict.CHARGE and decision.top_up is not None and auto is not None:
            await self._charge(decision.top_up, auto)
        elif decision.verdict == Verdict.CAPPED and auto is not None:
            logger.info("auto top-up of wallet %s not charged: %s", wallet_id, decision.reason)
            await self._tell(auto.identity, f"top_up_capped.{decision.reason}", self._limit_values())
        return decision.verdict

    async def sweep(self) -> int:
        """Call Stripe for every top-up whose call was lost (same idempotency key: no second
        payment), and ask Stripe about every charge whose webhook is late (a succeeded intent is
        fulfilled as its webhook would be, once). Returns how many top-ups it looked at."""
        cards = self.cards
        if cards is None or not self.enabled:
            return 0
        now = self.clock.now()
        due = await self.store.due_top_ups(before=now - RETRY_AFTER)
        for top_up, auto in due:
            await self._charge(top_up, auto)
        late = await self.store.charged_top_ups(before=now - ASK_AFTER)
        for charged in late:
            if charged.payment_intent_id is None or charged.order_id is None:
                continue
            intent = await cards.payment_intent(charged.payment_intent_id)
            if intent.status == "succeeded":
                found = IntentSucceeded(
                    f"reconcile:{intent.payment_intent_id}",
                    intent.payment_intent_id,
                    charged.order_id,
                    intent.amount,
                    intent.currency,
                )
                await self.handle_stripe_event(found)
            elif intent.status in ("requires_payment_method", "canceled"):
                await self._paused(charged, "card_declined", intent.payment_intent_id)
        return len(due) + len(late)

    async def _charge(self, top_up: TopUp, auto: AutoTopUp) -> None:
        cards = self.cards
        assert cards is not None and top_up.order_id is not None
        assert auto.customer_id is not None and auto.payment_method_id is not None
        charge = OffSessionCharge(
            order_id=top_up.order_id,
            pack_id=top_up.pack_id,
            customer_id=auto.customer_id,
            payment_method_id=auto.payment_method_id,
            amount_cents=top_up.amount,
            currency=top_up.currency,
            idempotency_key=top_up.key,
        )
        try:
            result = await cards.charge_saved_card(charge)
        except Exception:  # noqa: BLE001 - the row stays due; the sweep calls again, same key
            logger.exception("auto top-up %s: stripe call failed; will retry", top_up.key)
            return
        if result.failure is None and result.payment_intent_id is not None:
            await self.store.top_up_charged(top_up.key, result.payment_intent_id, now=self.clock.now())
            logger.info("auto top-up %s charged (%s)", top_up.key, result.payment_intent_id)
            return
        await self._paused(top_up, result.failure or "card_declined", result.payment_intent_id)

    async def _paused(self, top_up: TopUp, failure: str, payment_intent_id: str | None) -> None:
        """The charge failed: pause, and send a Checkout link that buys the pack and saves a card."""
        paused = await self.store.top_up_failed(top_up.key, failure, payment_intent_id, now=self.clock.now())
        logger.warning("auto top-up %s failed (%s): paused", top_up.key, failure)
        if paused is None:
            return
        values = self._pack_values(top_up.pack_id)
        try:
            link = await self.payments.buy(
                Identity.parse(paused.identity),
                top_up.pack_id,
                request_id=f"autotopup-resume:{top_up.key}",
                save_card_for=paused.customer_id,
            )
            values["url"] = link.url
        except Exception:  # noqa: BLE001 - the pause stands; the message says how to resume
            logger.exception("auto top-up %s: no checkout link for the pause", top_up.key)
            values["url"] = ""
        reason = "authentication_required" if failure == "authentication_required" else "card_declined"
        await self._tell(paused.identity, f"top_up_paused.{reason}", values)

    # --- the webhook side ---------------------------------------------------------------------

    async def handle_stripe_event(self, event: PaymentEvent) -> PaymentResult:
        """Every verified Stripe event passes here: the payments apply it (once); a saved card
        turns the standing order on; a top-up's payment, once granted, settles it with a receipt."""
        now = self.clock.now()
        if isinstance(event, CardSaved):  # idempotent: the same card on the same Customer
            order = await self.payments.store.get_order(event.order_id)
            if order is not None:
                await self.store.card_saved(order.wallet_id, event.customer_id, event.payment_method_id, now=now)
        result = await self.payments.handle_stripe_event(event)
        if isinstance(event, IntentSucceeded) and result.order is not None and result.order.state.fulfilled:
            settled = await self.store.top_up_settled(result.order.order_id, now=now)
            if settled is not None:
                values = self._pack_values(settled.pack_id)
                values["available"] = max(result.balance.available, 0) if result.balance is not None else 0
                await self._tell(result.order.identity, "top_up_receipt", values)
        return result

    # --- helpers ------------------------------------------------------------------------------

    def _pack(self, pack_id: str | None) -> Pack | None:
        if pack_id is None:
            return None
        try:
            return self.payments.rules.packs.get(pack_id)
        except UnknownPack:
            return None

    def _order(self, auto: AutoTopUp, top_up: TopUp) -> Order:
        return open_order(
            self.new_id(),
            f"auto:{top_up.key}",
            person_id=auto.person_id,
            wallet_id=auto.wallet_id,
            identity=auto.identity,
            channel=Channel.STRIPE,
            pack=self.payments.rules.packs.get(top_up.pack_id),
            now=self.clock.now(),
        )

    def _pack_values(self, pack_id: str) -> dict[str, object]:
        pack = self._pack(pack_id)
        if pack is None:
            return {"title": pack_id.capitalize(), "credits": "", "amount": 0, "currency": "usd"}
        return {"title": pack.title, "credits": f"{pack.credits:,}", "amount": pack.price, "currency": pack.currency}

    def _limit_values(self) -> dict[str, object]:
        return {"per_day": self.limits.per_day, "per_month": self.limits.per_month, "currency": "usd"}

    async def _tell(self, identity: str, key: str, values: dict[str, object]) -> None:
        if self.notifier is None:
            return
        try:
            await self.notifier.top_up_notice(identity, key, values)
        except Exception:  # noqa: BLE001 - a message never undoes a payment
            logger.exception("auto top-up notice %s to %s failed", key, identity)
