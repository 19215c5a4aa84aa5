"""The reward rules (daily credit, referral, email, share, linking, support): their values,
idempotency keys and the checks a store makes under the person's lock, as pure functions. The
amounts and limits are in `CreditRules`; what a bonus, a referral payout or an account merge
does is decided in `bonuses`, `referral_payouts` and `merges`. The rules live here once and are
unit-tested without a database.

Definitions used throughout:
- a *day* is a UTC calendar date ("2026-03-01"); a *month* is a UTC calendar month;
- a *bonus* is free credits earned by a reward (daily, referral, email, share); welcome credits,
  operator grants, gifts and purchases are not bonuses;
- the *free allowance* is `max_free_per_day`: the most bonus credits one person may receive on
  one day, all rewards together. A bonus either fits whole or is not paid that day (never cut).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from dataclasses import dataclass

from core.domain.ledger import Balance, Outcome, Reason
from core.domain.rules import CreditRules
from core.errors import EmailLocked, EmailResendTooSoon


class BonusKind(enum.StrEnum):
    DAILY = "daily"
    SHARE = "share"
    EMAIL = "email"
    REFERRAL = "referral"
    ACHIEVEMENT = "achievement"
    STREAK = "streak"


# --- what the stores return ------------------------------------------------------------------


@dataclass(frozen=True)
class Bonus:
    """A bonus to pay once per day (`per_day`) or once ever, keyed from its cause."""

    kind: BonusKind
    amount: int
    reason: Reason
    per_day: bool
    memo: str = ""
    expires_at: dt.datetime | None = None  # free credits may expire (`CreditRules.free_expiry`)


class BonusStatus(enum.StrEnum):
    GRANTED = "granted"
    ALREADY = "already"  # paid before (today, or ever for once-only bonuses)
    LIMIT = "limit"  # would exceed today's free allowance: nothing paid
    NOT_ELIGIBLE = "not_eligible"  # the person's plan does not get this bonus (the daily credit)


@dataclass(frozen=True)
class BonusResult:
    status: BonusStatus
    person_id: int
    balance: Balance
    outcome: Outcome | None = None  # the ledger movement when GRANTED
    plan: str | None = None  # NOT_ELIGIBLE: the plan that does not get it

    @property
    def granted(self) -> int:
        return self.outcome.amount if self.outcome is not None and self.status == BonusStatus.GRANTED else 0


@dataclass(frozen=True)
class ReferralRecord:
    refusal: ReferralRefusal | None
    referrer_person_id: int | None = None
    duplicate: bool = False  # the same code was recorded before: already done


@dataclass(frozen=True)
class ReferralSummary:
    code: str
    referred: int  # persons who arrived with this person's code
    rewarded: int  # of them, those whose first generation paid this person


@dataclass(frozen=True)
class ReferralPayout:
    """One settlement attempt of a qualified referral; each side is paid at most once."""

    referred_person_id: int
    referrer_person_id: int
    referred_credits: int  # paid by this call
    referrer_credits: int  # paid by this call
    referred_state: str  # paid | wait (pending: account too new or today's allowance used)
    referrer_state: str  # paid | capped | wait

    @property
    def settled(self) -> bool:
        return self.referred_state != SideDecision.WAIT and self.referrer_state != SideDecision.WAIT


@dataclass(frozen=True)
class EmailStart:
    person_id: int
    expires_at: dt.datetime


@dataclass(frozen=True)
class EmailConfirmation:
    verdict: CodeVerdict
    address: str | None = None  # the verified address when OK
    bonus: BonusResult | None = None


@dataclass(frozen=True)
class LinkCode:
    code: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class LinkResult:
    """Two identities are one person now. `absorbed_person_id` is None when the identity was
    new (it joined without becoming a person of its own, so no welcome credits)."""

    person_id: int
    absorbed_person_id: int | None
    identities: tuple[str, ...]
    balance: Balance
    moved_free: int
    moved_paid: int


# --- days and months -------------------------------------------------------------------------


def utc_day(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).date().isoformat()


def day_start(now: dt.datetime) -> dt.datetime:
    day = now.astimezone(dt.UTC).date()
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def month_start(now: dt.datetime) -> dt.datetime:
    utc = now.astimezone(dt.UTC)
    return dt.datetime(utc.year, utc.month, 1, tzinfo=dt.UTC)


def next_month_start(now: dt.datetime) -> dt.datetime:
    start = month_start(now)
    return dt.datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=dt.UTC)


# --- idempotency keys: one per cause, under the transfers' unique constraint -----------------


def daily_key(person_id: int, day: str) -> str:
    return f"daily:{person_id}:{day}"


def share_key(person_id: int, day: str) -> str:
    return f"share:{person_id}:{day}"


def email_key(person_id: int) -> str:
    return f"email:{person_id}"


REFERRAL_SIDES = ("referred", "referrer")
REFERRAL_KEY_PREFIX = "referral:"


def referral_key(referred_person_id: int, side: str) -> str:
    assert side in REFERRAL_SIDES
    return f"{REFERRAL_KEY_PREFIX}{referred_person_id}:{side}"


def link_key(absorbed_person_id: int, kind: str) -> str:
    return f"link:{absorbed_person_id}:{kind}"


# --- the shared anti-abuse rules -------------------------------------------------------------


def fits_allowance(received_today: int, amount: int, rules: CreditRules) -> bool:
    """Whether a bonus of `amount` may be paid to someone who already got `received_today`."""
    return rules.max_free_per_day <= 0 or received_today + amount <= rules.max_free_per_day


def old_enough(created_at: dt.datetime, now: dt.datetime, rules: CreditRules) -> bool:
    """A person created less than `new_account_cooldown` ago receives no gifts or referral
    rewards (yet)."""
    return now >= created_at + rules.new_account_cooldown


def cooldown_ends(created_at: dt.datetime, rules: CreditRules) -> dt.datetime:
    return created_at + rules.new_account_cooldown


# --- daily credit ----------------------------------------------------------------------------


def daily_qualifies(plan: str, rules: CreditRules) -> bool:
    return rules.daily_credits > 0 and plan in rules.daily_plans


# --- referral --------------------------------------------------------------------------------

REFERRAL_CODE = re.compile(r"^[A-Za-z0-9]{4,16}$")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed by hand


def clean_code(text: str) -> str | None:
    """A referral or link code as typed (`ref_ab12cd34`, ` AB12CD34 `) → `AB12CD34`, or None."""
    code = text.strip().removeprefix("ref_").removeprefix("link_").upper()
    return code if REFERRAL_CODE.match(code) else None


class ReferralRefusal(enum.StrEnum):
    UNKNOWN_CODE = "unknown_code"
    SELF = "self_referral"
    MUTUAL = "mutual_referral"
    ALREADY_REFERRED = "already_referred"
    TOO_LATE = "referral_too_late"


def referral_refusal(
    *,
    referred_person_id: int,
    referrer_person_id: int | None,
    referrer_referred_by: int | None,
    existing_referrer: int | None,
    referred_created_at: dt.datetime,
    referred_generations: int,
    now: dt.datetime,
    rules: CreditRules,
) -> ReferralRefusal | None:
    """Why a referral may not be recorded, or None. The same person through another linked
    identity has the same person id, so it is refused as self-referral."""
    if referrer_person_id is None:
        return ReferralRefusal.UNKNOWN_CODE
    if referrer_person_id == referred_person_id:
        return ReferralRefusal.SELF
    if existing_referrer is not None:
        return None if existing_referrer == referrer_person_id else ReferralRefusal.ALREADY_REFERRED
    if referrer_referred_by == referred_person_id:
        return ReferralRefusal.MUTUAL
    if referred_generations > 0 or now > referred_created_at + rules.referral_window:
        return ReferralRefusal.TOO_LATE
    return None


class SideDecision(enum.StrEnum):
    PAY = "paid"
    CAPPED = "capped"  # settled without credits: the referrer's monthly cap was reached
    WAIT = "wait"  # not yet: account too new or today's free allowance is used up


def referral_side(
    *,
    receiver_created_at: dt.datetime,
    received_today: int,
    paid_this_month: int | None,
    now: dt.datetime,
    rules: CreditRules,
) -> SideDecision:
    """What to do with one side of a qualified referral. `paid_this_month` is given for the
    referrer side only (the monthly cap is per referrer)."""
    if paid_this_month is not None and 0 < rules.referral_monthly_cap <= paid_this_month:
        return SideDecision.CAPPED
    if not old_enough(receiver_created_at, now, rules):
        return SideDecision.WAIT
    if not fits_allowance(received_today, rules.referral_credits, rules):
        return SideDecision.WAIT
    return SideDecision.PAY


# --- email verification ----------------------------------------------------------------------

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")
EMAIL_CODE = re.compile(r"^\d{6}$")


def valid_email(text: str) -> bool:
    address = text.strip()
    return len(address) <= 254 and _EMAIL.match(address) is not None and ".." not in address


def canonical_email(text: str) -> str:
    """The form used for "once per address": lower case, without a `+tag` (so that
    `Ann+1@x.org` and `ann@x.org` are one address)."""
    local, _, domain = text.strip().lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def looks_like_code(text: str) -> bool:
    return EMAIL_CODE.match(text.strip()) is not None


def code_digest(scope: str, code: str) -> str:
    """Codes are stored hashed; `scope` (the person) keeps equal codes of two people apart."""
    return hashlib.sha256(f"{scope}:{code.strip().upper()}".encode()).hexdigest()


@dataclass(frozen=True)
class EmailCodeState:
    """A person's pending verification, as stored."""

    code_digest: str | None
    expires_at: dt.datetime | None
    failed_attempts: int
    locked_until: dt.datetime | None
    sent_at: dt.datetime | None


