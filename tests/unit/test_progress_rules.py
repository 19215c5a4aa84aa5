"""The streak and achievement rules (core/domain/progress.py), without a database."""

from __future__ import annotations

import dataclasses
import datetime as dt

from core.domain.ledger import LotKind, Reason
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.progress import (
    Achievement,
    ProgressSnapshot,
    Streak,
    decide_progress,
    reached,
    streak_of,
)
from core.domain.rewards import BonusKind, utc_day
from core.domain.rules import CreditRules

RULES = CreditRules(
    pricing=Pricing({5: 1}),
    packs=PackTable((Pack("starter", 100, 500),)),
    achievement_credits=tuple((a.value, 2) for a in Achievement),
    streak_bonus_credits=1,
    max_free_per_day=20,
    free_credit_ttl=dt.timedelta(days=30),
)
TODAY = dt.date(2026, 3, 10)
NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
STYLES = frozenset({"piano", "lofi"})


def days_back(*offsets: int) -> frozenset[dt.date]:
    return frozenset(TODAY - dt.timedelta(days=n) for n in offsets)


def snapshot(**changes: object) -> ProgressSnapshot:
    base = ProgressSnapshot(
        person_id=7,
        wallet_id=70,
        today=TODAY,
        clips=0,
        styles_used=frozenset(),
        shared=False,
        referral_paid=False,
        purchased=False,
        active_days=frozenset(),
        earned=frozenset(),
        received_today=0,
        streak_paid_today=False,
        packs_bought=(),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --- the streak ------------------------------------------------------------------------------


def test_a_streak_counts_consecutive_utc_days_up_to_today():
    assert streak_of(days_back(0, 1, 2), TODAY) == Streak(3, active_today=True)
    assert streak_of([], TODAY) == Streak(0, active_today=False)


def test_a_streak_is_not_lost_before_today_is_over():
    assert streak_of(days_back(1, 2, 3), TODAY) == Streak(3, active_today=False)


def test_a_missed_day_resets_the_streak():
    assert streak_of(days_back(0, 2, 3, 4), TODAY).days == 1
    assert streak_of(days_back(2, 3, 4), TODAY).days == 0


def test_claims_at_2359_and_0001_are_two_days():
    late = dt.datetime(2026, 3, 9, 23, 59, tzinfo=dt.UTC)
    early = dt.datetime(2026, 3, 10, 0, 1, tzinfo=dt.UTC)
    days = [dt.date.fromisoformat(utc_day(late)), dt.date.fromisoformat(utc_day(early))]
    assert streak_of(days, TODAY).days == 2
    # The same two minutes seen from another time zone are still the UTC days that count.
    paris = dt.timezone(dt.timedelta(hours=1))
    assert utc_day(late.astimezone(paris)) == "2026-03-09"


def test_the_progress_toward_the_goal_starts_again_after_seven():
    assert [Streak(n, True).toward_goal for n in (0, 1, 7, 8, 14, 15)] == [0, 1, 7, 1, 7, 1]


# --- achievements ----------------------------------------------------------------------------


def test_each_achievement_is_reached_by_its_own_figure():
    assert reached(snapshot(), STYLES) == frozenset()
    assert reached(snapshot(clips=1), STYLES) == {Achievement.FIRST_CLIP}
    assert reached(snapshot(clips=10), STYLES) == {Achievement.FIRST_CLIP, Achievement.CLIPS_10}
    assert Achievement.CLIPS_50 in reached(snapshot(clips=50), STYLES)
    assert Achievement.EVERY_STYLE not in reached(snapshot(styles_used=frozenset({"piano"})), STYLES)
    assert Achievement.EVERY_STYLE in reached(snapshot(styles_used=STYLES | {"retired"}), STYLES)
    assert reached(snapshot(shared=True), STYLES) == {Achievement.FIRST_SHARE}
    assert reached(snapshot(referral_paid=True), STYLES) == {Achievement.FIRST_REFERRAL}
    assert reached(snapshot(purchased=True), STYLES) == {Achievement.FIRST_PURCHASE}
    assert reached(snapshot(active_days=days_back(*range(7))), STYLES) == {Achievement.STREAK_7}
    assert reached(snapshot(active_days=days_back(*range(1, 7))), STYLES) == frozenset()


def test_a_new_achievement_pays_free_credits_keyed_by_person_and_kind():
    (award,) = decide_progress(snapshot(clips=1), STYLES, RULES, NOW)
    assert (award.achievement, award.credits) == (Achievement.FIRST_CLIP, 2)
    assert award.grant is not None and award.claim is not None
    assert award.grant.key == "achievement:7:first_clip" == award.claim.key
    assert (award.grant.account_id, award.grant.reason, award.grant.lot_kind) == (70, Reason.ACHIEVEMENT, LotKind.FREE)
    assert award.grant.expires_at == NOW + dt.timedelta(days=30)  # like every free credit
    assert (award.claim.kind, award.claim.day) == (BonusKind.ACHIEVEMENT, "2026-03-10")


def test_an_achievement_earned_before_is_not_awarded_again():
    assert decide_progress(snapshot(clips=3, earned=frozenset({Achievement.FIRST_CLIP})), STYLES, RULES, NOW) == ()


def test_achievements_beyond_the_daily_allowance_are_earned_without_credits():
    awards = decide_progress(snapshot(clips=10, received_today=17), STYLES, RULES, NOW)
    assert [(a.achievement, a.credits) for a in awards] == [(Achievement.FIRST_CLIP, 2), (Achievement.CLIPS_10, 0)]
    assert awards[1].grant is None


def test_achievements_pay_nothing_when_their_setting_is_zero():
    (award,) = decide_progress(snapshot(clips=1), STYLES, dataclasses.replace(RULES, achievement_credits=()), NOW)
    assert (award.credits, award.grant) == (0, None)
    assert CreditRules(RULES.pricing, RULES.packs).achievement_amount("first_clip") == 0  # by default
    assert CreditRules(RULES.pricing, RULES.packs).achievement_amount("clips_10") == 1


def test_the_seventh_day_of_a_streak_pays_the_streak_bonus_to_free_plans_once():
    week = snapshot(active_days=days_back(*range(7)), earned=frozenset({Achievement.STREAK_7}))
    (bonus,) = decide_progress(week, STYLES, RULES, NOW)
    assert (bonus.achievement, bonus.credits) == (None, 1)
    assert bonus.grant is not None and bonus.grant.key == "streak:7:2026-03-10"
    assert bonus.grant.reason == Reason.STREAK
    assert decide_progress(dataclasses.replace(week, streak_paid_today=True), STYLES, RULES, NOW) == ()
    assert decide_progress(dataclasses.replace(week, packs_bought=("starter",)), STYLES, RULES, NOW) == ()
    six = snapshot(active_days=days_back(*range(6)))
    assert decide_progress(six, STYLES, RULES, NOW) == ()
    not_yet_today = snapshot(active_days=days_back(*range(1, 8)), earned=frozenset({Achievement.STREAK_7}))
    assert decide_progress(not_yet_today, STYLES, RULES, NOW) == ()  # paid on the day itself
    fourteen = snapshot(active_days=days_back(*range(14)), earned=frozenset({Achievement.STREAK_7}))
    assert [a.credits for a in decide_progress(fourteen, STYLES, RULES, NOW)] == [1]
