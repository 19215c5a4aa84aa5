"""Streaks and achievements over SQL: `ProgressStore`.

What a person did is read from the rows that already record it (delivered jobs, daily claims,
share claims, referral payouts, purchased lots); only what they earned is written here, in
`achievements` (one row per person and kind), with its credits through the ledger under the
award's key and its bonus claim (the free allowance of the day). What to award is decided by
the core (`decide_progress`) from a `ProgressSnapshot` read under the person's wallet lock.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, bindparam, exists, func, select, union

from adapters.storage.bonuses import received_on, record_claim
from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore, SystemAccounts, packs_bought, post_grant
from adapters.storage.persons import identities_of, lock_wallets, survivor, wallet_of
from adapters.storage.sql import (
    Expression,
    Statement,
    as_int,
    const,
    every,
    insert_or_skip,
    one,
    run,
    to_db_time,
    utc_day_of,
)
from adapters.storage.tables_jobs import jobs
from adapters.storage.tables_progress import achievements
from adapters.storage.tables_rewards import referrals, reward_claims
from core.domain.identity import Person
from core.domain.jobs import JobState
from core.domain.progress import Achievement, Award, ProgressResult, ProgressSnapshot, streak_key
from core.domain.rewards import BonusKind
from core.ports import ProgressDecision

# How far back active days are read: a streak longer than this shows as this long.
ACTIVE_DAYS_READ = 400

_PERSON = bindparam("person_id")
_DELIVERED = (jobs.c.person_id == _PERSON, jobs.c.state == const(JobState.SUCCEEDED.value))
_CLAIMS_OF = reward_claims.c.person_id == _PERSON

_FIGURES = Statement(
    select(
        select(func.count()).where(*_DELIVERED).scalar_subquery(),
        exists().where(_CLAIMS_OF, reward_claims.c.kind == const(BonusKind.SHARE.value)),
        exists().where(referrals.c.referrer_person_id == _PERSON, referrals.c.referrer_state == const("paid")),
        exists().where(reward_claims.c.key == bindparam("streak_key")),
    )
)
_STYLES = Statement(select(jobs.c.style).distinct().where(*_DELIVERED))
_EARNED = Statement(select(achievements.c.kind).where(achievements.c.person_id == _PERSON))


def _active_days(dialect: str) -> Expression:
    daily = select(reward_claims.c.day.label("day")).where(
        _CLAIMS_OF, reward_claims.c.kind == const(BonusKind.DAILY.value), reward_claims.c.day >= bindparam("since_day")
    )
    clips = select(utc_day_of(jobs.c.finished_at, dialect).label("day")).where(
        *_DELIVERED, jobs.c.finished_at >= bindparam("since")
    )
    return union(daily, clips)


_ACTIVE_DAYS = Statement(_active_days)
_INSERT_ACHIEVEMENT = Statement(
    insert_or_skip(
        achievements,
        ["person_id", "kind"],
        {
            "person_id": bindparam("person_id"),
            "kind": bindparam("kind"),
            "credits": bindparam("credits"),
            "earned_at": bindparam("now"),
        },
    )
)


def progress_snapshot(conn: Connection, person: Person, now: dt.datetime) -> ProgressSnapshot:
    """What the progress rules read about `person` (whose wallet the caller may have locked)."""
    today = now.astimezone(dt.UTC).date()
    pid = person.person_id
    since = today - dt.timedelta(days=ACTIVE_DAYS_READ)
    clips, shared, referral_paid, streak_paid = one(
        conn, _FIGURES, person_id=pid, streak_key=streak_key(pid, today.isoformat())
    ) or (0, False, False, False)
    since_at = dt.datetime(since.year, since.month, since.day, tzinfo=dt.UTC)
    days = every(conn, _ACTIVE_DAYS, person_id=pid, since_day=since.isoformat(), since=to_db_time(conn, since_at))
    bought = packs_bought(conn, person.wallet_id)
    return ProgressSnapshot(
        person_id=pid,
        wallet_id=person.wallet_id,
        today=today,
        clips=as_int(clips),
        styles_used=frozenset(str(style) for (style,) in every(conn, _STYLES, person_id=pid)),
        shared=bool(shared),
        referral_paid=bool(referral_paid),
        purchased=bool(bought),
        active_days=frozenset(dt.date.fromisoformat(str(day)) for (day,) in days),
        earned=frozenset(Achievement(str(kind)) for (kind,) in every(conn, _EARNED, person_id=pid)),
        received_today=received_on(conn, pid, today.isoformat()),
        streak_paid_today=bool(streak_paid),
        packs_bought=bought,
    )


def apply_awards(
    conn: Connection, system: SystemAccounts, person: Person, awards: tuple[Award, ...], now: dt.datetime
) -> tuple[Award, ...]:
    """Record each achievement once and post each grant with its claim; what was applied before
    (the row or the grant's key exists) is left out."""
    applied: list[Award] = []
    at = to_db_time(conn, now)
    for award in awards:
        if award.achievement is not None:
            inserted = run(
                conn,
                _INSERT_ACHIEVEMENT,
                person_id=person.person_id,
                kind=str(award.achievement),
                credits=award.credits,
                now=at,
            ).rowcount
            if inserted != 1:
                continue  # earned before: another check got there first
        if award.grant is not None and award.claim is not None:
            if post_grant(conn, system, award.grant, now).duplicate:
                continue
            record_claim(conn, award.claim, now)
        applied.append(award)
    return tuple(applied)


class SqlProgressStore:
    """`ProgressStore` (core/ports.py): each call is one unit of work."""

    def __init__(self, db: Database, ledger: SqlLedgerStore) -> None:
        self.db = db
        self.ledger = ledger

    async def award_progress(self, person_id: int, decide: ProgressDecision, *, now: dt.datetime) -> ProgressResult:
        system = self.ledger.system

        def work(conn: Connection) -> ProgressResult:
            person = _locked(conn, person_id)
            snapshot = progress_snapshot(conn, person, now)
            awards = apply_awards(conn, system, person, decide(snapshot), now)
            return ProgressResult(snapshot, awards, tuple(identities_of(conn, person.person_id)))

        return await self.db.write(work)

    async def progress_snapshot(self, person_id: int, *, now: dt.datetime) -> ProgressSnapshot:
        def work(conn: Connection) -> ProgressSnapshot:
            current = survivor(conn, person_id)
            return progress_snapshot(conn, Person(current, wallet_of(conn, current), created=False), now)

        return await self.db.read(work)


def _locked(conn: Connection, person_id: int) -> Person:
    """The person `person_id` is now, with their wallet locked; re-checked after the lock (a link
    committed meanwhile may have merged them into another person)."""
    current = survivor(conn, person_id)
    while True:
        wallet = wallet_of(conn, current)
        lock_wallets(conn, wallet)
        again = survivor(conn, person_id)
        if again == current:
            return Person(current, wallet, created=False)
        current = again
