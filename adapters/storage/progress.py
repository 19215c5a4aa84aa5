"""Streaks and achievements over SQL: `ProgressStore`.

What a person did is read from the rows that already record it (delivered jobs, daily claims,
share claims, referral payouts, purchased lots); only what they earned is written here, in
`achievements` (one row per person and kind), with its credits through the ledger under the
award's key and its bonus claim (the free allowance of the day). What to award is decided by
the core (`decide_progress`) from a `ProgressSnapshot` read under the person's wallet lock.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, bindparam, exists, func, null, select, union, union_all

from adapters.storage.bonuses import RECEIVED_ON, record_claim
from adapters.storage.database import Database
from adapters.storage.ledger import PACKS_BOUGHT, SqlLedgerStore, SystemAccounts, post_grant
from adapters.storage.persons import current_person, identities_of, lock_wallets, survivor
from adapters.storage.sql import (
    Expression,
    Statement,
    as_int,
    const,
    every,
    insert_or_skip,
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

_STYLES = select(jobs.c.style).distinct().where(*_DELIVERED)
_EARNED = select(achievements.c.kind).where(achievements.c.person_id == _PERSON)


def _active_days(dialect: str) -> Expression:
    daily = select(reward_claims.c.day.label("day")).where(
        _CLAIMS_OF, reward_claims.c.kind == const(BonusKind.DAILY.value), reward_claims.c.day >= bindparam("since_day")
    )
    clips = select(utc_day_of(jobs.c.finished_at, dialect).label("day")).where(
        *_DELIVERED, jobs.c.finished_at >= bindparam("since")
    )
    return union(daily, clips)


def _snapshot(dialect: str) -> Expression:
    """All that `progress_snapshot` reads, in one statement (it runs after every clip, daily
    credit and purchase): a row ("figures", NULL, clips, shared, referral paid, streak paid,
    received today), then one ("style" | "earned" | "pack" | "day", a word) per word."""
    figures = select(
        const("figures"),
        null(),
        select(func.count()).where(*_DELIVERED).scalar_subquery(),
        exists().where(_CLAIMS_OF, reward_claims.c.kind == const(BonusKind.SHARE.value)),
        exists().where(referrals.c.referrer_person_id == _PERSON, referrals.c.referrer_state == const("paid")),
        exists().where(reward_claims.c.key == bindparam("streak_key")),
        RECEIVED_ON.scalar_subquery(),
    )

    def words(what: str, query: Expression) -> Expression:
        found = query.subquery()
        return select(const(what), found.c[0], null(), null(), null(), null(), null())

    return union_all(
        figures,
        words("style", _STYLES),
        words("earned", _EARNED),
        words("pack", PACKS_BOUGHT),
        words("day", _active_days(dialect)),
    )


_SNAPSHOT = Statement(_snapshot)
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
    rows = every(
        conn,
        _SNAPSHOT,
        person_id=pid,
        id=person.wallet_id,
        day=today.isoformat(),
        streak_key=streak_key(pid, today.isoformat()),
        since_day=since.isoformat(),
        since=to_db_time(conn, dt.datetime(since.year, since.month, since.day, tzinfo=dt.UTC)),
    )
    figures = next(row for row in rows if row[0] == "figures")
    _, _, clips, shared, referral_paid, streak_paid, received = figures
    words: dict[str, set[str]] = {"style": set(), "earned": set(), "pack": set(), "day": set()}
    for row in rows:
        if row[0] != "figures" and row[1] is not None:
            words[str(row[0])].add(str(row[1]))
    bought = tuple(sorted(words["pack"]))
    return ProgressSnapshot(
        person_id=pid,
        wallet_id=person.wallet_id,
        today=today,
        clips=as_int(clips),
        styles_used=frozenset(words["style"]),
        shared=bool(shared),
        referral_paid=bool(referral_paid),
        purchased=bool(bought),
        active_days=frozenset(dt.date.fromisoformat(day) for day in words["day"]),
        earned=frozenset(Achievement(kind) for kind in words["earned"]),
        received_today=as_int(received),
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
            return progress_snapshot(conn, current_person(conn, person_id), now)

        return await self.db.read(work)


def _locked(conn: Connection, person_id: int) -> Person:
    """The person `person_id` is now, with their wallet locked; re-checked after the lock (a link
    committed meanwhile may have merged them into another person)."""
    current = current_person(conn, person_id)
    while True:
        lock_wallets(conn, current.wallet_id)
        again = survivor(conn, person_id)
        if again == current.person_id:
            return current
        current = current_person(conn, again)
