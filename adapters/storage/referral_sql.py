"""Referral codes, referrals and their payout (both sides +N on the referred person's first
successful generation; each side settles once, under both persons' locks)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Connection

from adapters.storage import bonus_sql, ledger_sql
from adapters.storage.ledger_sql import SystemAccounts
from adapters.storage.persons_sql import (
    created_at,
    lock_wallets,
    locked_person,
    survivor,
    wallet_of,
)
from adapters.storage.sql import Statement as S
from adapters.storage.sql import every, one, run, scalar, to_db_time
from core.domain.identity import Person
from core.domain.ledger import Reason
from core.domain.rewards import (
    Bonus,
    BonusKind,
    BonusStatus,
    ReferralPayout,
    ReferralRecord,
    ReferralSummary,
    RewardRules,
    SideDecision,
    month_start,
    next_month_start,
    referral_key,
    referral_refusal,
    referral_side,
    utc_day,
)
from core.errors import InternalError

_CODE_OF = S("SELECT code FROM referral_codes WHERE person_id = :person_id ORDER BY created_at, code LIMIT 1")
_INSERT_CODE = S("""
    INSERT INTO referral_codes (code, person_id, created_at) VALUES (:code, :person_id, :now)
    ON CONFLICT (code) DO NOTHING""")
_OWNER_OF_CODE = S("SELECT person_id FROM referral_codes WHERE code = :code")
_COUNTS = S("""
    SELECT COUNT(*), COALESCE(SUM(CASE WHEN referrer_state = 'paid' THEN 1 ELSE 0 END), 0)
    FROM referrals WHERE referrer_person_id = :person_id""")
_REFERRER_OF = S("SELECT referrer_person_id FROM referrals WHERE referred_person_id = :person_id")
_INSERT_REFERRAL = S("""
    INSERT INTO referrals (referred_person_id, referrer_person_id, code, created_at)
    VALUES (:referred, :referrer, :code, :now) ON CONFLICT (referred_person_id) DO NOTHING""")
_REFERRAL = S("""
    SELECT referred_person_id, referrer_person_id, qualified_at, referred_state, referrer_state
    FROM referrals WHERE referred_person_id = :person_id""")
_QUALIFY = S("UPDATE referrals SET qualified_at = :now WHERE referred_person_id = :person_id AND qualified_at IS NULL")
_SETTLE_REFERRED = S("""
    UPDATE referrals SET referred_state = :state, referred_settled_at = :now
    WHERE referred_person_id = :person_id AND referred_state IS NULL""")
_SETTLE_REFERRER = S("""
    UPDATE referrals SET referrer_state = :state, referrer_settled_at = :now
    WHERE referred_person_id = :person_id AND referrer_state IS NULL""")
_PAID_THIS_MONTH = S("""
    SELECT COUNT(*) FROM referrals WHERE referrer_person_id = :person_id AND referrer_state = 'paid'
    AND referrer_settled_at >= :start AND referrer_settled_at < :end""")
_DUE = S("""
    SELECT referred_person_id FROM referrals
    WHERE qualified_at IS NOT NULL AND (referred_state IS NULL OR referrer_state IS NULL)
    ORDER BY qualified_at LIMIT :limit""")

CODE_ATTEMPTS = 8


def referral_code(conn: Connection, identity: str, new_code: Callable[[], str], now: dt.datetime) -> ReferralSummary:
    """The person's code, made on first ask (a random code; a clash just draws another)."""
    person = locked_person(conn, identity)
    code = scalar(conn, _CODE_OF, person_id=person.person_id)
    for _ in range(CODE_ATTEMPTS):
        if code is not None:
            break
        candidate = new_code()
        if (
            run(
                conn,
                _INSERT_CODE,
                code=candidate,
                person_id=person.person_id,
                now=to_db_time(conn, now),
            ).rowcount
            == 1
        ):
            code = candidate
    if code is None:
        raise InternalError("could not draw a free referral code")
    referred, rewarded = one(conn, _COUNTS, person_id=person.person_id) or (0, 0)
    return ReferralSummary(str(code), int(referred), int(rewarded))


def record_referral(conn: Connection, identity: str, code: str, rules: RewardRules, now: dt.datetime) -> ReferralRecord:
    person = locked_person(conn, identity)
    owner = scalar(conn, _OWNER_OF_CODE, code=code)
    referrer = None if owner is None else survivor(conn, int(owner))
    existing = scalar(conn, _REFERRER_OF, person_id=person.person_id)
    existing_referrer = None if existing is None else survivor(conn, int(existing))
    referrer_referred_by = None
    if referrer is not None:
        by = scalar(conn, _REFERRER_OF, person_id=referrer)
        referrer_referred_by = None if by is None else survivor(conn, int(by))
    refusal = referral_refusal(
        referred_person_id=person.person_id,
        referrer_person_id=referrer,
        referrer_referred_by=referrer_referred_by,
        existing_referrer=existing_referrer,
        referred_created_at=created_at(conn, person.person_id),
        referred_generations=ledger_sql.stats(conn, person.wallet_id).generations,
        now=now,
        rules=rules,
    )
    if refusal is not None:
        return ReferralRecord(refusal, referrer)
    if existing_referrer is not None:
        return ReferralRecord(None, referrer, duplicate=True)
    run(
        conn,
        _INSERT_REFERRAL,
        referred=person.person_id,
        referrer=referrer,
        code=code,
        now=to_db_time(conn, now),
    )
    return ReferralRecord(None, referrer)


