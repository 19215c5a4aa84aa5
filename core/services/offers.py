"""After any operation that changes a balance: is it low, and what do we offer?

Every chat adapter asks this one service and renders the `Offer` (the conversation's `Offers`,
one button per pack), so all platforms show the same offer in the same words.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from core.clock import SystemClock
from core.domain.ledger import Balance
from core.domain.offers import Offer, daily_due, offer_for
from core.domain.pricing import PackTable
from core.domain.rules import CreditRules
from core.ports import Clock

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
        clock: Clock | None = None,
    ) -> None:
        self.rules = rules
        self.stars_packs = stars_packs.packs if stars_packs is not None else ()
        self.next_daily_at = next_daily_at
        self.clock = clock or SystemClock()  # whether the daily credit can be claimed now

    async def after(self, balance: Balance, person_id: int | None = None) -> Offer | None:
        """The offer to show after an operation left `balance`, or None when it is not low."""
        if balance.available > self.rules.low_balance_threshold:
            return None  # the common case asks nobody anything
        return self.of(balance, await self.next_daily(person_id))

    def of(self, balance: Balance, next_daily_at: dt.datetime | None) -> Offer | None:
        """The same, with the next daily credit already read."""
        return offer_for(balance, self.rules, next_daily_at, stars_packs=self.stars_packs, now=self.clock.now())

    async def next_daily(self, person_id: int | None) -> dt.datetime | None:
        """When the person can next claim the daily credit (None: their plan does not get it, or
        it could not be read: the offer and what it follows matter more than this line)."""
        if self.next_daily_at is None or person_id is None:
            return None
        try:
            return await self.next_daily_at(person_id)
        except Exception:  # noqa: BLE001
            logger.exception("next daily credit of person %s unknown", person_id)
            return None

    def daily_due(self, next_daily_at: dt.datetime | None) -> bool:
        """Whether the daily credit due at `next_daily_at` can be claimed now."""
        return daily_due(next_daily_at, self.clock.now())
