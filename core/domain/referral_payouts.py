"""The referral payout decision: what may be settled of a qualified referral now, from what the
store read about both persons under their wallet locks (`ReferralSnapshot`). Each side is paid
once; the referrer within the monthly cap; a too-new receiver, or one whose free allowance for
today is used up, waits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.domain.bonuses import BonusEffect, bonus_of, paid_bonus
from core.domain.rewards import REFERRAL_SIDES, BonusKind, SideDecision, referral_key, referral_side
from core.domain.rules import CreditRules


@dataclass(frozen=True)
class ReferralParty:
    """One side of a referral, read under both persons' wallet locks."""

    person_id: int  # who they are now (after any account link)
    wallet_id: int
    created_at: dt.datetime
    received_today: int  # bonus credits paid to them today, all bonuses together
    state: str | None  # how their side was settled (`SideDecision` value), None while open
    paid_this_month: int | None = None  # the referrer: their referrals paid this UTC month


@dataclass(frozen=True)
class ReferralSnapshot:
    referred: ReferralParty
    referrer: ReferralParty
    qualified: bool  # the referred person's first generation succeeded (recorded before)
    day: str  # today, UTC


@dataclass(frozen=True)
class SideSettlement:
    """What happens to one open side now. WAIT leaves it open; PAY grants the bonus (`effect`),
    CAPPED settles it without credits."""

    side: str  # referred | referrer
    decision: SideDecision
    effect: BonusEffect | None = None


@dataclass(frozen=True)
class ReferralEffect:
    qualify: bool  # record the qualification now (it was not before)
    sides: tuple[SideSettlement, ...]  # the sides still open, in `REFERRAL_SIDES` order


def decide_referral(
    snapshot: ReferralSnapshot, rules: CreditRules, now: dt.datetime, *, succeeded: bool
) -> ReferralEffect | None:
    """Settle what may be settled of a referral: both sides are paid once a generation of the
    referred person succeeded (`succeeded` says one just did), each side once, the referrer
    within the monthly cap, a too-new receiver or one whose free allowance is used up later.
    None: nothing to settle (not qualified; or a link made both sides one person)."""
    if snapshot.referred.person_id == snapshot.referrer.person_id:
        return None
    if not (snapshot.qualified or succeeded):
        return None
    sides = []
    for side, party in zip(REFERRAL_SIDES, (snapshot.referred, snapshot.referrer), strict=True):
        if party.state is not None:
            continue
        decision = referral_side(
            receiver_created_at=party.created_at,
            received_today=party.received_today,
            paid_this_month=party.paid_this_month,
            now=now,
            rules=rules,
        )
        effect = None
        if decision == SideDecision.PAY:
            bonus = bonus_of(BonusKind.REFERRAL, rules, now, memo=f"referral ({side})")
            key = referral_key(snapshot.referred.person_id, side)
            effect = paid_bonus(party.person_id, party.wallet_id, key, bonus, snapshot.day)
        sides.append(SideSettlement(side, decision, effect))
    return ReferralEffect(qualify=not snapshot.qualified, sides=tuple(sides))
