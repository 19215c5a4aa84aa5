"""The credit rules as pure decisions (core/domain/rules.py, ledger.py, rewards.py, support.py):
what a store asks before it writes, tested without any store."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from core.domain.bonuses import BonusSnapshot, bonus_of, decide_bonus, decide_daily, next_daily_at
from core.domain.identity import Person
from core.domain.ledger import (
    Balance,
    LotKind,
    LotTake,
    LotView,
    Reason,
    expirable_parts,
    may_unfreeze,
    received_kind,
    spend_order,
    spendable_part,
    take_back_amount,
    take_from_lots,
)
from core.domain.merges import LinkParty, decide_merge, link_code_valid
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.referral_payouts import ReferralParty, ReferralSnapshot, decide_referral
from core.domain.rewards import BonusKind, BonusStatus, EmailCodeState, LinkRefusal, SideDecision, attempts_carried_over
from core.domain.rules import CreditRules, plan_of, welcome_grant
from core.domain.support import support_grant, ticket_retry_at
from core.errors import LinkRefused

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
SOON, LATER = NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=9)
PACKS = PackTable((Pack("starter", 100, 500), Pack("pro", 1000, 3500)))
RULES = CreditRules(Pricing({5: 1}), PACKS)


def free(lot_id: int, remaining: int, expires_at: dt.datetime | None = None, order_ref: str | None = None) -> LotView:
    return LotView(lot_id, LotKind.FREE, remaining, expires_at, order_ref)


def paid(lot_id: int, remaining: int, order_ref: str | None = None) -> LotView:
    return LotView(lot_id, LotKind.PAID, remaining, None, order_ref)


# --- prices, welcome, plan, expiry dates -------------------------------------------------------


def test_the_cheapest_clip_is_the_lowest_cost_of_any_length():
    assert Pricing({30: 5, 10: 2, 15: 3}).cheapest == 2
    assert Pricing({}).cheapest == 1


def test_the_welcome_grant_is_for_a_person_just_created_and_keyed_by_them():
    grant = welcome_grant(Person(7, 70, created=True), RULES, NOW)
    assert grant is not None
    assert (grant.key, grant.account_id, grant.amount, grant.reason, grant.lot_kind) == (
        "welcome:7",
        70,
        10,
        Reason.WELCOME,
        LotKind.FREE,
    )
    assert welcome_grant(Person(7, 70, created=False), RULES, NOW) is None
    assert welcome_grant(Person(7, 70, created=True), dataclasses.replace(RULES, welcome_credits=0), NOW) is None


def test_free_credits_expire_only_when_the_rules_give_them_a_lifetime():
    assert RULES.free_expiry(NOW) is None
    month = dataclasses.replace(RULES, free_credit_ttl=dt.timedelta(days=30))
    assert month.free_expiry(NOW) == NOW + dt.timedelta(days=30)
    grant = welcome_grant(Person(1, 2, created=True), month, NOW)
    assert grant is not None and grant.expires_at == NOW + dt.timedelta(days=30)
    assert bonus_of(BonusKind.DAILY, month, NOW).expires_at == NOW + dt.timedelta(days=30)


def test_the_plan_is_free_until_a_purchase_then_the_largest_pack_bought():
    assert plan_of((), PACKS) == "free"
    assert plan_of(("starter",), PACKS) == "starter"
    assert plan_of(("pro", "starter"), PACKS) == "pro"
    assert plan_of(("retired_pack",), PACKS) == "free"


def test_every_bonus_takes_its_amount_from_the_credit_rules():
    rules = dataclasses.replace(
        RULES,
        daily_credits=3,
        share_credits=4,
        email_credits=6,
        referral_credits=8,
        streak_bonus_credits=5,
    )
    amounts = {kind: bonus_of(kind, rules, NOW).amount for kind in BonusKind if kind != BonusKind.ACHIEVEMENT}
    assert amounts == {
        BonusKind.DAILY: 3,
        BonusKind.SHARE: 4,
        BonusKind.EMAIL: 6,
        BonusKind.REFERRAL: 8,
        BonusKind.STREAK: 5,
    }
    assert bonus_of(BonusKind.DAILY, rules, NOW).per_day and bonus_of(BonusKind.SHARE, rules, NOW).per_day
    assert not bonus_of(BonusKind.EMAIL, rules, NOW).per_day


# --- spend order, take-backs, gifts ------------------------------------------------------------


def test_free_credits_are_spent_first_earliest_expiring_first_then_paid_oldest_first():
    lots = [paid(1, 5), free(2, 5), free(3, 5, LATER), paid(4, 5), free(5, 5, SOON), free(6, 0, NOW)]
    assert [lot.lot_id for lot in spend_order(lots)] == [5, 3, 2, 1, 4]


def test_a_spend_takes_whole_lots_in_spend_order_and_part_of_the_last():
    lots = [paid(1, 10), free(2, 3, SOON), free(3, 4)]
    assert take_from_lots(lots, 9) == [
        LotTake(2, LotKind.FREE, 3),
        LotTake(3, LotKind.FREE, 4),
        LotTake(1, LotKind.PAID, 2),
    ]


def test_a_refund_takes_from_the_refunded_purchase_before_anything_else():
    lots = [free(1, 5), paid(2, 10, "ord_a"), paid(3, 10, "ord_b")]
    assert take_from_lots(lots, 12, first_order_ref="ord_b") == [
        LotTake(3, LotKind.PAID, 10),
        LotTake(1, LotKind.FREE, 2),
    ]


def test_a_take_larger_than_the_lots_takes_what_there_is():
    assert take_from_lots([free(1, 2), paid(2, 3)], 9) == [LotTake(1, LotKind.FREE, 2), LotTake(2, LotKind.PAID, 3)]


def test_a_refund_takes_only_unspent_credits_of_that_purchase_and_never_goes_below_zero():
    refund = Reason.REFUND
    assert take_back_amount(refund, target_total=100, already=0, unspent=60, available=80) == 60
    assert take_back_amount(refund, target_total=100, already=0, unspent=60, available=40) == 40
    assert take_back_amount(refund, target_total=100, already=0, unspent=60, available=-5) == 0
    assert take_back_amount(refund, target_total=100, already=100, unspent=60, available=80) == 0


def test_a_dispute_takes_the_whole_target_even_below_zero():
    assert take_back_amount(Reason.DISPUTE, target_total=100, already=30, unspent=0, available=0) == 70


def test_a_gift_is_free_to_whoever_receives_it_and_moved_credits_keep_their_kind():
    assert received_kind(LotKind.PAID, Reason.GIFT) == LotKind.FREE
    assert received_kind(LotKind.PAID, Reason.TRANSFER) == LotKind.PAID


def test_credits_that_pay_off_a_debt_do_not_become_spendable():
    assert spendable_part(10, posted_after=25) == 10
    assert spendable_part(10, posted_after=4) == 4
    assert spendable_part(10, posted_after=-3) == 0


def test_a_wallet_in_debt_cannot_be_cleared():
    assert may_unfreeze(0) and not may_unfreeze(-1)


def test_expiry_follows_the_spend_order_whatever_order_the_lots_come_in():
    lots = [paid(3, 5), free(2, 6, NOW - dt.timedelta(days=1)), free(1, 10, NOW - dt.timedelta(days=2))]
    assert [(p.lot_id, p.amount) for p in expirable_parts(lots, 3, NOW)] == [(1, 7), (2, 6)]


# --- bonuses ----------------------------------------------------------------------------------


def snapshot(**overrides: object) -> BonusSnapshot:
    values: dict[str, object] = dict(
        person_id=4,
        wallet_id=40,
        day="2026-03-10",
        received_today=0,
        claimed_today=frozenset(),
        claimed_ever=frozenset(),
        packs_bought=(),
    )
    values.update(overrides)
    return BonusSnapshot(**values)  # type: ignore[arg-type]


def test_a_bonus_not_yet_claimed_is_granted_with_its_claim_under_one_key():
    effect = decide_bonus(snapshot(), bonus_of(BonusKind.DAILY, RULES, NOW), RULES)
    assert effect.status == BonusStatus.GRANTED and effect.grant is not None and effect.claim is not None
    assert effect.grant.key == effect.claim.key == "daily:4:2026-03-10"
    assert (effect.grant.account_id, effect.grant.amount, effect.grant.lot_kind) == (40, 1, LotKind.FREE)
    assert (effect.claim.person_id, effect.claim.day, effect.claim.amount) == (4, "2026-03-10", 1)


def test_a_daily_bonus_is_paid_once_a_day_and_the_email_bonus_once_ever():
    daily, email = bonus_of(BonusKind.DAILY, RULES, NOW), bonus_of(BonusKind.EMAIL, RULES, NOW)
    claimed_today = snapshot(claimed_today=frozenset({BonusKind.DAILY}), claimed_ever=frozenset({BonusKind.DAILY}))
    assert decide_bonus(claimed_today, daily, RULES).status == BonusStatus.ALREADY
    claimed_yesterday = snapshot(claimed_ever=frozenset({BonusKind.DAILY, BonusKind.EMAIL}))
    assert decide_bonus(claimed_yesterday, daily, RULES).status == BonusStatus.GRANTED
    assert decide_bonus(claimed_yesterday, email, RULES).status == BonusStatus.ALREADY


def test_a_bonus_is_paid_whole_within_todays_free_allowance_or_not_at_all():
    rules = dataclasses.replace(RULES, max_free_per_day=10, share_credits=2)
    share = bonus_of(BonusKind.SHARE, rules, NOW)
    assert decide_bonus(snapshot(received_today=8), share, rules).status == BonusStatus.GRANTED
    assert decide_bonus(snapshot(received_today=9), share, rules).status == BonusStatus.LIMIT


def test_the_daily_credit_is_for_the_plans_that_get_it():
    daily = bonus_of(BonusKind.DAILY, RULES, NOW)
    refused = decide_daily(snapshot(packs_bought=("starter",)), daily, RULES)
    assert (refused.status, refused.plan, refused.grant) == (BonusStatus.NOT_ELIGIBLE, "starter", None)
    generous = dataclasses.replace(RULES, daily_plans=frozenset({"free", "starter"}))
    assert decide_daily(snapshot(packs_bought=("starter",)), daily, generous).status == BonusStatus.GRANTED


def test_the_next_daily_credit_is_now_or_the_next_utc_midnight_without_rollover():
    late = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC)
    assert next_daily_at(snapshot(), late, RULES) == late
    claimed = snapshot(claimed_today=frozenset({BonusKind.DAILY}))
    assert next_daily_at(claimed, late, RULES) == dt.datetime(2026, 3, 11, tzinfo=dt.UTC)
    assert next_daily_at(snapshot(claimed_today=frozenset({BonusKind.SHARE})), late, RULES) == late
    assert next_daily_at(snapshot(packs_bought=("starter",)), late, RULES) is None  # the plan does not get it


# --- referrals --------------------------------------------------------------------------------


def party(person_id: int, **overrides: object) -> ReferralParty:
    values: dict[str, object] = dict(
        person_id=person_id,
        wallet_id=person_id * 10,
        created_at=NOW - dt.timedelta(days=1),
        received_today=0,
        state=None,
        paid_this_month=None,
    )
    values.update(overrides)
    return ReferralParty(**values)  # type: ignore[arg-type]


def referral(referred: ReferralParty, referrer: ReferralParty, qualified: bool = False) -> ReferralSnapshot:
    return ReferralSnapshot(referred, referrer, qualified, "2026-03-10")


def test_a_first_success_qualifies_the_referral_and_pays_both_sides_once():
    effect = decide_referral(referral(party(2), party(1, paid_this_month=0)), RULES, NOW, succeeded=True)
    assert effect is not None and effect.qualify
    assert [(s.side, s.decision) for s in effect.sides] == [
        ("referred", SideDecision.PAY),
        ("referrer", SideDecision.PAY),
    ]
    keys = [s.effect.grant.key for s in effect.sides if s.effect and s.effect.grant]
    assert keys == ["referral:2:referred", "referral:2:referrer"]
    wallets = [s.effect.grant.account_id for s in effect.sides if s.effect and s.effect.grant]
    assert wallets == [20, 10]


def test_nothing_is_settled_before_the_first_success_or_between_one_person():
    assert decide_referral(referral(party(2), party(1)), RULES, NOW, succeeded=False) is None
    assert decide_referral(referral(party(2), party(2)), RULES, NOW, succeeded=True) is None


def test_a_settled_side_is_not_paid_again_and_a_capped_referrer_gets_nothing():
    capped = dataclasses.replace(RULES, referral_monthly_cap=3)
    effect = decide_referral(
        referral(party(2, state="paid"), party(1, paid_this_month=3), qualified=True), capped, NOW, succeeded=False
    )
    assert effect is not None and not effect.qualify
    assert [(s.side, s.decision, s.effect) for s in effect.sides] == [("referrer", SideDecision.CAPPED, None)]


def test_a_too_new_receiver_waits():
    careful = dataclasses.replace(RULES, new_account_cooldown=dt.timedelta(hours=2))
    effect = decide_referral(
        referral(party(2, created_at=NOW - dt.timedelta(hours=1)), party(1, paid_this_month=0)),
        careful,
        NOW,
        succeeded=True,
    )
    assert effect is not None
    assert [(s.side, s.decision) for s in effect.sides] == [
        ("referred", SideDecision.WAIT),
        ("referrer", SideDecision.PAY),
    ]


# --- email, linking, support ------------------------------------------------------------------


def test_wrong_email_attempts_carry_over_to_a_new_code_until_a_lock_ran_out():
    state = EmailCodeState("digest", NOW, failed_attempts=3, locked_until=None, sent_at=NOW)
    assert attempts_carried_over(None) == 0
    assert attempts_carried_over(state) == 3
    assert attempts_carried_over(dataclasses.replace(state, locked_until=NOW)) == 0


def test_a_link_code_works_once_until_it_expires():
    assert link_code_valid(SOON, None, NOW)
    assert not link_code_valid(SOON, NOW, NOW)
    assert not link_code_valid(NOW, None, NOW)


def link_party(person_id: int, days_old: int, *, identities: tuple[str, ...] = (), **balance: int) -> LinkParty:
    values = {"free": 0, "paid": 0, "held": 0, "debt": 0} | balance
    return LinkParty(
        person_id,
        person_id * 10,
        NOW - dt.timedelta(days=days_old),
        identities or (f"console:p{person_id}",),
        Balance(person_id * 10, values["free"], values["paid"], values["held"], False, values["debt"]),
        {LotKind.FREE: values["free"], LotKind.PAID: values["paid"]},
    )


def test_two_persons_merge_into_the_older_and_its_credits_move_by_kind():
    older = link_party(5, days_old=9, identities=("discord:5",))
    newer = link_party(3, days_old=1, identities=("telegram:3",), free=4, paid=20)
    plan = decide_merge(newer, older)
    assert (plan.keep.person_id, plan.gone.person_id) == (5, 3)
    assert [(m.key, m.kind, m.amount) for m in plan.moves] == [
        ("link:3:free", LotKind.FREE, 4),
        ("link:3:paid", LotKind.PAID, 20),
    ]


@pytest.mark.parametrize(
    ("other", "refusal"),
    [
        (link_party(1, days_old=2), LinkRefusal.SAME_PERSON),
        (link_party(2, days_old=2, identities=("discord:9",)), LinkRefusal.PLATFORM_TAKEN),
        (link_party(2, days_old=2, held=1), LinkRefusal.JOBS_RUNNING),
        (link_party(2, days_old=2, debt=1), LinkRefusal.FROZEN),
    ],
)
def test_a_merge_is_refused_for_these_reasons(other, refusal):
    with pytest.raises(LinkRefused) as refused:
        decide_merge(link_party(1, days_old=5, identities=("discord:1",)), other)
    assert refused.value.reason == refusal


def test_the_ticket_limit_counts_the_last_hour_and_says_when_to_try_again():
    rules = dataclasses.replace(RULES, support_tickets_per_hour=2)
    oldest = NOW - dt.timedelta(minutes=40)
    assert ticket_retry_at(1, oldest, NOW, rules) is None
    assert ticket_retry_at(2, oldest, NOW, rules) == oldest + dt.timedelta(hours=1)
    assert ticket_retry_at(99, oldest, NOW, dataclasses.replace(rules, support_tickets_per_hour=0)) is None


def test_an_operators_support_grant_is_free_credit_keyed_by_ticket_and_request():
    grant = support_grant(12, "req-1", "console:op", 5, 70)
    assert (grant.key, grant.account_id, grant.amount, grant.reason, grant.lot_kind, grant.expires_at) == (
        "support:12:req-1",
        70,
        5,
        Reason.OPERATOR,
        LotKind.FREE,
        None,
    )
