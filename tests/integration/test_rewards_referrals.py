"""Referrals on SQLite and PostgreSQL: recording rules, payout on first success (once, even
under races), the monthly cap, the new-account cooldown and the daily allowance."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

import adapters.storage.referrals
import tests.fakes.memory.referrals
from core.domain.identity import Identity
from core.errors import ReferralRefused
from tests.integration.rewards_kit import make_kit


@pytest.fixture
def kit(database):
    return make_kit(database)


async def refer(kit, referrer_key: str, referred_key: str):
    referrer, referrer_id = await kit.person(referrer_key)
    code = (await kit.referrals.my_code(referrer)).code
    referred, referred_id = await kit.person(referred_key)
    await kit.referrals.record_referral(referred, f"ref_{code.lower()}")
    return referrer, referrer_id, referred, referred_id, code


async def test_both_get_ten_when_the_referred_persons_first_generation_succeeds_and_only_once(kit):
    ann, ann_id, bob, bob_id, code = await refer(kit, "telegram:1", "telegram:2")
    assert await kit.available(bob) == 10  # nothing before the first success
    payout = await kit.referrals.on_success(bob_id)
    assert payout is not None and (payout.referred_credits, payout.referrer_credits) == (10, 10)
    assert (payout.referred_person_id, payout.referrer_person_id, payout.settled) == (
        bob_id,
        ann_id,
        True,
    )
    assert await kit.referrals.on_success(bob_id) is None  # every later success: nothing
    assert (await kit.available(ann), await kit.available(bob)) == (20, 20)
    summary = await kit.referrals.my_code(ann)
    assert (summary.code, summary.referred, summary.rewarded) == (code, 1, 1)
    assert await kit.audit() == []


async def test_concurrent_first_success_calls_pay_each_side_once(kit):
    ann, _, bob, bob_id, _ = await refer(kit, "discord:1", "discord:2")
    payouts = await asyncio.gather(*[kit.referrals.on_success(bob_id) for _ in range(10)])
    paid = [p for p in payouts if p is not None]
    assert sum(p.referred_credits for p in paid) == 10 and sum(p.referrer_credits for p in paid) == 10
    assert (await kit.available(ann), await kit.available(bob)) == (20, 20)
    assert await kit.audit() == []


async def test_a_person_is_referred_once_and_the_same_code_again_is_already_done(kit):
    _, _, bob, _, code = await refer(kit, "telegram:10", "telegram:11")
    again = await kit.referrals.record_referral(bob, code)
    assert again.duplicate
    cat, _ = await kit.person("telegram:12")
    other = (await kit.referrals.my_code(cat)).code
    with pytest.raises(ReferralRefused) as refused:
        await kit.referrals.record_referral(bob, other)
    assert refused.value.reason == "already_referred"


async def test_own_code_and_unknown_codes_are_refused(kit):
    ann, _ = await kit.person("discord:20")
    code = (await kit.referrals.my_code(ann)).code
    with pytest.raises(ReferralRefused) as own:
        await kit.referrals.record_referral(ann, code)
    assert own.value.reason == "self_referral"
    for text in ("ZZZZZZZZ", "not a code!"):
        with pytest.raises(ReferralRefused) as unknown:
            await kit.referrals.record_referral(ann, text)
        assert unknown.value.reason == "unknown_code"


async def test_self_referral_through_a_linked_identity_is_refused(kit):
    discord, _ = await kit.person("discord:30")
    code = (await kit.referrals.my_code(discord)).code
    link = await kit.linking.start(discord)
    telegram = Identity.parse("telegram:30")
    await kit.linking.redeem(telegram, link.code)  # a new identity of the same person
    with pytest.raises(ReferralRefused) as refused:
        await kit.referrals.record_referral(telegram, code)
    assert refused.value.reason == "self_referral"


async def test_a_referral_between_two_accounts_that_are_then_linked_is_cancelled(kit):
    ann, _, bob, bob_id, _ = await refer(kit, "discord:31", "telegram:31")
    link = await kit.linking.start(ann)
    await kit.linking.redeem(bob, link.code)  # bob was ann's alt all along
    assert await kit.referrals.on_success(bob_id) is None
    assert await kit.available(ann) == 20  # two welcomes merged, no referral reward
    assert await kit.audit() == []


async def test_mutual_referral_is_refused(kit):
    ann, _, bob, _, _ = await refer(kit, "telegram:40", "telegram:41")
    bob_code = (await kit.referrals.my_code(bob)).code
    with pytest.raises(ReferralRefused) as refused:
        await kit.referrals.record_referral(ann, bob_code)
    assert refused.value.reason == "mutual_referral"


async def test_codes_are_accepted_only_in_the_first_week_and_before_the_first_clip(kit):
    ann, _ = await kit.person("discord:50")
    code = (await kit.referrals.my_code(ann)).code
    late, _ = await kit.person("discord:51")
    kit.clock.advance(days=7, seconds=1)
    with pytest.raises(ReferralRefused) as too_late:
        await kit.referrals.record_referral(late, code)
    assert too_late.value.reason == "referral_too_late"
    busy, _ = await kit.person("discord:52")
    await kit.spend(busy, 1, "first-clip")
    with pytest.raises(ReferralRefused) as after_clip:
        await kit.referrals.record_referral(busy, code)
    assert after_clip.value.reason == "referral_too_late"


async def test_the_referrer_is_paid_at_most_the_monthly_cap_and_the_referred_still_are(kit):
    capped = kit.with_rules(referral_monthly_cap=2, max_free_per_day=0)
    ann, _ = await capped.person("telegram:60")
    code = (await capped.referrals.my_code(ann)).code
    friends = []
    for n in range(3):
        friend, friend_id = await capped.person(f"telegram:6{n + 1}")
        await capped.referrals.record_referral(friend, code)
        friends.append((friend, friend_id))
    payouts = [await capped.referrals.on_success(fid) for _, fid in friends]
    assert [p.referrer_state for p in payouts] == ["paid", "paid", "capped"]
    assert [p.referred_credits for p in payouts] == [10, 10, 10]
    assert await capped.available(ann) == 30
    # Next month the cap starts again.
    capped.clock.set(dt.datetime(2026, 4, 1, 0, 5, tzinfo=dt.UTC))
    late, late_id = await capped.person("telegram:69")
    await capped.referrals.record_referral(late, code)
    assert (await capped.referrals.on_success(late_id)).referrer_credits == 10
    assert await capped.audit() == []


async def test_a_new_account_waits_for_the_cooldown_then_the_sweep_pays(kit):
    careful = kit.with_rules(new_account_cooldown=dt.timedelta(minutes=30))
    ann, _ = await careful.person("discord:70")
    careful.clock.advance(hours=1)  # ann is old enough; bob is brand new
    code = (await careful.referrals.my_code(ann)).code
    bob, bob_id = await careful.person("discord:71")
    await careful.referrals.record_referral(bob, code)
    payout = await careful.referrals.on_success(bob_id)
    assert (payout.referred_state, payout.referrer_state) == ("wait", "paid")
    assert (payout.referred_credits, payout.referrer_credits) == (0, 10)
    assert await careful.referrals.pay_due_referrals() == 0  # still too new
    careful.clock.advance(minutes=30)
    assert await careful.referrals.pay_due_referrals() == 10
    assert await careful.referrals.pay_due_referrals() == 0
    assert (await careful.available(ann), await careful.available(bob)) == (20, 20)
    assert await careful.audit() == []


async def test_a_referral_reward_waits_for_tomorrow_when_todays_allowance_is_used(kit):
    tight = kit.with_rules(max_free_per_day=10, email_credits=5)
    ann, _, bob, bob_id, _ = await refer(tight, "telegram:80", "telegram:81")
    await tight.email.start(bob, "bob@example.org")
    await tight.email.confirm(bob, tight.sender.last_code)  # bob got 5 free credits today
    payout = await tight.referrals.on_success(bob_id)
    assert (payout.referred_state, payout.referrer_state) == ("wait", "paid")
    tight.clock.set(dt.datetime(2026, 3, 11, 0, 1, tzinfo=dt.UTC))
    assert await tight.referrals.pay_due_referrals() == 10
    assert await tight.available(bob) == 25
    assert await tight.audit() == []


async def test_a_settlement_failing_on_its_second_side_pays_neither_and_a_retry_pays_each_once(kit, monkeypatch):
    ann, _, bob, bob_id, _ = await refer(kit, "telegram:90", "telegram:91")
    sides: list[int] = []

    def failing_on_the_second_side(apply_bonus):
        def apply(*args, **kwargs):
            sides.append(1)
            if len(sides) == 2:
                raise RuntimeError("the store failed paying the second side")
            return apply_bonus(*args, **kwargs)

        return apply

    for store_module in (adapters.storage.referrals, tests.fakes.memory.referrals):  # SQL, or the memory fake
        monkeypatch.setattr(store_module, "apply_bonus", failing_on_the_second_side(store_module.apply_bonus))
    with pytest.raises(RuntimeError):
        await kit.referrals.on_success(bob_id)
    assert len(sides) == 2  # the first side was paid inside the settlement, then it failed
    assert (await kit.available(ann), await kit.available(bob)) == (10, 10)  # and that was undone
    assert await kit.audit() == []

    payout = await kit.referrals.on_success(bob_id)  # called again, it settles the referral once
    assert payout is not None and (payout.referred_credits, payout.referrer_credits) == (10, 10)
    assert await kit.referrals.on_success(bob_id) is None
    assert (await kit.available(ann), await kit.available(bob)) == (20, 20)
    assert await kit.audit() == []
