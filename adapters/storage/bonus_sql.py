"""Bonuses (daily, share, email, referral): paid through the ledger and recorded in
`reward_claims`, whose (person, day) sums are the free allowance used today."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from adapters.storage import ledger_sql
from adapters.storage.ledger_sql import SystemAccounts
from adapters.storage.persons_sql import locked_person
from adapters.storage.sql import Statement as S
from adapters.storage.sql import run, scalar, to_db_time
from core.domain.identity import Person
from core.domain.ledger import Grant, LotKind
from core.domain.rewards import (
    Bonus,
    BonusKind,
    BonusResult,
    BonusStatus,
    RewardRules,
    daily_key,
    email_key,
    fits_allowance,
    share_key,
    utc_day,
)

_CLAIMED_ON = S("SELECT 1 FROM reward_claims WHERE person_id = :person_id AND day = :day AND kind = :kind")
_CLAIMED_EVER = S("SELECT 1 FROM reward_claims WHERE person_id = :person_id AND kind = :kind")
_RECEIVED_ON = S("SELECT COALESCE(SUM(amount), 0) FROM reward_claims WHERE person_id = :person_id AND day = :day")
_INSERT_CLAIM = S("""
    INSERT INTO reward_claims (key, person_id, kind, day, amount, created_at)
    VALUES (:key, :person_id, :kind, :day, :amount, :now)""")


def bonus_key(kind: BonusKind, person_id: int, day: str) -> str:
    if kind == BonusKind.DAILY:
        return daily_key(person_id, day)
    if kind == BonusKind.SHARE:
        return share_key(person_id, day)
    if kind == BonusKind.EMAIL:
        return email_key(person_id)
    raise ValueError(f"{kind} bonuses are keyed by their referral")


def claimed(conn: Connection, person_id: int, kind: BonusKind, day: str | None) -> bool:
    if day is None:
        return scalar(conn, _CLAIMED_EVER, person_id=person_id, kind=str(kind)) is not None
    return scalar(conn, _CLAIMED_ON, person_id=person_id, day=day, kind=str(kind)) is not None


def received_on(conn: Connection, person_id: int, day: str) -> int:
    return int(scalar(conn, _RECEIVED_ON, person_id=person_id, day=day))


def pay(
    conn: Connection,
    system: SystemAccounts,
    person: Person,
    key: str,
    bonus: Bonus,
    now: dt.datetime,
) -> BonusResult:
    """Grant and record a bonus whose rules were checked under the person's lock."""
    outcome = ledger_sql.grant(
        conn,
        system,
        Grant(
            key=key,
            account_id=person.wallet_id,
            amount=bonus.amount,
            reason=bonus.reason,
            lot_kind=LotKind.FREE,
            expires_at=bonus.expires_at,
            memo=bonus.memo,
        ),
        now,
    )
    if outcome.duplicate:
        return BonusResult(BonusStatus.ALREADY, person.person_id, outcome.balance)
    run(
        conn,
        _INSERT_CLAIM,
        key=key,
        person_id=person.person_id,
        kind=str(bonus.kind),
        day=utc_day(now),
        amount=bonus.amount,
        now=to_db_time(conn, now),
    )
    return BonusResult(BonusStatus.GRANTED, person.person_id, outcome.balance, outcome)


def check_and_pay(
    conn: Connection,
    system: SystemAccounts,
    person: Person,
    bonus: Bonus,
    rules: RewardRules,
    now: dt.datetime,
) -> BonusResult:
    """Once per day (or ever), within today's allowance; the caller holds the person's lock."""
    day = utc_day(now)
    if claimed(conn, person.person_id, bonus.kind, day if bonus.per_day else None):
        return BonusResult(BonusStatus.ALREADY, person.person_id, ledger_sql.balance(conn, person.wallet_id))
    if not fits_allowance(received_on(conn, person.person_id, day), bonus.amount, rules):
        return BonusResult(BonusStatus.LIMIT, person.person_id, ledger_sql.balance(conn, person.wallet_id))
    return pay(conn, system, person, bonus_key(bonus.kind, person.person_id, day), bonus, now)


def grant_bonus(
    conn: Connection,
    system: SystemAccounts,
    identity: str,
    bonus: Bonus,
    rules: RewardRules,
    now: dt.datetime,
) -> BonusResult:
    return check_and_pay(conn, system, locked_person(conn, identity), bonus, rules, now)
