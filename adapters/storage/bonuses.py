"""Bonuses (daily, share, email, referral) over SQL: `BonusStore`, and the bonus operations the
email and referral areas compose into their own transactions.

A bonus is paid through the ledger and recorded in `reward_claims`, whose (person, day) sums are
the free allowance used that day. What to pay is decided by the core (`decide_bonus`,
`decide_daily`, `decide_referral`) from a `BonusSnapshot` read here under the person's lock.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, bindparam, func, insert, select

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore, SystemAccounts, balance, packs_bought, post_grant
from adapters.storage.persons import created_at, current_person, locked_person, survivor
from adapters.storage.sql import Statement, as_int, const, every, run, scalar, to_db_time
from adapters.storage.tables_rewards import reward_claims
from core.domain.bonuses import BonusClaim, BonusEffect, BonusSnapshot
from core.domain.identity import Person
from core.domain.rewards import BonusKind, BonusResult, BonusStatus, utc_day
from core.ports import BonusDecision

_OF_PERSON = reward_claims.c.person_id == bindparam("person_id")
_ON_DAY = reward_claims.c.day == bindparam("day")

_CLAIMS_ON = Statement(
    select(reward_claims.c.kind, func.sum(reward_claims.c.amount))
    .where(_OF_PERSON, _ON_DAY)
    .group_by(reward_claims.c.kind)
)
_KINDS_EVER = Statement(select(reward_claims.c.kind).distinct().where(_OF_PERSON))
# Bonus credits paid to `:person_id` on `:day`, all bonuses together.
RECEIVED_ON = select(func.coalesce(func.sum(reward_claims.c.amount), const(0))).where(_OF_PERSON, _ON_DAY)
_RECEIVED_ON = Statement(RECEIVED_ON)
_INSERT_CLAIM = Statement(
    insert(reward_claims).values(
        key=bindparam("key"),
        person_id=bindparam("person_id"),
        kind=bindparam("kind"),
        day=bindparam("day"),
        amount=bindparam("amount"),
        created_at=bindparam("now"),
    )
)


def received_on(conn: Connection, person_id: int, day: str) -> int:
    """Bonus credits paid to the person on `day`, all bonuses together."""
    return as_int(scalar(conn, _RECEIVED_ON, person_id=person_id, day=day))


def bonus_snapshot(conn: Connection, person: Person, now: dt.datetime) -> BonusSnapshot:
    """What a bonus decision needs about `person` (whose wallet the caller has locked)."""
    day = utc_day(now)
    today = {
        BonusKind(str(kind)): as_int(total)
        for kind, total in every(conn, _CLAIMS_ON, person_id=person.person_id, day=day)
    }
    ever = frozenset(BonusKind(str(kind)) for (kind,) in every(conn, _KINDS_EVER, person_id=person.person_id))
    return BonusSnapshot(
        person_id=person.person_id,
        wallet_id=person.wallet_id,
        day=day,
        received_today=sum(today.values()),
        claimed_today=frozenset(today),
        claimed_ever=ever,
        packs_bought=packs_bought(conn, person.wallet_id),
    )


def apply_bonus(
    conn: Connection, system: SystemAccounts, person: Person, effect: BonusEffect, now: dt.datetime
) -> BonusResult:
    """Grant and record what a bonus decision decided; a grant whose key was applied before is
    "already"."""
    if effect.grant is None or effect.claim is None:
        return BonusResult(effect.status, person.person_id, balance(conn, person.wallet_id), plan=effect.plan)
    outcome = post_grant(conn, system, effect.grant, now)
    if outcome.duplicate:
        return BonusResult(BonusStatus.ALREADY, person.person_id, outcome.balance)
    record_claim(conn, effect.claim, now)
    return BonusResult(BonusStatus.GRANTED, person.person_id, outcome.balance, outcome)


def record_claim(conn: Connection, claim: BonusClaim, now: dt.datetime) -> None:
    """A paid bonus's claim (its key is the grant's): what the day's free allowance sums."""
    run(
        conn,
        _INSERT_CLAIM,
        key=claim.key,
        person_id=claim.person_id,
        kind=str(claim.kind),
        day=claim.day,
        amount=claim.amount,
        now=to_db_time(conn, now),
    )


class SqlBonusStore:
    """`BonusStore` (core/ports.py): each call is one unit of work."""

    def __init__(self, db: Database, ledger: SqlLedgerStore) -> None:
        self.db = db
        self.ledger = ledger

    async def grant_bonus(self, identity: str, decide: BonusDecision, *, now: dt.datetime) -> BonusResult:
        system = self.ledger.system

        def work(conn: Connection) -> BonusResult:
            person = locked_person(conn, identity)
            return apply_bonus(conn, system, person, decide(bonus_snapshot(conn, person, now)), now)

        return await self.db.write(work)

    async def bonus_snapshot(self, person_id: int, *, now: dt.datetime) -> BonusSnapshot:
        def work(conn: Connection) -> BonusSnapshot:
            return bonus_snapshot(conn, current_person(conn, person_id), now)

        return await self.db.read(work)

    async def person_created_at(self, person_id: int) -> dt.datetime | None:
        return await self.db.read(lambda c: created_at(c, survivor(c, person_id)))
