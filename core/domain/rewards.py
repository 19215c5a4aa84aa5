"""The reward rules (daily credit, referral, email, share, linking, support) as pure decisions.
The amounts and limits are in `CreditRules`. A store reads a snapshot inside its transaction,
under the person's lock, asks a function here what to do and applies the answer in the same
transaction, so the rules live here once and are unit-tested without a database.

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

from core.domain.ledger import Balance, Grant, LotKind, Outcome, Reason
from core.domain.offers import next_utc_midnight
from core.domain.rules import CreditRules, plan_of
from core.errors import LinkRefused


class BonusKind(enum.StrEnum):
    DAILY = "daily"
    SHARE = "share"
    EMAIL = "email"
    REFERRAL = "referral"


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


def bonus_key(kind: BonusKind, person_id: int, day: str) -> str:
    """Daily and share bonuses once per person and day, the email bonus once per person;
    referral bonuses are keyed by their referral (`referral_key`)."""
    if kind == BonusKind.DAILY:
        return daily_key(person_id, day)
    if kind == BonusKind.SHARE:
        return share_key(person_id, day)
    if kind == BonusKind.EMAIL:
        return email_key(person_id)
    raise ValueError(f"{kind} bonuses are keyed by their referral")


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


# --- bonuses: daily credit, share, email ----------------------------------------------------

_ONCE_A_DAY = frozenset({BonusKind.DAILY, BonusKind.SHARE})


def bonus_amount(kind: BonusKind, rules: CreditRules) -> int:
    return {
        BonusKind.DAILY: rules.daily_credits,
        BonusKind.SHARE: rules.share_credits,
        BonusKind.EMAIL: rules.email_credits,
        BonusKind.REFERRAL: rules.referral_credits,
    }[kind]


def bonus_of(kind: BonusKind, rules: CreditRules, now: dt.datetime, *, memo: str = "") -> Bonus:
    """The bonus of `kind` as the rules set it: its amount, once a day or once ever, and free
    credits expiring as every free credit granted now does."""
    return Bonus(
        kind,
        bonus_amount(kind, rules),
        Reason(kind.value),
        per_day=kind in _ONCE_A_DAY,
        memo=memo,
        expires_at=rules.free_expiry(now),
    )


@dataclass(frozen=True)
class BonusSnapshot:
    """What a bonus decision reads about one person, inside the transaction that pays it and
    under the lock of their wallet (the same lock every movement of that wallet takes)."""

    person_id: int
    wallet_id: int
    day: str  # today, UTC
    received_today: int  # bonus credits paid to them today, all bonuses together
    claimed_today: frozenset[BonusKind]
    claimed_ever: frozenset[BonusKind]
    packs_bought: tuple[str, ...]  # their plan, for the daily credit


@dataclass(frozen=True)
class BonusClaim:
    """The record of a paid bonus: the sums of a person's claims of a day are the free allowance
    used that day. `key` is also the ledger movement's key."""

    key: str
    person_id: int
    kind: BonusKind
    day: str
    amount: int


@dataclass(frozen=True)
class BonusEffect:
    """What a bonus decision does: nothing (`status` says why), or a grant and its claim."""

    status: BonusStatus
    grant: Grant | None = None
    claim: BonusClaim | None = None
    plan: str | None = None  # NOT_ELIGIBLE: the plan that does not get it


def paid_bonus(person_id: int, wallet_id: int, key: str, bonus: Bonus, day: str) -> BonusEffect:
    """Pay `bonus` under `key`: a free lot in the wallet, and its claim."""
    return BonusEffect(
        BonusStatus.GRANTED,
        grant=Grant(
            key=key,
            account_id=wallet_id,
            amount=bonus.amount,
            reason=bonus.reason,
            lot_kind=LotKind.FREE,
            expires_at=bonus.expires_at,
            memo=bonus.memo,
        ),
        claim=BonusClaim(key, person_id, bonus.kind, day, bonus.amount),
    )


def decide_bonus(snapshot: BonusSnapshot, bonus: Bonus, rules: CreditRules) -> BonusEffect:
    """Once per UTC day (daily, share) or once ever (email), and only if it fits today's free
    allowance whole."""
    claimed = snapshot.claimed_today if bonus.per_day else snapshot.claimed_ever
    if bonus.kind in claimed:
        return BonusEffect(BonusStatus.ALREADY)
    if not fits_allowance(snapshot.received_today, bonus.amount, rules):
        return BonusEffect(BonusStatus.LIMIT)
    key = bonus_key(bonus.kind, snapshot.person_id, snapshot.day)
    return paid_bonus(snapshot.person_id, snapshot.wallet_id, key, bonus, snapshot.day)


