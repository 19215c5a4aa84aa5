"""Packs bought in a platform's own store: Discord's consumable SKUs, one per pack (setting
DISCORD_SKUS). Discord tells us with an entitlement; each is granted once, keyed by its id, as an
order with channel "discord" in the same orders and payment events as Stripe and Stars (so revenue
by provider includes Discord). A deleted entitlement (a refund) takes the credits back like a
Stripe refund: never below zero, and what was spent stays on the order as unrecovered.

Out of order is fine: a delete that comes first makes the order and notes the refund, and the
grant that follows takes it back at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from core.domain.identity import Identity
from core.domain.orders import (
    Channel,
    Order,
    OrderState,
    PaymentOutcome,
    PaymentResult,
    on_entitlement,
    on_entitlement_deleted,
)
from core.domain.pricing import Pack
from core.ports import Clock, PaymentStore
from core.services.payments import new_order_id
from core.services.wallets import WalletService

logger = logging.getLogger(__name__)


class StorePurchases:
    def __init__(
        self,
        store: PaymentStore,
        wallets: WalletService,
        packs: tuple[Pack, ...],
        skus: Mapping[str, str],
        clock: Clock,
    ) -> None:
        self.store = store
        self.wallets = wallets
        self.clock = clock
        by_id = {pack.pack_id: pack for pack in packs}
        self.skus = {pack_id: sku for pack_id, sku in skus.items() if pack_id in by_id}
        self._packs = {sku: by_id[pack_id] for pack_id, sku in self.skus.items()}

    def pack_for(self, sku_id: str) -> Pack | None:
        return self._packs.get(sku_id)

    async def granted(self, identity: Identity, entitlement_id: str, sku_id: str) -> PaymentResult:
        """An entitlement for a pack's SKU: the pack's credits, once per entitlement id."""
        order = await self._order(identity, entitlement_id, sku_id)
        if order is None:
            return PaymentResult(PaymentOutcome.IGNORED, "unknown_sku")
        result = await self.store.apply(
            order.order_id,
            lambda o: on_entitlement(o, entitlement_id),
            event_key=f"discord:entitlement:{entitlement_id}",
            event_type="entitlement_create",
            now=self.clock.now(),
        )
        logger.info(
            "discord entitlement %s of %s: %s (%d credits)",
            entitlement_id,
            identity.key,
            result.outcome.value,
            result.credits,
        )
        return result

    async def deleted(self, identity: Identity, entitlement_id: str, sku_id: str) -> PaymentResult:
        """Discord deleted the entitlement (a refund): take its credits back (never below zero)."""
        order = await self._order(identity, entitlement_id, sku_id)
        if order is None:
            return PaymentResult(PaymentOutcome.IGNORED, "unknown_sku")
        result = await self.store.apply(
            order.order_id,
            on_entitlement_deleted,
            event_key=f"discord:entitlement_delete:{entitlement_id}",
            event_type="entitlement_delete",
            now=self.clock.now(),
        )
        logger.warning(
            "discord entitlement %s of %s deleted: %d credits taken back", entitlement_id, identity.key, result.credits
        )
        return result

    async def _order(self, identity: Identity, entitlement_id: str, sku_id: str) -> Order | None:
        """The entitlement's order (made by whichever of its events comes first)."""
        pack = self.pack_for(sku_id)
        if pack is None:
            logger.warning("discord entitlement %s is for SKU %s, which sells no pack", entitlement_id, sku_id)
            return None
        person = await self.wallets.person(identity)
        now = self.clock.now()
        return await self.store.create_order(
            Order(
                order_id=new_order_id(),
                request_key=f"discord:entitlement:{entitlement_id}"[:200],
                person_id=person.person_id,
                wallet_id=person.wallet_id,
                identity=identity.key,
                channel=Channel.DISCORD,
                pack_id=pack.pack_id,
                credits=pack.credits,
                amount=pack.price,  # the pack's list price: Discord's share is not known here
                currency=pack.currency,
                state=OrderState.OPEN,
                created_at=now,
                updated_at=now,
            )
        )
