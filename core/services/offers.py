"""After any operation that changes a balance: is it low, and what do we offer?

Every chat adapter asks this one service and renders the `Offer` with `Renderer.offer` (and one
button per pack), so all platforms show the same offer in the same words.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from core.domain.ledger import Balance
from core.domain.offers import Offer, offer_for
from core.domain.pricing import PackTable
from core.domain.rules import CreditRules

logger = logging.getLogger(__name__)

# person id → when that person can next claim the daily credit (None: not eligible). Provided
# by the rewards service; without it offers simply leave the daily line out.
NextDaily = Callable[[int], Awaitable[dt.datetime | None]]


class OfferService:
    def __init__(
        self,
        rules: CreditRules,
        *,
        stars_packs: PackTable | None = None,
        next_daily_at: NextDaily | None = None,
    ) -> None:
        self.rules = rules
        self.stars_packs = stars_packs.packs if stars_packs is not None else ()
        self.next_daily_at = next_daily_at

    async def after(self, balance: Balance, person_id: int | None = None) -> Offer | None:
        """The offer to show after an operation left `balance`, or None when it is not low."""
        if balance.available > self.rules.low_balance_threshold:
            return None  # the common case asks nobody anything
        next_daily = None
        if self.next_daily_at is not None and person_id is not None:
            try:
                next_daily = await self.next_daily_at(person_id)
            except Exception:  # noqa: BLE001 - the offer (and what it follows) matters more than this line
                logger.exception("next daily credit of person %s unknown", person_id)
        return offer_for(balance, self.rules, next_daily, stars_packs=self.stars_packs)
