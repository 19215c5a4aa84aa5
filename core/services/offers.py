"""After any operation that changes a balance: is it low, and what do we offer?

Every chat adapter asks this one service and renders the `Offer` (the conversation's `Offers`,
one button per pack), so all platforms show the same offer in the same words. The packs are the
wallet's (its pricing experiment's arm, else the default), and an offer made is recorded as shown.
The upsell (`upsell`) is asked when a pack is chosen.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from core.clock import SystemClock
from core.domain.experiments import Terms
from core.domain.ledger import Balance
from core.domain.offers import Offer, daily_due, offer_for
from core.domain.pricing import Pack, PackTable
from core.domain.rules import CreditRules
from core.domain.upsell import Upsell, upsell_for
from core.ports import Clock, OfferStore
from core.services.experiments import ExperimentService

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
        experiments: ExperimentService | None = None,
        history: OfferStore | None = None,
        upsell_window: dt.timedelta | None = dt.timedelta(days=30),
    ) -> None:
        self.rules = rules
        self.stars_packs = stars_packs.packs if stars_packs is not None else ()
        self.next_daily_at = next_daily_at
        self.clock = clock or SystemClock()  # whether the daily credit can be claimed now
        self.experiments = experiments
        self.history = history
        self.upsell_window = upsell_window  # None: no upsell

    async def after(self, balance: Balance, person_id: int | None = None) -> Offer | None:
        """The offer to show after an operation left `balance`, or None when it is not low."""
        if balance.available > self.rules.low_balance_threshold:
            return None  # the common case asks nobody anything
        return await self.of(balance, await self.next_daily(person_id))

    async def of(self, balance: Balance, next_daily_at: dt.datetime | None) -> Offer | None:
        """The same, with the next daily credit already read; an offer made is recorded as shown."""
        if balance.available > self.rules.low_balance_threshold:
            return None
        terms = await self.terms(balance.account_id)
        return offer_for(
            balance,
            self.rules,
            next_daily_at,
            packs=terms.packs.packs,
            stars_packs=terms.stars.packs,
            now=self.clock.now(),
        )

    async def terms(self, wallet_id: int) -> Terms:
        """The wallet's packs, recorded as shown to it (the default packs when the experiment
        cannot be read: the offer and what it follows matter more; a purchase reads it again)."""
        default = Terms(self.rules.packs, PackTable(self.stars_packs))
        if self.experiments is None:
            return default
        try:
            return await self.experiments.shown_to(wallet_id)
        except Exception:  # noqa: BLE001
            logger.exception("the pricing experiment of wallet %s unknown", wallet_id)
            return default

    async def upsell(self, person_id: int, wallet_id: int, pack: Pack, table: PackTable) -> Upsell | None:
        """The next pack up to show beside `pack` (sold from `table`), when the buyer bought it
        before or spent more than it holds in the window; None when not (or it cannot be read:
        the sale matters more)."""
        if self.history is None or self.upsell_window is None:
            return None
        since = self.clock.now() - self.upsell_window
        try:
            history = await self.history.buyer_history(person_id, wallet_id, pack.pack_id, since=since)
        except Exception:  # noqa: BLE001
            logger.exception("purchase history of wallet %s unknown", wallet_id)
            return None
        return upsell_for(pack, table, history)

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
