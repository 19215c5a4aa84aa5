"""`EmailVerificationService` on the in-memory stores: the code, the bonus once per person and
per address, wrong guesses and the lock."""

from __future__ import annotations

import datetime as dt

import pytest

from core.domain.identity import Identity
from core.errors import (
    EmailAlreadyVerified,
    EmailCodeExpired,
    EmailCodeWrong,
    EmailLocked,
    EmailNotSent,
    EmailResendTooSoon,
    EmailTaken,
    FreeCreditLimitReached,
    NoEmailCode,
)
from core.services.email import EmailCodeSent, EmailVerified
from tests.unit.memory_services import START, services

ANN, BOB = Identity.parse("telegram:1"), Identity.parse("telegram:2")


async def test_the_right_code_pays_the_bonus_and_claims_the_address():
    s = services()
    sent = await s.email.verify(ANN, "Ann+bot@Example.org")
    assert isinstance(sent, EmailCodeSent) and sent.expires_at == START + dt.timedelta(minutes=15)
    verified = await s.email.verify(ANN, s.sender.last_code)
    assert isinstance(verified, EmailVerified)
    assert (verified.address, verified.granted, verified.balance.available) == ("Ann+bot@Example.org", 5, 15)
    ann = await s.wallets.person(ANN)
    assert s.stores.world.verified_emails == {"ann@example.org": ann.person_id}
    with pytest.raises(EmailAlreadyVerified):
        await s.email.verify(ANN, "other@example.org")
    assert await s.audit() == []


async def test_an_address_verified_by_someone_else_is_taken():
    s = services()
    await s.email.verify(ANN, "ann@example.org")
    await s.email.verify(ANN, s.sender.last_code)
    with pytest.raises(EmailTaken):
        await s.email.verify(BOB, "ANN@example.org")


async def test_wrong_codes_count_down_then_lock_and_even_the_right_code_waits():
    s = services(email_max_attempts=3)
    await s.email.verify(ANN, "ann@example.org")
    right = s.sender.last_code
    tries = []
    for _ in range(2):
        with pytest.raises(EmailCodeWrong) as wrong:
            await s.email.verify(ANN, "000000")
        tries.append(wrong.value.tries_left)
    assert tries == [2, 1]
    with pytest.raises(EmailLocked) as locked:
        await s.email.verify(ANN, "000000")
    assert locked.value.until == START + dt.timedelta(hours=1)
    with pytest.raises(EmailLocked):
        await s.email.verify(ANN, right)
    with pytest.raises(EmailLocked):
        await s.email.verify(ANN, "ann@example.org")  # no new code during the lock either


async def test_an_old_code_expires_and_a_new_one_waits_for_the_resend_delay():
    s = services()
    await s.email.verify(ANN, "ann@example.org")
    with pytest.raises(EmailResendTooSoon):
        await s.email.verify(ANN, "ann@example.org")
    s.clock.advance(minutes=15)
    with pytest.raises(EmailCodeExpired):
        await s.email.verify(ANN, s.sender.last_code)


async def test_a_failed_send_drops_the_code_and_allows_another_try_at_once():
    s = services()
    s.sender.fail = True
    with pytest.raises(EmailNotSent):
        await s.email.verify(ANN, "ann@example.org")
    with pytest.raises(NoEmailCode):
        await s.email.verify(ANN, "123456")
    s.sender.fail = False
    assert isinstance(await s.email.verify(ANN, "ann@example.org"), EmailCodeSent)


async def test_a_bonus_past_todays_allowance_leaves_the_address_unverified_until_tomorrow():
    s = services(max_free_per_day=5, daily_credits=1, email_credits=5)
    await s.bonuses.claim_daily(ANN)
    await s.email.verify(ANN, "ann@example.org")
    with pytest.raises(FreeCreditLimitReached):
        await s.email.verify(ANN, s.sender.last_code)
    assert s.stores.world.verified_emails == {}
    s.clock.set(dt.datetime(2026, 3, 11, tzinfo=dt.UTC))
    s.clock.advance(minutes=1)
    await s.email.verify(ANN, "ann@example.org")  # the first code expired meanwhile
    assert (await s.email.verify(ANN, s.sender.last_code)).granted == 5  # type: ignore[union-attr]
