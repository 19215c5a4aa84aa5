"""A referral whose settlement failed at the referred person's first clip, through the real job
runner (its success hook is `ReferralService.on_success`, as bot/bootstrap.py wires
it) on SQLite and PostgreSQL: the failure pays neither side; later the referral must still be
paid, each side once."""

from __future__ import annotations

import adapters.storage.referrals
from core.domain.identity import Identity
from core.domain.jobs import JobState
from tests.integration.jobs_harness import open_stack, wait_for_state, wait_until
from tests.integration.rewards_kit import make_kit


async def test_a_referral_whose_first_success_settlement_failed_is_paid_later_each_side_once(
    database, fake, clock, monkeypatch
):
    kit = make_kit(database, clock=clock)
    ann, _ = await kit.person("telegram:1")
    code = (await kit.referrals.my_code(ann)).code
    bob = Identity("console", "bob")
    await kit.person(bob.key)
    await kit.referrals.record_referral(bob, code)

    sides: list[int] = []
    real_apply_bonus = adapters.storage.referrals.apply_bonus

    def fails_once_on_the_second_side(*args, **kwargs):
        sides.append(1)
        if len(sides) == 2:
            raise RuntimeError("the store failed paying the second side")
        return real_apply_bonus(*args, **kwargs)

    monkeypatch.setattr(adapters.storage.referrals, "apply_bonus", fails_once_on_the_second_side)
    stack = await open_stack(database, fake, clock, on_success=kit.referrals.on_success)
    await stack.service.start()
    try:
        first = await stack.submit(bob, seconds=10)
        await wait_for_state(stack.service, first.job_id, JobState.SUCCEEDED)
        await wait_until(lambda: len(sides) >= 2)  # the hook ran and its settlement failed
        assert (await kit.available(ann), await kit.available(bob)) == (10, 8)  # neither side paid

        second = await stack.submit(bob, seconds=10)  # a later clip
        await wait_for_state(stack.service, second.job_id, JobState.SUCCEEDED)
        await stack.service.runner.wait_idle()  # its hook has run too
        await kit.referrals.pay_due_referrals()  # and the periodic referral sweep
        await kit.referrals.pay_due_referrals()
        assert (await kit.available(ann), await kit.available(bob)) == (20, 16)
        assert await kit.audit() == []
    finally:
        await stack.close()
