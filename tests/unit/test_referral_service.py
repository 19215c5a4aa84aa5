"""`ReferralService` on the in-memory stores: recording a referral, the payout on the first
success, the monthly cap, waiting sides, and the payout notices."""

from __future__ import annotations

import datetime as dt

import pytest

from core.domain.identity import Identity
from core.domain.notices import ReferralNotice
from core.domain.rewards import ReferralRefusal
from core.errors import ReferralRefused
from tests.unit.memory_services import Services, services

ANN, BOB = Identity.parse("telegram:1"), Identity.parse("telegram:2")


async def refer(s: Services, referrer: Identity, referred: Identity) -> int:
    code = (await s.referrals.my_code(referrer)).code
    await s.referrals.record_referral(referred, f"ref_{code.lower()}")
    return (await s.wallets.person(referred)).person_id


class RecordingNotices:
    """Notices on the platforms this process reaches (Telegram only)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def reachable(self) -> frozenset[str]:
        return frozenset({"telegram"})

    async def referral_paid(self, identity: str, notice: ReferralNotice) -> None:
        self.sent.append((identity, notice.credits))


async def test_both_sides_are_paid_once_after_the_first_successful_generation():
    s = services()
    bob_id = await refer(s, ANN, BOB)
    payout = await s.referrals.on_success(bob_id)
    assert payout is not None and (payout.referred_credits, payout.referrer_credits) == (10, 10)
    assert await s.referrals.on_success(bob_id) is None  # nothing open any more
    assert (await s.available(ANN), await s.available(BOB)) == (20, 20)
    summary = await s.referrals.my_code(ANN)
    assert (summary.referred, summary.rewarded) == (1, 1)
    assert await s.audit() == []


async def test_a_code_is_made_once_and_read_back():
    s = services()
    first = await s.referrals.my_code(ANN)
    assert (await s.referrals.my_code(ANN)).code == first.code


async def test_the_same_code_again_is_already_done_and_another_referrer_is_refused():
    s = services()
    await refer(s, ANN, BOB)
    code = (await s.referrals.my_code(ANN)).code
    assert (await s.referrals.record_referral(BOB, code)).duplicate
    other = (await s.referrals.my_code(Identity.parse("telegram:3"))).code
    with pytest.raises(ReferralRefused) as refused:
        await s.referrals.record_referral(BOB, other)
    assert refused.value.reason == ReferralRefusal.ALREADY_REFERRED


async def test_nobody_refers_themselves():
    s = services()
    code = (await s.referrals.my_code(ANN)).code
    with pytest.raises(ReferralRefused) as refused:
        await s.referrals.record_referral(ANN, code)
    assert refused.value.reason == ReferralRefusal.SELF


async def test_a_code_after_the_first_generation_comes_too_late():
    s = services()
    code = (await s.referrals.my_code(ANN)).code
    await s.spend(BOB, 2, "j1")
    with pytest.raises(ReferralRefused) as refused:
        await s.referrals.record_referral(BOB, code)
    assert refused.value.reason == ReferralRefusal.TOO_LATE


async def test_the_referrer_is_paid_at_most_the_monthly_cap():
    s = services(referral_monthly_cap=2, max_free_per_day=0)
    paid = []
    for n in range(3):
        friend_id = await refer(s, ANN, Identity.parse(f"telegram:{10 + n}"))
        payout = await s.referrals.on_success(friend_id)
        assert payout is not None
        paid.append((payout.referred_credits, payout.referrer_credits, payout.referrer_state))
    assert paid == [(10, 10, "paid"), (10, 10, "paid"), (10, 0, "capped")]
    s.clock.set(dt.datetime(2026, 4, 1, tzinfo=dt.UTC))  # a new UTC month
    friend_id = await refer(s, ANN, Identity.parse("telegram:20"))
    assert (await s.referrals.on_success(friend_id)).referrer_credits == 10  # type: ignore[union-attr]


async def test_a_side_too_new_waits_and_the_sweep_pays_it_later():
    s = services(new_account_cooldown=dt.timedelta(minutes=30))
    await s.wallets.person(ANN)
    s.clock.advance(hours=1)  # Ann is old enough by now; Bob arrives fresh
    bob_id = await refer(s, ANN, BOB)
    payout = await s.referrals.on_success(bob_id)
    assert payout is not None and (payout.referred_state, payout.referrer_state) == ("wait", "paid")
    assert await s.referrals.pay_due_referrals() == 0
    s.clock.advance(minutes=30)
    assert await s.referrals.pay_due_referrals() == 10
    assert await s.referrals.pay_due_referrals() == 0
    assert (await s.available(ANN), await s.available(BOB)) == (20, 20)
    assert await s.audit() == []


async def test_each_paid_side_is_told_once_on_the_platforms_this_process_reaches():
    telegram = RecordingNotices()
    s = services(referral_notifier=telegram)
    bob_id = await refer(s, ANN, BOB)
    await s.referrals.on_success(bob_id)
    assert sorted(telegram.sent) == [("telegram:1", 10), ("telegram:2", 10)]
    await s.referrals.deliver_notices()
    assert len(telegram.sent) == 2