def settle_referral(
    conn: Connection,
    system: SystemAccounts,
    person_id: int,
    rules: RewardRules,
    now: dt.datetime,
    qualify: bool,
    expires_at: dt.datetime | None = None,
) -> ReferralPayout | None:
    """Pay each unsettled side of the referral of `person_id` that may be paid now."""
    referred = survivor(conn, person_id)
    row = one(conn, _REFERRAL, person_id=referred)
    if row is None:
        return None
    referrer = survivor(conn, int(row[1]))
    if referrer == referred:  # linking made it a self-referral; the link cancels those
        return None
    referred_wallet, referrer_wallet = wallet_of(conn, referred), wallet_of(conn, referrer)
    lock_wallets(conn, referred_wallet, referrer_wallet)
    if qualify:
        run(conn, _QUALIFY, person_id=referred, now=to_db_time(conn, now))
    row = one(conn, _REFERRAL, person_id=referred)  # again, under the locks
    if row is None or row[2] is None:
        return None  # not qualified yet (no successful generation)
    referred_state, referrer_state = row[3], row[4]
    bonus = Bonus(BonusKind.REFERRAL, rules.referral_credits, Reason.REFERRAL, per_day=False, expires_at=expires_at)
    paid_referred = paid_referrer = 0
    if referred_state is None:
        paid_referred, referred_state = _settle_side(
            conn, system, bonus, "referred", Person(referred, referred_wallet, False), referred, None, rules, now
        )
    if referrer_state is None:
        paid_this_month = int(
            scalar(
                conn,
                _PAID_THIS_MONTH,
                person_id=referrer,
                start=to_db_time(conn, month_start(now)),
                end=to_db_time(conn, next_month_start(now)),
            )
        )
        paid_referrer, referrer_state = _settle_side(
            conn,
            system,
            bonus,
            "referrer",
            Person(referrer, referrer_wallet, False),
            referred,
            paid_this_month,
            rules,
            now,
        )

    return ReferralPayout(
        referred_person_id=referred,
        referrer_person_id=referrer,
        referred_credits=paid_referred,
        referrer_credits=paid_referrer,
        referred_state=referred_state or str(SideDecision.WAIT),
        referrer_state=referrer_state or str(SideDecision.WAIT),
    )


_SETTLE = {"referred": _SETTLE_REFERRED, "referrer": _SETTLE_REFERRER}


def _settle_side(
    conn: Connection,
    system: SystemAccounts,
    bonus: Bonus,
    side: str,
    receiver: Person,
    referred: int,
    paid_this_month: int | None,
    rules: RewardRules,
    now: dt.datetime,
) -> tuple[int, str | None]:
    """Pay one side of a referral if the rules allow it now: (credits paid, state or None if waiting)."""
    decision = referral_side(
        receiver_created_at=created_at(conn, receiver.person_id),
        received_today=bonus_sql.received_on(conn, receiver.person_id, utc_day(now)),
        paid_this_month=paid_this_month,
        now=now,
        rules=rules,
    )
    paid = 0
    if decision == SideDecision.PAY:
        result = bonus_sql.pay(conn, system, receiver, referral_key(referred, side), _memo(bonus, side), now)
        paid = result.granted if result.status == BonusStatus.GRANTED else 0
    if decision == SideDecision.WAIT:
        return paid, None
    run(conn, _SETTLE[side], person_id=referred, state=str(decision), now=to_db_time(conn, now))
    return paid, str(decision)


def _memo(bonus: Bonus, side: str) -> Bonus:
    return Bonus(
        bonus.kind, bonus.amount, bonus.reason, bonus.per_day, memo=f"referral ({side})", expires_at=bonus.expires_at
    )


def due_referrals(conn: Connection, limit: int) -> list[int]:
    return [int(row[0]) for row in every(conn, _DUE, limit=limit)]


_OPEN = S("""
    SELECT 1 FROM referrals WHERE referred_person_id = :person_id
    AND (referred_state IS NULL OR referrer_state IS NULL)""")


def has_open_referral(conn: Connection, person_id: int) -> bool:
    return scalar(conn, _OPEN, person_id=person_id) is not None
