"""Referral codes, referrals and their payout over SQL: `ReferralStore`.

Both sides are paid when the referred person's first generation succeeds; each side settles
once, under both persons' wallet locks, as `core.domain.referral_payouts.decide_referral` decides from
the `ReferralSnapshot` read here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Connection, bindparam, case, func, or_, select, update

from adapters.storage.bonuses import apply_bonus, received_on
from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore, generations
from adapters.storage.persons import created_at, lock_wallets, locked_person, survivor, wallet_of
from adapters.storage.sql import Statement, as_int, const, every, insert_or_skip, one, run, scalar, to_db_time
from adapters.storage.tables_rewards import referral_codes, referrals
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

CODE_ATTEMPTS = 8

_OF_REFERRED = referrals.c.referred_person_id == bindparam("person_id")
_OPEN = or_(referrals.c.referred_state.is_(None), referrals.c.referrer_state.is_(None))

_CODE_OF = Statement(
    select(referral_codes.c.code)
    .where(referral_codes.c.person_id == bindparam("person_id"))
    .order_by(referral_codes.c.created_at, referral_codes.c.code)
    .limit(const(1))
)
_INSERT_CODE = Statement(
    insert_or_skip(
        referral_codes,
        ["code"],
        {"code": bindparam("code"), "person_id": bindparam("person_id"), "created_at": bindparam("now")},
    )
)
_OWNER_OF_CODE = Statement(select(referral_codes.c.person_id).where(referral_codes.c.code == bindparam("code")))
_COUNTS = Statement(
    select(
        func.count(),
        func.coalesce(
            func.sum(case((referrals.c.referrer_state == const(SideDecision.PAY), const(1)), else_=const(0))), const(0)
        ),
    ).where(referrals.c.referrer_person_id == bindparam("person_id"))
)
_REFERRER_OF = Statement(select(referrals.c.referrer_person_id).where(_OF_REFERRED))
_INSERT_REFERRAL = Statement(
    insert_or_skip(
        referrals,
        ["referred_person_id"],
        {
            "referred_person_id": bindparam("referred"),
            "referrer_person_id": bindparam("referrer"),
            "code": bindparam("code"),
            "created_at": bindparam("now"),
        },
    )
)
_REFERRAL = Statement(
    select(
        referrals.c.referred_person_id,
        referrals.c.referrer_person_id,
        referrals.c.qualified_at,
        referrals.c.referred_state,
        referrals.c.referrer_state,
    ).where(_OF_REFERRED)
)
_QUALIFY = Statement(
    update(referrals).where(_OF_REFERRED, referrals.c.qualified_at.is_(None)).values(qualified_at=bindparam("now"))
)
_SETTLE = {
    "referred": Statement(
        update(referrals)
        .where(_OF_REFERRED, referrals.c.referred_state.is_(None))
        .values(referred_state=bindparam("state"), referred_settled_at=bindparam("now"))
    ),
    "referrer": Statement(
        update(referrals)
        .where(_OF_REFERRED, referrals.c.referrer_state.is_(None))
        .values(referrer_state=bindparam("state"), referrer_settled_at=bindparam("now"))
    ),
}
_PAID_THIS_MONTH = Statement(
    select(func.count()).where(
        referrals.c.referrer_person_id == bindparam("person_id"),
        referrals.c.referrer_state == const(SideDecision.PAY),
        referrals.c.referrer_settled_at >= bindparam("start"),
        referrals.c.referrer_settled_at < bindparam("end"),
    )
)
_DUE = Statement(
    select(referrals.c.referred_person_id)
    .where(referrals.c.qualified_at.is_not(None), _OPEN)
    .order_by(referrals.c.qualified_at)
    .limit(bindparam("limit"))
)
_HAS_OPEN = Statement(select(const(1)).select_from(referrals).where(_OF_REFERRED, _OPEN))


def _party(
    conn: Connection, person_id: int, wallet_id: int, state: str | None, now: dt.datetime, *, referrer: bool
) -> ReferralParty:
    """One side as the decision sees it; what only an open side needs is read only for one."""
    paid_this_month = None
    if referrer and state is None:
        paid_this_month = as_int(
            scalar(
                conn,
                _PAID_THIS_MONTH,
                person_id=person_id,
                start=to_db_time(conn, month_start(now)),
                end=to_db_time(conn, next_month_start(now)),
            )
        )
    return ReferralParty(
        person_id=person_id,
        wallet_id=wallet_id,
        created_at=created_at(conn, person_id),
        received_today=received_on(conn, person_id, utc_day(now)) if state is None else 0,
        state=state,
        paid_this_month=paid_this_month,
    )


class SqlReferralStore:
    """`ReferralStore` (core/ports.py): each call is one unit of work."""

    def __init__(self, db: Database, ledger: SqlLedgerStore) -> None:
        self.db = db
        self.ledger = ledger

    async def referral_code(self, identity: str, new_code: Callable[[], str], *, now: dt.datetime) -> ReferralSummary:
        """The person's code, made on first ask (a random code; a clash just draws another)."""

        def work(conn: Connection) -> ReferralSummary:
            person = locked_person(conn, identity)
            code = scalar(conn, _CODE_OF, person_id=person.person_id)
            for _ in range(CODE_ATTEMPTS):
                if code is not None:
                    break
                candidate = new_code()
                stamp = to_db_time(conn, now)
                if run(conn, _INSERT_CODE, code=candidate, person_id=person.person_id, now=stamp).rowcount == 1:
                    code = candidate
            if code is None:
                raise InternalError("could not draw a free referral code")
            referred, rewarded = one(conn, _COUNTS, person_id=person.person_id) or (0, 0)
            return ReferralSummary(str(code), as_int(referred), as_int(rewarded))

        return await self.db.write(work)

    async def record_referral(
        self, identity: str, code: str, rules: CreditRules, *, now: dt.datetime
    ) -> ReferralRecord:
        def work(conn: Connection) -> ReferralRecord:
            person = locked_person(conn, identity)
            owner = scalar(conn, _OWNER_OF_CODE, code=code)
            referrer = None if owner is None else survivor(conn, as_int(owner))
            existing = self._referrer_of(conn, person.person_id)
            refusal = referral_refusal(
                referred_person_id=person.person_id,
                referrer_person_id=referrer,
                referrer_referred_by=None if referrer is None else self._referrer_of(conn, referrer),
                existing_referrer=existing,
                referred_created_at=created_at(conn, person.person_id),
                referred_generations=generations(conn, person.wallet_id),
                now=now,
                rules=rules,
            )
            if refusal is not None:
                return ReferralRecord(refusal, referrer)
            if existing is not None:
                return ReferralRecord(None, referrer, duplicate=True)
            stamp = to_db_time(conn, now)
            run(conn, _INSERT_REFERRAL, referred=person.person_id, referrer=referrer, code=code, now=stamp)
            return ReferralRecord(None, referrer)

        return await self.db.write(work)

    @staticmethod
    def _referrer_of(conn: Connection, person_id: int) -> int | None:
        """Who referred `person_id`, as that person is now."""
        found = scalar(conn, _REFERRER_OF, person_id=person_id)
        return None if found is None else survivor(conn, as_int(found))

    async def settle_referral(
        self, person_id: int, decide: ReferralDecision, *, now: dt.datetime
    ) -> ReferralPayout | None:
        system = self.ledger.system

        def work(conn: Connection) -> ReferralPayout | None:
            referred = survivor(conn, person_id)
            row = one(conn, _REFERRAL, person_id=referred)
            if row is None:
                return None
            referrer = survivor(conn, as_int(row[1]))
            wallets = {referred: wallet_of(conn, referred), referrer: wallet_of(conn, referrer)}
            lock_wallets(conn, *wallets.values())
            row = one(conn, _REFERRAL, person_id=referred)  # again, under the locks
            if row is None:
                return None
            referred_state, referrer_state = row[3], row[4]
            states = {
                "referred": None if referred_state is None else str(referred_state),
                "referrer": None if referrer_state is None else str(referrer_state),
            }
            parties = {
                "referred": _party(conn, referred, wallets[referred], states["referred"], now, referrer=False),
                "referrer": _party(conn, referrer, wallets[referrer], states["referrer"], now, referrer=True),
            }
            effect = decide(
                ReferralSnapshot(parties["referred"], parties["referrer"], row[2] is not None, utc_day(now))
            )
            if effect is None:
                return None
            stamp = to_db_time(conn, now)
            if effect.qualify:
                run(conn, _QUALIFY, person_id=referred, now=stamp)
            paid = {"referred": 0, "referrer": 0}
            for settlement in effect.sides:
                party = parties[settlement.side]
                if settlement.effect is not None:
                    receiver = Person(party.person_id, party.wallet_id, created=False)
                    paid[settlement.side] = apply_bonus(conn, system, receiver, settlement.effect, now).granted
                if settlement.decision != SideDecision.WAIT:
                    state = str(settlement.decision)
                    run(conn, _SETTLE[settlement.side], person_id=referred, state=state, now=stamp)
                    states[settlement.side] = state
            return ReferralPayout(
                referred_person_id=referred,
                referrer_person_id=referrer,
                referred_credits=paid["referred"],
                referrer_credits=paid["referrer"],
                referred_state=states["referred"] or str(SideDecision.WAIT),
                referrer_state=states["referrer"] or str(SideDecision.WAIT),
            )

        return await self.db.write(work)

    async def due_referrals(self, *, limit: int) -> list[int]:
        return await self.db.read(lambda c: [as_int(row[0]) for row in every(c, _DUE, limit=limit)])

    async def has_open_referral(self, person_id: int) -> bool:
        """Cheap read for the common case: most successes have nothing to pay."""
        return await self.db.read(lambda c: scalar(c, _HAS_OPEN, person_id=survivor(c, person_id)) is not None)
