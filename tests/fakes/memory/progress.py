"""Streaks and achievements in memory: `ProgressStore`, reading the same facts the SQL store
reads (delivered jobs, daily and share claims, referral payouts, purchased lots) and asking the
same `decide_progress`."""

from __future__ import annotations

import datetime as dt

from core.domain.identity import Person
from core.domain.jobs import JobState
from core.domain.progress import Achievement, Award, ProgressResult, ProgressSnapshot, streak_key
from core.domain.rewards import BonusKind
from core.ports import ProgressDecision
from tests.fakes.memory.bonuses import received_on
from tests.fakes.memory.ledger import packs_bought, post_grant
from tests.fakes.memory.world import ClaimRow, World

ACTIVE_DAYS_READ = 400


def progress_snapshot(world: World, person: Person, now: dt.datetime) -> ProgressSnapshot:
    today = now.astimezone(dt.UTC).date()
    pid = person.person_id
    since = today - dt.timedelta(days=ACTIVE_DAYS_READ)
    delivered = [r.job for r in world.jobs.values() if r.job.person_id == pid and r.job.state == JobState.SUCCEEDED]
    claims = [c for c in world.claims.values() if c.person_id == pid]
    days = {dt.date.fromisoformat(c.day) for c in claims if c.kind == BonusKind.DAILY}
    days |= {j.finished_at.astimezone(dt.UTC).date() for j in delivered if j.finished_at is not None}
    bought = packs_bought(world, person.wallet_id)
    return ProgressSnapshot(
        person_id=pid,
        wallet_id=person.wallet_id,
        today=today,
        clips=len(delivered),
        styles_used=frozenset(j.style for j in delivered),
        shared=any(c.kind == BonusKind.SHARE for c in claims),
        referral_paid=any(r.referrer == pid and r.referrer_state == "paid" for r in world.referrals.values()),
        purchased=bool(bought),
        active_days=frozenset(d for d in days if d >= since),
        earned=frozenset(Achievement(kind) for (owner, kind) in world.achievements if owner == pid),
        received_today=received_on(world, pid, today.isoformat()),
        streak_paid_today=streak_key(pid, today.isoformat()) in world.claims,
        packs_bought=bought,
    )


def apply_awards(world: World, person: Person, awards: tuple[Award, ...], now: dt.datetime) -> tuple[Award, ...]:
    applied: list[Award] = []
    for award in awards:
        if award.achievement is not None:
            row = (person.person_id, str(award.achievement))
            if row in world.achievements:
                continue
            world.achievements[row] = award.credits
        if award.grant is not None and award.claim is not None:
            if post_grant(world, award.grant, now).duplicate:
                continue
            claim = award.claim
            world.claims.setdefault(
                claim.key, ClaimRow(claim.key, claim.person_id, claim.kind, claim.day, claim.amount)
            )
        applied.append(award)
    return tuple(applied)


class FakeProgressStore:
    def __init__(self, world: World) -> None:
        self.world = world

    async def award_progress(self, person_id: int, decide: ProgressDecision, *, now: dt.datetime) -> ProgressResult:
        with self.world.transaction():
            current = self.world.survivor(person_id)
            person = Person(current, self.world.wallet_of(current), created=False)
            snapshot = progress_snapshot(self.world, person, now)
            awards = apply_awards(self.world, person, decide(snapshot), now)
            return ProgressResult(snapshot, awards, tuple(self.world.identities_of(current)))

    async def progress_snapshot(self, person_id: int, *, now: dt.datetime) -> ProgressSnapshot:
        current = self.world.survivor(person_id)
        return progress_snapshot(self.world, Person(current, self.world.wallet_of(current), created=False), now)
