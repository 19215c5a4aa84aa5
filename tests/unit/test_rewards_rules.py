"""The reward rules as pure decisions (core/domain/rewards.py), no database."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from core.domain.pricing import PackTable, Pricing
from core.domain.rewards import (
    CodeCheck,
    EmailCodeState,
    ReferralRefusal,
    SideDecision,
    canonical_email,
    check_email_code,
    clean_code,
    code_digest,
    email_send_refusal,
    fits_allowance,
    month_start,
    next_month_start,
    platforms_clash,
    referral_refusal,
    referral_side,
    stats_windows,
    utc_day,
    valid_email,
)
from core.domain.rules import CreditRules
from core.errors import EmailLocked, EmailResendTooSoon

NOW = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC)
RULES = CreditRules(Pricing({5: 1}), PackTable(()))


def test_days_and_months_are_utc_calendar_ones():
    late_in_new_york = dt.datetime(2026, 3, 10, 22, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert utc_day(late_in_new_york) == "2026-03-11"
    assert month_start(NOW) == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert next_month_start(dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC)) == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def test_a_bonus_fits_the_daily_free_allowance_whole_or_not_at_all():
    rules = dataclasses.replace(RULES, max_free_per_day=10)
    assert fits_allowance(5, 5, rules)
    assert not fits_allowance(6, 5, rules)
    assert fits_allowance(10_000, 5, dataclasses.replace(RULES, max_free_per_day=0))  # 0 = no limit


def refusal(**overrides: object) -> ReferralRefusal | None:
    args: dict[str, object] = dict(
        referred_person_id=2,
        referrer_person_id=1,
        referrer_referred_by=None,
        existing_referrer=None,
        referred_created_at=NOW - dt.timedelta(days=1),
        referred_generations=0,
        now=NOW,
        rules=RULES,
    )
    args.update(overrides)
    return referral_refusal(**args)  # type: ignore[arg-type]


def test_a_fresh_person_with_someone_elses_code_is_accepted():
    assert refusal() is None


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"referrer_person_id": None}, ReferralRefusal.UNKNOWN_CODE),
        ({"referrer_person_id": 2}, ReferralRefusal.SELF),
        ({"existing_referrer": 3}, ReferralRefusal.ALREADY_REFERRED),
        ({"referrer_referred_by": 2}, ReferralRefusal.MUTUAL),
        ({"referred_created_at": NOW - dt.timedelta(days=7, seconds=1)}, ReferralRefusal.TOO_LATE),
        ({"referred_generations": 1}, ReferralRefusal.TOO_LATE),
    ],
)
def test_referrals_are_refused_for_these_reasons(overrides, expected):
    assert refusal(**overrides) == expected


def test_the_same_referrer_again_is_already_done_not_refused():
    assert refusal(existing_referrer=1) is None


def side(**overrides: object) -> SideDecision:
    args: dict[str, object] = dict(
        receiver_created_at=NOW - dt.timedelta(days=1),
        received_today=0,
        paid_this_month=0,
        now=NOW,
        rules=dataclasses.replace(
            RULES,
            referral_monthly_cap=3,
            new_account_cooldown=dt.timedelta(minutes=30),
            max_free_per_day=15,
        ),
    )
    args.update(overrides)
    return referral_side(**args)  # type: ignore[arg-type]


def test_a_referral_side_is_paid_capped_or_waits():
    assert side() == SideDecision.PAY
    assert side(paid_this_month=3) == SideDecision.CAPPED
    assert side(paid_this_month=None) == SideDecision.PAY  # the referred side has no cap
    assert side(receiver_created_at=NOW - dt.timedelta(minutes=29)) == SideDecision.WAIT
    assert side(received_today=6) == SideDecision.WAIT  # 6 + 10 > 15


def state(**overrides: object) -> EmailCodeState:
    args: dict[str, object] = dict(
        code_digest=code_digest("7", "123456"),
        expires_at=NOW + dt.timedelta(minutes=15),
        failed_attempts=0,
        locked_until=None,
        sent_at=NOW,
    )
    args.update(overrides)
    return EmailCodeState(**args)  # type: ignore[arg-type]


def test_the_right_code_passes_and_clears_the_counter():
    verdict = check_email_code(state(failed_attempts=3), code_digest("7", "123456"), NOW, RULES)
    assert (verdict.check, verdict.failed_attempts) == (CodeCheck.OK, 0)


def test_the_fifth_wrong_code_locks_for_an_hour_and_then_even_the_right_code_is_refused():
    wrong = code_digest("7", "000000")
    verdict = check_email_code(state(failed_attempts=3), wrong, NOW, RULES)
    assert (verdict.check, verdict.tries_left, verdict.failed_attempts) == (CodeCheck.WRONG, 1, 4)
    locked = check_email_code(state(failed_attempts=4), wrong, NOW, RULES)
    assert locked.check == CodeCheck.LOCKED and locked.locked_until == NOW + dt.timedelta(hours=1)
    during = check_email_code(state(locked_until=locked.locked_until), code_digest("7", "123456"), NOW, RULES)
    assert during.check == CodeCheck.LOCKED


def test_after_the_lock_runs_out_counting_starts_afresh():
    after = NOW + dt.timedelta(hours=2)
    verdict = check_email_code(
        state(
            failed_attempts=4,
            locked_until=NOW + dt.timedelta(hours=1),
            expires_at=after + dt.timedelta(minutes=5),
        ),
        code_digest("7", "999999"),
        after,
        RULES,
    )
    assert (verdict.check, verdict.failed_attempts) == (CodeCheck.WRONG, 1)


def test_an_expired_or_missing_code_is_told_apart():
    right = code_digest("7", "123456")
    assert check_email_code(state(), right, NOW + dt.timedelta(minutes=15), RULES).check == CodeCheck.EXPIRED
    assert check_email_code(None, right, NOW, RULES).check == CodeCheck.NO_CODE
    assert check_email_code(state(code_digest=None), right, NOW, RULES).check == CodeCheck.NO_CODE


def test_codes_of_two_people_hash_apart():
    assert code_digest("7", "123456") != code_digest("8", "123456")


def test_a_new_code_waits_for_the_resend_delay_and_the_lock():
    too_soon = email_send_refusal(state(), NOW + dt.timedelta(seconds=30), RULES)
    assert isinstance(too_soon, EmailResendTooSoon) and too_soon.retry_at == NOW + dt.timedelta(seconds=60)
    assert email_send_refusal(state(), NOW + dt.timedelta(seconds=60), RULES) is None
    until = NOW + dt.timedelta(hours=1)
    locked = email_send_refusal(state(locked_until=until), NOW, RULES)
    assert isinstance(locked, EmailLocked) and locked.until == until
    assert email_send_refusal(None, NOW, RULES) is None


@pytest.mark.parametrize("address", ["ann@example.org", "a.b+tag@mail.example.co.uk"])
def test_plausible_addresses_pass(address):
    assert valid_email(address)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "ann",
        "ann@",
        "@example.org",
        "ann@example",
        "a..b@example.org",
        "ann@exa mple.org",
        "x" * 250 + "@e.org",
    ],
)
def test_implausible_addresses_are_refused(address):
    assert not valid_email(address)


def test_one_address_in_different_spellings_is_one_address():
    assert canonical_email(" Ann+bot@Example.ORG ") == canonical_email("ann@example.org") == "ann@example.org"


def test_codes_are_read_from_what_people_type():
    assert clean_code(" ref_ab12cd34 ") == "AB12CD34"
    assert clean_code("link_QWERTY78") == "QWERTY78"
    assert clean_code("no spaces!") is None


def test_two_identities_on_one_platform_cannot_be_one_person():
    assert platforms_clash(["discord:1"], ["discord:2"])
    assert not platforms_clash(["discord:1", "console:me"], ["telegram:2"])


def test_stats_windows_are_whole_utc_days_including_today():
    today, week, month = stats_windows(NOW)
    assert today.start == dt.datetime(2026, 3, 10, tzinfo=dt.UTC) and today.end == NOW
    assert week.start == dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    assert month.start == dt.datetime(2026, 2, 9, tzinfo=dt.UTC)