def decide_daily(snapshot: BonusSnapshot, bonus: Bonus, rules: CreditRules) -> BonusEffect:
    """The daily credit: for the plans that get it (free by default), then as any bonus."""
    plan = plan_of(snapshot.packs_bought, rules.packs)
    if not daily_qualifies(plan, rules):
        return BonusEffect(BonusStatus.NOT_ELIGIBLE, plan=plan)
    return decide_bonus(snapshot, bonus, rules)


# --- daily credit ----------------------------------------------------------------------------


def daily_qualifies(plan: str, rules: CreditRules) -> bool:
    return rules.daily_credits > 0 and plan in rules.daily_plans


def next_daily_at(claimed_today: bool, now: dt.datetime) -> dt.datetime:
    """No rollover: one claim per UTC date, so the next one is due at midnight UTC (or now)."""
    return next_utc_midnight(now) if claimed_today else now


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
    snapshot: ReferralSnapshot, rules: CreditRules, now: dt.datetime, *, first_success: bool
) -> ReferralEffect | None:
    """Settle what may be settled of a referral: both sides are paid once the referred person's
    first generation succeeded (`first_success` says it just did), each side once, the referrer
    within the monthly cap, a too-new receiver or one whose free allowance is used up later.
    None: nothing to settle (not qualified; or a link made both sides one person)."""
    if snapshot.referred.person_id == snapshot.referrer.person_id:
        return None
    if not (snapshot.qualified or first_success):
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
    attempts = 0 if state.locked_until is not None else state.failed_attempts  # a lock that ran out starts afresh
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
) -> tuple[str, dt.datetime] | None:
    """("locked", until) or ("too_soon", retry_at) when no new code may be sent now."""
    if state is None:
        return None
    if state.locked_until is not None and now < state.locked_until:
        return ("locked", state.locked_until)
    if state.sent_at is not None and now < state.sent_at + rules.email_resend_after:
        return ("too_soon", state.sent_at + rules.email_resend_after)
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


def link_code_valid(expires_at: dt.datetime | None, used_at: dt.datetime | None, now: dt.datetime) -> bool:
    """A link code works once, until it expires."""
    return used_at is None and expires_at is not None and now < expires_at


@dataclass(frozen=True)
class LinkParty:
    """One of two persons about to be merged, read under both wallet locks."""

    person_id: int
    wallet_id: int
    created_at: dt.datetime
    identities: tuple[str, ...]
    balance: Balance
    unspent: dict[LotKind, int]  # what their lots hold, by kind


@dataclass(frozen=True)
class LinkMove:
    """One `link` movement of the absorbed wallet's credits of one kind (its lots move along)."""

    key: str
    kind: LotKind
    amount: int
    memo: str


@dataclass(frozen=True)
class MergePlan:
    keep: LinkParty
    gone: LinkParty
    moves: tuple[LinkMove, ...]


def decide_merge(issuer: LinkParty, other: LinkParty) -> MergePlan:
    """Two persons become one: the older survives (a stable rule: their code, history and
    creation date stay) and the absorbed wallet's credits move over, one `link` movement per
    kind. Refused (`LinkRefused`) for the same person, a frozen or indebted wallet, open holds
    (running jobs) or two identities on one platform. No credits are created."""
    if issuer.person_id == other.person_id:
        raise LinkRefused(LinkRefusal.SAME_PERSON)
    keep, gone = sorted((issuer, other), key=lambda party: (party.created_at, party.person_id))
    for party in (keep, gone):
        if party.balance.frozen or party.balance.debt:
            raise LinkRefused(LinkRefusal.FROZEN)
        if party.balance.held:
            raise LinkRefused(LinkRefusal.JOBS_RUNNING)
    if platforms_clash(list(keep.identities), list(gone.identities)):
        raise LinkRefused(LinkRefusal.PLATFORM_TAKEN)
    moves = tuple(
        LinkMove(link_key(gone.person_id, kind.value), kind, amount, f"{kind.value} credits of person {gone.person_id}")
        for kind, amount in sorted(gone.unspent.items())
        if amount > 0
    )
    return MergePlan(keep, gone, moves)


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
