"""Daily credit and share bonus, plus the anti-abuse check other areas ask (gifts).

Both bonuses are free credits paid at most once per UTC day and only within the person's free
allowance for the day (`CreditRules.max_free_per_day`, all bonuses together); the store applies
what `decide_daily` / `decide_bonus` decide from the person's claims, read in its transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

from core.domain.bonuses import bonus_of, decide_bonus, decide_daily, next_daily_at
from core.domain.identity import Identity
from core.domain.ledger import Balance
from core.domain.offers import Offer, next_utc_midnight
from core.domain.rewards import BonusKind, BonusStatus, cooldown_ends, old_enough
from core.domain.rules import CreditRules
from core.errors import (
    AccountTooNew,
    DailyNotAvailable,
    DailyNotDue,
    FreeCreditLimitReached,
    NotYourClip,
)
from core.ports import BonusStore, Clock, OwnsJob
from core.services.wallets import WalletService


@dataclass(frozen=True)
class DailyClaimed:
    amount: int
    balance: Balance
    next_at: dt.datetime  # when the next daily credit is due (next UTC midnight)
    offer: Offer | None = None  # the packs, when the balance is still low after the claim


@dataclass(frozen=True)
class ShareRewarded:
    """The outcome of a share: `granted` is 0 when today's share bonus was already paid
    (`status` "already") or would pass today's free allowance ("limit"). Sharing itself is
    never refused for those reasons; only a clip that is not the person's own is."""

    granted: int
    balance: Balance
    status: str  # granted | already | limit
    next_at: dt.datetime  # when a share earns a bonus again


class DailySchedule:
    """When a person can next claim the daily credit: now, next UTC midnight, or never (their
    plan does not get it). Offers ask it, so it stands apart from the wallet and rewards
    services that use those offers."""

    def __init__(self, store: BonusStore, rules: CreditRules, clock: Clock) -> None:
        self.store = store
        self.rules = rules
        self.clock = clock

    async def next_for_person(self, person_id: int) -> dt.datetime | None:
        now = self.clock.now()
        return next_daily_at(await self.store.bonus_snapshot(person_id, now=now), now, self.rules)


class RewardService:
    def __init__(
        self,
        store: BonusStore,
        wallets: WalletService,
        rules: CreditRules,
        clock: Clock,
        *,
        owns_job: OwnsJob | None = None,
        schedule: DailySchedule | None = None,
    ) -> None:
        self.store = store
        self.wallets = wallets
        self.rules = rules
        self.clock = clock
        self.owns_job = owns_job  # the jobs area tells whether a job is the person's own clip
        self.schedule = schedule or DailySchedule(store, rules, clock)

    # --- daily credit --------------------------------------------------------------------------

    async def claim_daily(self, identity: Identity) -> DailyClaimed:
        """`/daily`. Raises DailyNotAvailable(plan), DailyNotDue(next_at) or
        FreeCreditLimitReached(limit, next_at). Two claims racing → one grant."""
        await self.wallets.person(identity)
        now = self.clock.now()
        decide = partial(decide_daily, bonus=bonus_of(BonusKind.DAILY, self.rules, now), rules=self.rules)
        result = await self.store.grant_bonus(identity.key, decide, now=now)
        if result.status == BonusStatus.NOT_ELIGIBLE:
            raise DailyNotAvailable(result.plan or "free")
        if result.status == BonusStatus.ALREADY:
            raise DailyNotDue(next_utc_midnight(now))
        if result.status == BonusStatus.LIMIT:
            raise FreeCreditLimitReached(self.rules.max_free_per_day, next_utc_midnight(now))
        offer = await self.wallets.offers.after(result.balance)  # no daily line: `next_at` says it
        return DailyClaimed(result.granted, result.balance, next_utc_midnight(now), offer)

    async def next_daily_at(self, identity: Identity) -> dt.datetime | None:
        """When `identity` can next claim the daily credit: now, next UTC midnight, or None when
        their plan does not get it. For the zero-balance offer."""
        person = await self.wallets.person(identity)
        return await self.schedule.next_for_person(person.person_id)

    # --- share bonus ---------------------------------------------------------------------------

    async def record_share(self, identity: Identity, job_id: str) -> ShareRewarded:
        """Call after the clip was shared (Discord: the Share button posted it; Telegram: the
        chosen inline result). Raises NotYourClip when `job_id` is not this person's clip."""
        person = await self.wallets.person(identity)
        if self.owns_job is None or not await self.owns_job(person.person_id, job_id):
            raise NotYourClip(job_id)
        now = self.clock.now()
        bonus = bonus_of(BonusKind.SHARE, self.rules, now, memo=f"shared {job_id}"[:300])
        result = await self.store.grant_bonus(
            identity.key, partial(decide_bonus, bonus=bonus, rules=self.rules), now=now
        )
        return ShareRewarded(result.granted, result.balance, str(result.status), next_utc_midnight(now))

    # --- anti-abuse, for other areas ----------------------------------------------------------

    async def ensure_can_receive_gift(self, person_id: int) -> None:
        """Raise AccountTooNew(until) for a person created less than NEW_ACCOUNT_COOLDOWN ago.
        The gifts use case calls this before moving credits from a server wallet."""
        created = await self.store.person_created_at(person_id)
        now = self.clock.now()
        if created is not None and not old_enough(created, now, self.rules):
            raise AccountTooNew(cooldown_ends(created, self.rules))
