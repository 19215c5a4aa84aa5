"""Progress people can see: the daily streak and achievements, as pure rules.

- A person is *active* on a UTC day when they claimed the daily credit or had a clip delivered
  that day. Their *streak* is the number of consecutive active UTC days ending today, or ending
  yesterday while today is not over (a streak is not lost before the day is). A missed day
  resets it; 23:59 and 00:01 are two days.
- On every `streak_bonus_days`-th day of a streak (7, 14, ...) a person on a plan that gets the
  daily credit (free by default) earns `streak_bonus_credits`, once per day.
- Achievements are earned once each, for good: the first clip, 10 and 50 clips, every style
  tried, the first share, the first referral that paid, the first purchase, a 7-day streak.
  Each pays what `achievement_credits` names for it (nothing when it names none).
- Both are *bonuses*: free credits that expire as every free credit does and that count against
  the free allowance of the day (`max_free_per_day`, whole or not at all). An achievement whose
  credits do not fit is still earned (and celebrated), without credits.
- Every grant is keyed from its cause (`achievement:<person>:<kind>`, `streak:<person>:<day>`)
  under the ledger's unique key, and an achievement row is unique per (person, kind): earned
  twice, or in two processes at once, it is granted once.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from core.domain.bonuses import BonusClaim
from core.domain.ledger import Grant, LotKind, Reason
from core.domain.rewards import BonusKind, fits_allowance
from core.domain.rules import CreditRules, plan_of

STREAK_GOAL = 7  # the streak the progress bar and the streak achievement count to
CLIP_MILESTONES = (10, 50)


class Achievement(enum.StrEnum):
    FIRST_CLIP = "first_clip"
    CLIPS_10 = "clips_10"
    CLIPS_50 = "clips_50"
    EVERY_STYLE = "every_style"
    FIRST_SHARE = "first_share"
    FIRST_REFERRAL = "first_referral"
    FIRST_PURCHASE = "first_purchase"
    STREAK_7 = "streak_7"


ACHIEVEMENTS = tuple(Achievement)  # in the order /progress lists them


def achievement_key(person_id: int, achievement: Achievement) -> str:
    return f"achievement:{person_id}:{achievement}"


def streak_key(person_id: int, day: str) -> str:
    return f"streak:{person_id}:{day}"


# --- the streak ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Streak:
    days: int  # consecutive active days up to today (or yesterday, while today is open)
    active_today: bool

    @property
    def toward_goal(self) -> int:
        """Where the streak stands in its current run to the goal: 1..7, then 1..7 again."""
        if self.days == 0:
            return 0
        return (self.days - 1) % STREAK_GOAL + 1


def streak_of(active_days: Iterable[dt.date], today: dt.date) -> Streak:
    """The streak from the UTC days a person was active on (any order, repeats allowed)."""
    days = set(active_days)
    active_today = today in days
    day = today if active_today else today - dt.timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= dt.timedelta(days=1)
    return Streak(count, active_today)


# --- what a progress check reads and decides -------------------------------------------------


@dataclass(frozen=True)
class ProgressSnapshot:
    """What the progress rules read about one person, in the transaction that pays (under the
    wallet's lock), or without the lock for showing."""

    person_id: int
    wallet_id: int
    today: dt.date
    clips: int  # delivered clips, ever
    styles_used: frozenset[str]
    shared: bool
    referral_paid: bool  # a person they referred made them earn the referral reward
    purchased: bool
    active_days: frozenset[dt.date]  # recent UTC days with a daily claim or a delivered clip
    earned: frozenset[Achievement]
    received_today: int  # bonus credits received today, all bonuses together
    streak_paid_today: bool
    packs_bought: tuple[str, ...]

    @property
    def streak(self) -> Streak:
        return streak_of(self.active_days, self.today)


@dataclass(frozen=True)
class Award:
    """One newly earned achievement (or a streak bonus, `achievement` None) and what it pays."""

    achievement: Achievement | None
    credits: int  # paid with it: 0 when it pays nothing or did not fit today's allowance
    grant: Grant | None = None
    claim: BonusClaim | None = None


@dataclass(frozen=True)
class ProgressResult:
    """A progress check: the person's figures as read (before the awards), and the awards it
    applied (none when every one was applied before, by this process or another)."""

    snapshot: ProgressSnapshot
    awards: tuple[Award, ...]
    identities: tuple[str, ...] = ()  # where the person can be told

    @property
    def credits(self) -> int:
        return sum(award.credits for award in self.awards)


def reached(snapshot: ProgressSnapshot, all_styles: frozenset[str]) -> frozenset[Achievement]:
    """Every achievement the snapshot's figures reach (earned before or not)."""
    got = set()
    if snapshot.clips >= 1:
        got.add(Achievement.FIRST_CLIP)
    if snapshot.clips >= CLIP_MILESTONES[0]:
        got.add(Achievement.CLIPS_10)
    if snapshot.clips >= CLIP_MILESTONES[1]:
        got.add(Achievement.CLIPS_50)
    if all_styles and all_styles <= snapshot.styles_used:
        got.add(Achievement.EVERY_STYLE)
    if snapshot.shared:
        got.add(Achievement.FIRST_SHARE)
    if snapshot.referral_paid:
        got.add(Achievement.FIRST_REFERRAL)
    if snapshot.purchased:
        got.add(Achievement.FIRST_PURCHASE)
    if snapshot.streak.days >= STREAK_GOAL:
        got.add(Achievement.STREAK_7)
    return frozenset(got)


def _free_grant(
    key: str,
    snapshot: ProgressSnapshot,
    amount: int,
    reason: Reason,
    kind: BonusKind,
    memo: str,
    now: dt.datetime,
    rules: CreditRules,
) -> tuple[Grant, BonusClaim]:
    day = snapshot.today.isoformat()
    grant = Grant(
        key=key,
        account_id=snapshot.wallet_id,
        amount=amount,
        reason=reason,
        lot_kind=LotKind.FREE,
        expires_at=rules.free_expiry(now),
        memo=memo,
    )
    return grant, BonusClaim(key, snapshot.person_id, kind, day, amount)


def decide_progress(
    snapshot: ProgressSnapshot, all_styles: frozenset[str], rules: CreditRules, now: dt.datetime
) -> tuple[Award, ...]:
    """The achievements newly reached (in `ACHIEVEMENTS` order), then the streak bonus when today
    is a bonus day of the streak; each paid whole while it fits today's free allowance."""
    awards: list[Award] = []
    received = snapshot.received_today
    new = reached(snapshot, all_styles) - snapshot.earned
    for achievement in (a for a in ACHIEVEMENTS if a in new):
        amount = rules.achievement_amount(achievement)
        if amount > 0 and fits_allowance(received, amount, rules):
            key = achievement_key(snapshot.person_id, achievement)
            grant, claim = _free_grant(
                key,
                snapshot,
                amount,
                Reason.ACHIEVEMENT,
                BonusKind.ACHIEVEMENT,
                f"achievement {achievement}",
                now,
                rules,
            )
            awards.append(Award(achievement, amount, grant, claim))
            received += amount
        else:
            awards.append(Award(achievement, 0))
    if streak_bonus_due(snapshot, rules) and fits_allowance(received, rules.streak_bonus_credits, rules):
        day = snapshot.today.isoformat()
        grant, claim = _free_grant(
            streak_key(snapshot.person_id, day),
            snapshot,
            rules.streak_bonus_credits,
            Reason.STREAK,
            BonusKind.STREAK,
            f"{snapshot.streak.days}-day streak",
            now,
            rules,
        )
        awards.append(Award(None, rules.streak_bonus_credits, grant, claim))
    return tuple(awards)


def streak_bonus_due(snapshot: ProgressSnapshot, rules: CreditRules) -> bool:
    """Today is active and the streak's `streak_bonus_days`-th day (or a multiple), not yet paid
    today, for a plan that gets the daily credit."""
    streak = snapshot.streak
    every = rules.streak_bonus_days
    return (
        rules.streak_bonus_credits > 0
        and every > 0
        and streak.active_today
        and streak.days % every == 0
        and not snapshot.streak_paid_today
        and plan_of(snapshot.packs_bought, rules.packs) in rules.daily_plans
    )
