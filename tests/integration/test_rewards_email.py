"""Email verification rules on SQLite and PostgreSQL (the mail itself is faked here; see
test_email_smtp.py for the real SMTP server): once per person and per address, expiry,
guessing locked out, resends, races."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from core.codes import ScriptedCodes
from core.errors import (
    EmailAlreadyVerified,
    EmailCodeExpired,
    EmailCodeWrong,
    EmailLocked,
    EmailNotConfigured,
    EmailNotSent,
    EmailResendTooSoon,
    EmailTaken,
    FreeCreditLimitReached,
    InvalidEmail,
    NoEmailCode,
)
from tests.integration.rewards_kit import make_kit


@pytest.fixture
def kit(database):
    return make_kit(database)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_the_right_code_verifies_and_pays_five_once_per_person(kit):
    ann, _ = await kit.person("telegram:1")
    sent = await kit.email.verify(ann, "Ann@Example.org")
    assert kit.sender.sent == [("Ann@Example.org", kit.sender.last_code)]
    assert sent.expires_at == kit.clock.now() + dt.timedelta(minutes=15)
    verified = await kit.email.verify(ann, kit.sender.last_code)
    assert (verified.address, verified.granted, verified.balance.available) == (
        "Ann@Example.org",
        5,
        15,
    )
    with pytest.raises(EmailAlreadyVerified):
        await kit.email.verify(ann, "other@example.org")
    with pytest.raises(EmailAlreadyVerified):
        await kit.email.verify(ann, kit.sender.last_code)
    assert await kit.available(ann) == 15
    assert await kit.audit() == []


async def test_an_address_verified_by_one_person_cannot_earn_for_another(kit):
    ann, _ = await kit.person("telegram:2")
    bob, _ = await kit.person("discord:2")
    await kit.email.start(ann, "ann@example.org")
    await kit.email.confirm(ann, kit.sender.last_code)
    with pytest.raises(EmailTaken):
        await kit.email.start(bob, "ANN+bob@example.org")
    assert len(kit.sender.sent) == 1 and await kit.available(bob) == 10


async def test_two_people_racing_for_one_address_only_the_first_to_confirm_earns(kit):
    ann, _ = await kit.person("telegram:3")
    bob, _ = await kit.person("discord:3")
    await kit.email.start(ann, "shared@example.org")
    ann_code = kit.sender.last_code
    await kit.email.start(bob, "shared@example.org")
    bob_code = kit.sender.last_code
    await kit.email.confirm(ann, ann_code)
    with pytest.raises(EmailTaken):
        await kit.email.confirm(bob, bob_code)
    assert (await kit.available(ann), await kit.available(bob)) == (15, 10)


async def test_codes_expire_after_fifteen_minutes(kit):
    ann, _ = await kit.person("telegram:4")
    await kit.email.start(ann, "ann4@example.org")
    kit.clock.advance(minutes=15)
    with pytest.raises(EmailCodeExpired):
        await kit.email.confirm(ann, kit.sender.last_code)
    assert await kit.available(ann) == 10


async def test_five_wrong_codes_lock_verification_for_an_hour(kit):
    ann, _ = await kit.person("telegram:5")
    await kit.email.start(ann, "ann5@example.org")
    code = kit.sender.last_code
    left = []
    for _ in range(4):
        with pytest.raises(EmailCodeWrong) as refused:
            await kit.email.confirm(ann, wrong(code))
        left.append(refused.value.tries_left)
    assert left == [4, 3, 2, 1]
    with pytest.raises(EmailLocked) as locked:
        await kit.email.confirm(ann, wrong(code))
    until = kit.clock.now() + dt.timedelta(hours=1)
    assert locked.value.until == until
    with pytest.raises(EmailLocked):  # even the right code now
        await kit.email.confirm(ann, code)
    with pytest.raises(EmailLocked):  # and no new code either
        await kit.email.start(ann, "ann5@example.org")
    assert await kit.available(ann) == 10
    kit.clock.set(until)
    await kit.email.start(ann, "ann5@example.org")
    assert (await kit.email.confirm(ann, kit.sender.last_code)).granted == 5


async def test_asking_for_a_new_code_does_not_reset_the_wrong_guesses(kit):
    ann, _ = await kit.person("telegram:6")
    await kit.email.start(ann, "ann6@example.org")
    for _ in range(3):
        with pytest.raises(EmailCodeWrong):
            await kit.email.confirm(ann, wrong(kit.sender.last_code))
    kit.clock.advance(seconds=60)
    await kit.email.start(ann, "ann6@example.org")
    with pytest.raises(EmailCodeWrong) as refused:
        await kit.email.confirm(ann, wrong(kit.sender.last_code))
    assert refused.value.tries_left == 1
    with pytest.raises(EmailLocked):
        await kit.email.confirm(ann, wrong(kit.sender.last_code))


async def test_a_new_code_waits_a_minute_and_replaces_the_old_one(kit):
    ann, _ = await kit.person("telegram:7")
    kit.email.codes = ScriptedCodes(["111111", "999999", "222222"])  # the refused ask draws one too
    await kit.email.start(ann, "ann7@example.org")
    old = kit.sender.last_code
    with pytest.raises(EmailResendTooSoon) as soon:
        await kit.email.start(ann, "ann7@example.org")
    assert soon.value.retry_at == kit.clock.now() + dt.timedelta(seconds=60)
    kit.clock.advance(seconds=60)
    await kit.email.start(ann, "ann7@example.org")
    new = kit.sender.last_code
    assert (old, new) == ("111111", "222222")
    with pytest.raises(EmailCodeWrong):
        await kit.email.confirm(ann, old)
    assert (await kit.email.confirm(ann, new)).granted == 5


async def test_bad_input_gets_a_clear_refusal_and_changes_nothing(kit):
    ann, _ = await kit.person("telegram:8")
    with pytest.raises(InvalidEmail):
        await kit.email.verify(ann, "not-an-address")
    with pytest.raises(NoEmailCode):
        await kit.email.verify(ann, "123456")
    assert kit.sender.sent == [] and await kit.available(ann) == 10
    kit.email.sender = None  # SMTP_HOST unset
    with pytest.raises(EmailNotConfigured):
        await kit.email.verify(ann, "ann8@example.org")


async def test_a_failed_send_drops_the_code_and_allows_a_retry_at_once(kit):
    ann, _ = await kit.person("telegram:9")
    kit.sender.fail = True
    with pytest.raises(EmailNotSent):
        await kit.email.start(ann, "ann9@example.org")
    kit.sender.fail = False
    await kit.email.start(ann, "ann9@example.org")  # no "too soon": nothing reached the person
    assert (await kit.email.confirm(ann, kit.sender.last_code)).granted == 5


async def test_the_right_code_confirmed_twice_at_once_pays_once(kit):
    ann, _ = await kit.person("discord:10")
    await kit.email.start(ann, "ann10@example.org")
    code = kit.sender.last_code
    results = await asyncio.gather(*[kit.email.confirm(ann, code) for _ in range(5)], return_exceptions=True)
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(isinstance(r, EmailAlreadyVerified) for r in results if isinstance(r, BaseException))
    assert await kit.available(ann) == 15
    assert await kit.audit() == []


async def test_a_bonus_past_todays_allowance_grants_nothing_and_leaves_the_address_unclaimed(kit):
    tight = kit.with_rules(max_free_per_day=5, daily_credits=1, email_credits=5)
    ann, _ = await tight.person("telegram:11")
    await tight.bonuses.claim_daily(ann)
    await tight.email.start(ann, "ann11@example.org")
    with pytest.raises(FreeCreditLimitReached):
        await tight.email.confirm(ann, tight.sender.last_code)
    assert await tight.available(ann) == 11
    assert [(e.amount, e.reason) for e in await tight.wallets.history(ann)] == [(1, "daily"), (10, "welcome")]
    bob, _ = await tight.person("discord:11")
    await tight.email.start(bob, "ann11@example.org")  # not taken: anyone may still verify it
    assert [to for to, _ in tight.sender.sent] == ["ann11@example.org", "ann11@example.org"]
    assert await tight.available(bob) == 10

    tight.clock.set(dt.datetime(2026, 3, 11, 0, 1, tzinfo=dt.UTC))  # tomorrow: ann's code expired meanwhile
    await tight.email.start(ann, "ann11@example.org")
    verified = await tight.email.confirm(ann, tight.sender.last_code)
    assert (verified.granted, verified.balance.available) == (5, 16)
    with pytest.raises(EmailTaken):
        await tight.email.start(bob, "ann11@example.org")
    assert await tight.audit() == []
