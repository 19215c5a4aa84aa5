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
    PaymentOutcome,
    PaymentResult,
    on_entitlement,
    on_entitlement_deleted,
    open_order,
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
        return await self._apply(identity, entitlement_id, sku_id, deleted=False)

    async def deleted(self, identity: Identity, entitlement_id: str, sku_id: str) -> PaymentResult:
        """Discord deleted the entitlement (a refund): take its credits back (never below zero)."""
        return await self._apply(identity, entitlement_id, sku_id, deleted=True)

    async def _apply(self, identity: Identity, entitlement_id: str, sku_id: str, *, deleted: bool) -> PaymentResult:
        """The entitlement's order (made by whichever of its events comes first), then the event,
        once per entitlement id and kind."""
        pack = self.pack_for(sku_id)
        if pack is None:
            logger.warning("discord entitlement %s is for SKU %s, which sells no pack", entitlement_id, sku_id)
            return PaymentResult(PaymentOutcome.IGNORED, "unknown_sku")
        person = await self.wallets.person(identity)
        now = self.clock.now()
        order = await self.store.create_order(
            open_order(
                new_order_id(),
                f"discord:entitlement:{entitlement_id}",
                person_id=person.person_id,
                wallet_id=person.wallet_id,
                identity=identity.key,
                channel=Channel.DISCORD,
                pack=pack,  # its list price: Discord's share is not known here
                now=now,
            )
        )
        kind = "entitlement_delete" if deleted else "entitlement_create"
        result = await self.store.apply(
            order.order_id,
            on_entitlement_deleted if deleted else (lambda o: on_entitlement(o, entitlement_id)),
            event_key=f"discord:{kind}:{entitlement_id}",
            event_type=kind,
            now=now,
        )
        logger.info(
            "discord %s %s of %s: %s (%d credits)",
            kind,
            entitlement_id,
            identity.key,
            result.outcome.value,
            result.credits,
        )
        return result
