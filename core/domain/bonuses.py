"""The bonus decisions: what a daily credit, a share or a verified email pays, decided from
what the store read about the person inside the transaction that pays it (`BonusSnapshot`).
Once per UTC day (daily, share) or once ever (email), whole within today's free allowance, and
the daily credit only for the plans that get it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.domain.ledger import Grant, LotKind, Reason
from core.domain.offers import next_utc_midnight
from core.domain.rewards import (
    Bonus,
    BonusKind,
    BonusStatus,
    daily_key,
    daily_qualifies,
    email_key,
    fits_allowance,
    share_key,
)
from core.domain.rules import CreditRules, plan_of


def bonus_key(kind: BonusKind, person_id: int, day: str) -> str:
    """Daily and share bonuses once per person and day, the email bonus once per person;
    referral bonuses are keyed by their referral (`referral_key`)."""
    if kind == BonusKind.DAILY:
        return daily_key(person_id, day)
    if kind == BonusKind.SHARE:
        return share_key(person_id, day)
    if kind == BonusKind.EMAIL:
        return email_key(person_id)
    raise ValueError(f"{kind} bonuses are keyed by their referral")


_ONCE_A_DAY = frozenset({BonusKind.DAILY, BonusKind.SHARE})


def bonus_amount(kind: BonusKind, rules: CreditRules) -> int:
    if kind == BonusKind.ACHIEVEMENT:
        raise ValueError("achievements pay per achievement: CreditRules.achievement_amount")
    return {
        BonusKind.DAILY: rules.daily_credits,
        BonusKind.SHARE: rules.share_credits,
        BonusKind.EMAIL: rules.email_credits,
        BonusKind.REFERRAL: rules.referral_credits,
        BonusKind.STREAK: rules.streak_bonus_credits,
    }[kind]


def bonus_of(kind: BonusKind, rules: CreditRules, now: dt.datetime, *, memo: str = "") -> Bonus:
    """The bonus of `kind` as the rules set it: its amount, once a day or once ever, and free
    credits expiring as every free credit granted now does."""
    return Bonus(
        kind,
        bonus_amount(kind, rules),
        Reason(kind.value),
        per_day=kind in _ONCE_A_DAY,
        memo=memo,
        expires_at=rules.free_expiry(now),
    )


@dataclass(frozen=True)
class BonusSnapshot:
    """What a bonus decision reads about one person, inside the transaction that pays it and
    under the lock of their wallet (the same lock every movement of that wallet takes)."""

    person_id: int
    wallet_id: int
    day: str  # today, UTC
    received_today: int  # bonus credits paid to them today, all bonuses together
    claimed_today: frozenset[BonusKind]
    claimed_ever: frozenset[BonusKind]
    packs_bought: tuple[str, ...]  # their plan, for the daily credit


@dataclass(frozen=True)
class BonusClaim:
    """The record of a paid bonus: the sums of a person's claims of a day are the free allowance
    used that day. `key` is also the ledger movement's key."""

    key: str
    person_id: int
    kind: BonusKind
    day: str
    amount: int


@dataclass(frozen=True)
class BonusEffect:
    """What a bonus decision does: nothing (`status` says why), or a grant and its claim."""

    status: BonusStatus
    grant: Grant | None = None
    claim: BonusClaim | None = None
    plan: str | None = None  # NOT_ELIGIBLE: the plan that does not get it


def paid_bonus(person_id: int, wallet_id: int, key: str, bonus: Bonus, day: str) -> BonusEffect:
    """Pay `bonus` under `key`: a free lot in the wallet, and its claim."""
    return BonusEffect(
        BonusStatus.GRANTED,
        grant=Grant(
            key=key,
            account_id=wallet_id,
            amount=bonus.amount,
            reason=bonus.reason,
            lot_kind=LotKind.FREE,
            expires_at=bonus.expires_at,
            memo=bonus.memo,
        ),
        claim=BonusClaim(key, person_id, bonus.kind, day, bonus.amount),
    )


def decide_bonus(snapshot: BonusSnapshot, bonus: Bonus, rules: CreditRules) -> BonusEffect:
    """Once per UTC day (daily, share) or once ever (email), and only if it fits today's free
    allowance whole."""
    claimed = snapshot.claimed_today if bonus.per_day else snapshot.claimed_ever
    if bonus.kind in claimed:
        return BonusEffect(BonusStatus.ALREADY)
    if not fits_allowance(snapshot.received_today, bonus.amount, rules):
        return BonusEffect(BonusStatus.LIMIT)
    key = bonus_key(bonus.kind, snapshot.person_id, snapshot.day)
    return paid_bonus(snapshot.person_id, snapshot.wallet_id, key, bonus, snapshot.day)


def decide_daily(snapshot: BonusSnapshot, bonus: Bonus, rules: CreditRules) -> BonusEffect:
    """The daily credit: for the plans that get it (free by default), then as any bonus."""
    plan = plan_of(snapshot.packs_bought, rules.packs)
    if not daily_qualifies(plan, rules):
        return BonusEffect(BonusStatus.NOT_ELIGIBLE, plan=plan)
    return decide_bonus(snapshot, bonus, rules)


def next_daily_at(snapshot: BonusSnapshot, now: dt.datetime, rules: CreditRules) -> dt.datetime | None:
    """When the daily credit can next be claimed: `now`, the next UTC midnight once today's was
    claimed (no rollover: one claim per UTC date), or None when the person's plan does not get
    it. The plan rule is `decide_daily`'s; the allowance is not foreseen (a claim says it)."""
    if not daily_qualifies(plan_of(snapshot.packs_bought, rules.packs), rules):
        return None
    return next_utc_midnight(now) if BonusKind.DAILY in snapshot.claimed_today else now