class CodeCheck(enum.StrEnum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"  # this attempt (or an earlier run of them) locked it
    EXPIRED = "expired"
    NO_CODE = "no_code"


@dataclass(frozen=True)
class CodeVerdict:
    check: CodeCheck
    failed_attempts: int  # to store
    locked_until: dt.datetime | None  # to store
    tries_left: int = 0


def check_email_code(state: EmailCodeState | None, digest: str, now: dt.datetime, rules: CreditRules) -> CodeVerdict:
    """Judge one attempt. Wrong attempts count across codes (a new code does not reset them),
    so guessing is capped at `email_max_attempts` per `email_lock`."""
    if state is None:
        return CodeVerdict(CodeCheck.NO_CODE, 0, None)
    if state.locked_until is not None and now < state.locked_until:
        return CodeVerdict(CodeCheck.LOCKED, state.failed_attempts, state.locked_until)
    attempts = attempts_carried_over(state)  # a lock that ran out starts afresh
    if state.code_digest is None:
        return CodeVerdict(CodeCheck.NO_CODE, attempts, None)
    if state.expires_at is None or now >= state.expires_at:
        return CodeVerdict(CodeCheck.EXPIRED, attempts, None)
    if digest == state.code_digest:
        return CodeVerdict(CodeCheck.OK, 0, None)
    attempts += 1
    if attempts >= rules.email_max_attempts:
        return CodeVerdict(CodeCheck.LOCKED, 0, now + rules.email_lock)
    return CodeVerdict(CodeCheck.WRONG, attempts, None, tries_left=rules.email_max_attempts - attempts)


def attempts_carried_over(state: EmailCodeState | None) -> int:
    """Wrong attempts a new code starts with: they count across codes (so a new code does not
    reset them), but a lock that ran out starts afresh."""
    if state is None or state.locked_until is not None:
        return 0
    return state.failed_attempts


def email_send_refusal(
    state: EmailCodeState | None, now: dt.datetime, rules: CreditRules
) -> EmailLocked | EmailResendTooSoon | None:
    """The error to raise when no new code may be sent now (locked after too many wrong codes,
    or the last one was sent too recently), or None."""
    if state is None:
        return None
    if state.locked_until is not None and now < state.locked_until:
        return EmailLocked(state.locked_until)
    if state.sent_at is not None and now < state.sent_at + rules.email_resend_after:
        return EmailResendTooSoon(state.sent_at + rules.email_resend_after)
    return None


# --- account linking -------------------------------------------------------------------------


class LinkRefusal(enum.StrEnum):
    SAME_PERSON = "already_linked"
    PLATFORM_TAKEN = "platform_taken"  # one identity per platform and person
    JOBS_RUNNING = "jobs_running"  # open holds must resolve first
    FROZEN = "wallet_frozen_link"


def platforms_clash(identities_a: list[str], identities_b: list[str]) -> bool:
    def platforms(keys: list[str]) -> set[str]:
        return {key.split(":", 1)[0] for key in keys}

    return bool(platforms(identities_a) & platforms(identities_b))


# --- stats windows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    name: str  # "today" | "7d" | "30d"
    start: dt.datetime
    end: dt.datetime


def stats_windows(now: dt.datetime) -> tuple[Window, ...]:
    """Today = since 00:00 UTC; 7 and 30 days = that many UTC calendar days, today included."""
    today = day_start(now)
    return (
        Window("today", today, now),
        Window("7d", today - dt.timedelta(days=6), now),
        Window("30d", today - dt.timedelta(days=29), now),
    )
