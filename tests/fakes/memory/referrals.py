"""Referral codes, referrals and their payout in memory: `ReferralStore`. Each side settles
once, as `core.domain.referral_payouts.decide_referral` decides from the same `ReferralSnapshot` the SQL
store reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from core.domain.identity import Person
from core.domain.referral_payouts import ReferralParty, ReferralSnapshot
from core.domain.rewards import (
    ReferralPayout,
    ReferralRecord,
    ReferralSummary,
    SideDecision,
    month_start,
    next_month_start,
    referral_refusal,
    utc_day,
)
from core.domain.rules import CreditRules
from core.errors import InternalError
from core.ports import ReferralDecision
from tests.fakes.memory.bonuses import apply_bonus, received_on
from tests.fakes.memory.ledger import stats
from tests.fakes.memory.world import ReferralRow, World

CODE_ATTEMPTS = 8


class FakeReferralStore:
    def __init__(self, world: World) -> None:
        self.world = world

    def _referrer_of(self, person_id: int) -> int | None:
        row = self.world.referrals.get(person_id)
        return None if row is None else self.world.survivor(row.referrer)

    def _party(self, person_id: int, state: str | None, now: dt.datetime, *, referrer: bool) -> ReferralParty:
        start, end = month_start(now), next_month_start(now)
        paid_this_month = None
        if referrer and state is None:
            paid_this_month = sum(
                1
                for r in self.world.referrals.values()
                if r.referrer == person_id
                and r.referrer_state == SideDecision.PAY
                and r.referrer_settled_at is not None
                and start <= r.referrer_settled_at < end
            )
        return ReferralParty(
            person_id=person_id,
            wallet_id=self.world.wallet_of(person_id),
            created_at=self.world.created_at(person_id),
            received_today=received_on(self.world, person_id, utc_day(now)) if state is None else 0,
            state=state,
            paid_this_month=paid_this_month,
        )

    async def referral_code(self, identity: str, new_code: Callable[[], str], *, now: dt.datetime) -> ReferralSummary:
        with self.world.transaction():
            person = self.world.require_person(identity)
            mine = sorted(
                (made, code) for code, (owner, made) in self.world.referral_codes.items() if owner == person.person_id
            )
            code = mine[0][1] if mine else None
            for _ in range(CODE_ATTEMPTS):
                if code is not None:
                    break
                candidate = new_code()
                if candidate not in self.world.referral_codes:
                    self.world.referral_codes[candidate] = (person.person_id, now)
                    code = candidate
            if code is None:
                raise InternalError("could not draw a free referral code")
            theirs = [r for r in self.world.referrals.values() if r.referrer == person.person_id]
            rewarded = sum(1 for r in theirs if r.referrer_state == SideDecision.PAY)
            return ReferralSummary(code, len(theirs), rewarded)

    async def record_referral(
        self, identity: str, code: str, rules: CreditRules, *, now: dt.datetime
    ) -> ReferralRecord:
        with self.world.transaction():
            person = self.world.require_person(identity)
            owner = self.world.referral_codes.get(code)
            referrer = None if owner is None else self.world.survivor(owner[0])
            existing = self._referrer_of(person.person_id)
            refusal = referral_refusal(
                referred_person_id=person.person_id,
                referrer_person_id=referrer,
                referrer_referred_by=None if referrer is None else self._referrer_of(referrer),
                existing_referrer=existing,
                referred_created_at=self.world.created_at(person.person_id),
                referred_generations=stats(self.world, person.wallet_id).generations,
                now=now,
                rules=rules,
            )
            if refusal is not None:
                return ReferralRecord(refusal, referrer)
            if existing is not None:
                return ReferralRecord(None, referrer, duplicate=True)
            assert referrer is not None
            self.world.referrals[person.person_id] = ReferralRow(person.person_id, referrer, code)
            return ReferralRecord(None, referrer)

    async def settle_referral(
        self, person_id: int, decide: ReferralDecision, *, now: dt.datetime
    ) -> ReferralPayout | None:
        with self.world.transaction():
            referred = self.world.survivor(person_id)
            row = self.world.referrals.get(referred)
            if row is None:
                return None
            referrer = self.world.survivor(row.referrer)
            states = {"referred": row.referred_state, "referrer": row.referrer_state}
            parties = {
                "referred": self._party(referred, row.referred_state, now, referrer=False),
                "referrer": self._party(referrer, row.referrer_state, now, referrer=True),
            }
            effect = decide(
                ReferralSnapshot(parties["referred"], parties["referrer"], row.qualified_at is not None, utc_day(now))
            )
            if effect is None:
                return None
            if effect.qualify:
                row.qualified_at = now
            paid = {"referred": 0, "referrer": 0}
            for settlement in effect.sides:
                party = parties[settlement.side]
                if settlement.effect is not None:
                    receiver = Person(party.person_id, party.wallet_id, created=False)
                    paid[settlement.side] = apply_bonus(self.world, receiver, settlement.effect, now).granted
                if settlement.decision != SideDecision.WAIT:
                    state = str(settlement.decision)
                    setattr(row, f"{settlement.side}_state", state)
                    setattr(row, f"{settlement.side}_settled_at", now)
                    states[settlement.side] = state
            return ReferralPayout(
                referred_person_id=referred,
                referrer_person_id=referrer,
                referred_credits=paid["referred"],
                referrer_credits=paid["referrer"],
                referred_state=states["referred"] or str(SideDecision.WAIT),
                referrer_state=states["referrer"] or str(SideDecision.WAIT),
            )

    async def due_referrals(self, *, limit: int) -> list[int]:
        due = [
            r
            for r in self.world.referrals.values()
            if r.qualified_at is not None and (r.referred_state is None or r.referrer_state is None)
        ]
        return [r.referred for r in sorted(due, key=lambda r: r.qualified_at or dt.datetime.min)][:limit]

    async def has_open_referral(self, person_id: int) -> bool:
        row = self.world.referrals.get(self.world.survivor(person_id))
        return row is not None and (row.referred_state is None or row.referrer_state is None)
