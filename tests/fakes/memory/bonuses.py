"""Bonuses in memory: `BonusStore`, and the bonus operations the email and referral fakes
compose. What to pay is decided by the same core functions the SQL store asks, from the same
`BonusSnapshot`."""

from __future__ import annotations

import datetime as dt

from core.domain.bonuses import BonusEffect, BonusSnapshot
from core.domain.identity import Person
from core.domain.rewards import BonusResult, BonusStatus, utc_day
from core.ports import BonusDecision
from tests.fakes.memory.ledger import balance, packs_bought, post_grant
from tests.fakes.memory.world import ClaimRow, World


def received_on(world: World, person_id: int, day: str) -> int:
    return sum(c.amount for c in world.claims.values() if c.person_id == person_id and c.day == day)


def bonus_snapshot(world: World, person: Person, now: dt.datetime) -> BonusSnapshot:
    day = utc_day(now)
    mine = [c for c in world.claims.values() if c.person_id == person.person_id]
    return BonusSnapshot(
        person_id=person.person_id,
        wallet_id=person.wallet_id,
        day=day,
        received_today=received_on(world, person.person_id, day),
        claimed_today=frozenset(c.kind for c in mine if c.day == day),
        claimed_ever=frozenset(c.kind for c in mine),
        packs_bought=packs_bought(world, person.wallet_id),
    )


def apply_bonus(world: World, person: Person, effect: BonusEffect, now: dt.datetime) -> BonusResult:
    if effect.grant is None or effect.claim is None:
        return BonusResult(effect.status, person.person_id, balance(world, person.wallet_id), plan=effect.plan)
    outcome = post_grant(world, effect.grant, now)
    if outcome.duplicate:
        return BonusResult(BonusStatus.ALREADY, person.person_id, outcome.balance)
    claim = effect.claim
    world.claims[claim.key] = ClaimRow(claim.key, claim.person_id, claim.kind, claim.day, claim.amount)
    return BonusResult(BonusStatus.GRANTED, person.person_id, outcome.balance, outcome)


class FakeBonusStore:
    def __init__(self, world: World) -> None:
        self.world = world

    async def grant_bonus(self, identity: str, decide: BonusDecision, *, now: dt.datetime) -> BonusResult:
        with self.world.transaction():
            person = self.world.require_person(identity)
            return apply_bonus(self.world, person, decide(bonus_snapshot(self.world, person, now)), now)

    async def bonus_snapshot(self, person_id: int, *, now: dt.datetime) -> BonusSnapshot:
        current = self.world.survivor(person_id)
        return bonus_snapshot(self.world, Person(current, self.world.wallet_of(current), created=False), now)

    async def person_created_at(self, person_id: int) -> dt.datetime | None:
        return self.world.created_at(self.world.survivor(person_id))
