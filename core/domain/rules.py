"""The credit rules (PRODUCT.md §3) as plain values built from settings by the composition root,
and the decisions that need nothing but them: the welcome grant, the plan, when free credits
expire. Every amount of credits lives here, once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.domain.identity import Person
from core.domain.ledger import Grant, LotKind, Reason
from core.domain.pricing import PackTable, Pricing

DEFAULT_ACHIEVEMENT_CREDITS: tuple[tuple[str, int], ...] = (
    ("clips_10", 1),
    ("clips_50", 3),
    ("every_style", 1),
    ("streak_7", 1),
)


@dataclass(frozen=True)
class CreditRules:
    pricing: Pricing
    packs: PackTable
    # --- amounts ------------------------------------------------------------------------
    welcome_credits: int = 10  # once per person, on first contact
    daily_credits: int = 1
    share_credits: int = 2
    email_credits: int = 5
    referral_credits: int = 10  # to each side
    # Credits per achievement (`core.domain.progress.Achievement` values), once each; an
    # achievement not named pays nothing.
    achievement_credits: tuple[tuple[str, int], ...] = DEFAULT_ACHIEVEMENT_CREDITS
    streak_bonus_credits: int = 1  # on every `streak_bonus_days`-th day of a streak, free plans
    streak_bonus_days: int = 7
    low_balance_threshold: int = 2
    # --- who may earn what, and how often -------------------------------------------------
    daily_plans: frozenset[str] = frozenset({"free"})  # plans that may claim the daily credit
    max_free_per_day: int = 20  # bonus credits one person may receive a day, all bonuses together; 0 = no limit
    referral_monthly_cap: int = 20  # referrer rewards per referrer per UTC month; 0 = no cap
    referral_window: dt.timedelta = dt.timedelta(days=7)  # a code is accepted this long after first contact
    new_account_cooldown: dt.timedelta = dt.timedelta(0)  # no gifts/referral rewards before this age
    # --- lifetimes ----------------------------------------------------------------------
    hold_ttl: dt.timedelta = dt.timedelta(minutes=20)
    free_credit_ttl: dt.timedelta | None = None  # free credits never expire unless set
    # --- email verification, linking, support ---------------------------------------------
    email_code_ttl: dt.timedelta = dt.timedelta(minutes=15)
    email_max_attempts: int = 5  # wrong codes in a row before the lock
    email_lock: dt.timedelta = dt.timedelta(hours=1)
    email_resend_after: dt.timedelta = dt.timedelta(seconds=60)
    link_code_ttl: dt.timedelta = dt.timedelta(minutes=10)
    support_tickets_per_hour: int = 5
    support_text_max: int = 2000
    operators: frozenset[str] = field(default_factory=frozenset)  # identity keys

    def achievement_amount(self, achievement: str) -> int:
        return dict(self.achievement_credits).get(achievement, 0)

    def is_operator(self, identity: str) -> bool:
        return identity in self.operators

    def free_expiry(self, now: dt.datetime) -> dt.datetime | None:
        """When free credits granted `now` expire (None: never). Every free grant asks here."""
        return None if self.free_credit_ttl is None else now + self.free_credit_ttl


def welcome_grant(person: Person, rules: CreditRules, now: dt.datetime) -> Grant | None:
    """The welcome credits, once: only for a person this very transaction created, keyed by
    the person (`welcome:<person id>`), so no second grant can ever happen."""
    if not person.created or rules.welcome_credits <= 0:
        return None
    return Grant(
        key=f"welcome:{person.person_id}",
        account_id=person.wallet_id,
        amount=rules.welcome_credits,
        reason=Reason.WELCOME,
        lot_kind=LotKind.FREE,
        expires_at=rules.free_expiry(now),
    )


def plan_of(packs_bought: tuple[str, ...], packs: PackTable) -> str:
    """`free` until the first purchase, then the largest pack bought (packs no longer sold are
    not a plan)."""
    known = [pack for pack in packs_bought if pack in packs.ids]
    if not known:
        return "free"
    return max(known, key=packs.rank)
