"""Account linking over SQL: `LinkStore`. A one-time code from one identity joins another
identity to its person.

- A brand-new identity (no person yet) simply joins: no person, no wallet, no welcome grant.
- Two existing persons merge as `core.domain.merges.decide_merge` decides from what is read
  here under both wallet locks: the absorbed wallet's balance moves with one `link` transfer per
  lot kind, and its lots move along unchanged, so the spend order, expiry, the plan (packs
  bought) and refunds by order still work. No credits are created; the auditor stays clean.
- Everything that names the absorbed person is re-pointed (identities, reward claims, referral
  codes and referrals, emails, tickets); `person_links` records the merge for tables owned by
  other areas (jobs, orders), which resolve an old person id through it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BindParameter, Connection, Table, and_, bindparam, delete, func, insert, or_, select, update

from adapters.storage.database import Database
from adapters.storage.ledger import balance, move
from adapters.storage.persons import (
    attach_identity,
    created_at,
    find_person,
    identities_of,
    lock_wallets,
    require_person,
    survivor,
    wallet_of,
)
from adapters.storage.sql import Statement, as_int, const, every, from_db_time, one, run, scalar, to_db_time
from adapters.storage.tables import identities, lots
from adapters.storage.tables_rewards import (
    email_verifications,
    link_codes,
    person_links,
    referral_codes,
    referrals,
    reward_claims,
    support_tickets,
    verified_emails,
)
from core.domain.ledger import LotKind, Reason
from core.domain.merges import LinkParty, MergePlan, decide_merge, link_code_valid
from core.domain.rewards import LinkRefusal, LinkResult, platforms_clash
from core.errors import InternalError, LinkCodeInvalid, LinkRefused

_SURVIVOR: BindParameter[int] = bindparam("survivor")
_ABSORBED: BindParameter[int] = bindparam("absorbed")

_DROP_UNUSED = Statement(
    delete(link_codes).where(link_codes.c.person_id == bindparam("person_id"), link_codes.c.used_at.is_(None))
)
_INSERT_CODE = Statement(
    insert(link_codes).values(
        code_digest=bindparam("digest"),
        person_id=bindparam("person_id"),
        expires_at=bindparam("expires_at"),
        created_at=bindparam("now"),
    )
)
_CODE = Statement(
    select(link_codes.c.person_id, link_codes.c.expires_at, link_codes.c.used_at).where(
        link_codes.c.code_digest == bindparam("digest")
    )
)
_USE_CODE = Statement(
    update(link_codes)
    .where(link_codes.c.code_digest == bindparam("digest"), link_codes.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
)
_UNSPENT_BY_KIND = Statement(
    select(lots.c.kind, func.coalesce(func.sum(lots.c.remaining), const(0)))
    .where(lots.c.account_id == bindparam("account_id"))
    .group_by(lots.c.kind)
)
_MOVE_LOTS = Statement(
    update(lots).where(lots.c.account_id == bindparam("source")).values(account_id=bindparam("target"))
)


def _repoint(table: Table, column: str) -> Statement:
    """Rows naming the absorbed person in `column` name the survivor instead."""
    return Statement(update(table).where(table.c[column] == _ABSORBED).values({column: _SURVIVOR}))


_REPOINT = [
    _repoint(identities, "person_id"),
    _repoint(reward_claims, "person_id"),
    _repoint(referral_codes, "person_id"),
    _repoint(referrals, "referrer_person_id"),
    _repoint(verified_emails, "person_id"),
    _repoint(support_tickets, "person_id"),
    Statement(delete(link_codes).where(link_codes.c.person_id == _ABSORBED, link_codes.c.used_at.is_(None))),
    _repoint(person_links, "survivor_person_id"),
]
_OPEN_REFERRAL = or_(referrals.c.referred_state.is_(None), referrals.c.referrer_state.is_(None))
_HAS_REFERRAL = Statement(
    select(const(1)).select_from(referrals).where(referrals.c.referred_person_id == bindparam("person_id"))
)
_MOVE_REFERRAL = _repoint(referrals, "referred_person_id")
_DROP_OPEN_REFERRAL = Statement(
    delete(referrals).where(referrals.c.referred_person_id == bindparam("person_id"), _OPEN_REFERRAL)
)
_DROP_SELF_REFERRAL = Statement(
    delete(referrals).where(
        and_(
            referrals.c.referred_person_id == bindparam("person_id"),
            referrals.c.referrer_person_id == bindparam("person_id"),
        ),
        _OPEN_REFERRAL,
    )
)
_HAS_EMAIL_CODE = Statement(
    select(const(1)).select_from(email_verifications).where(email_verifications.c.person_id == bindparam("person_id"))
)
_MOVE_EMAIL_CODE = _repoint(email_verifications, "person_id")
_DROP_EMAIL_CODE = Statement(
    delete(email_verifications).where(email_verifications.c.person_id == bindparam("person_id"))
)
_INSERT_LINK = Statement(
    insert(person_links).values(absorbed_person_id=_ABSORBED, survivor_person_id=_SURVIVOR, linked_at=bindparam("now"))
)


def _attach(conn: Connection, identity: str, person_id: int, now: dt.datetime) -> LinkResult:
    wallet = wallet_of(conn, person_id)
    lock_wallets(conn, wallet)
    known = identities_of(conn, person_id)
    if platforms_clash(known, [identity]):
        raise LinkRefused(LinkRefusal.PLATFORM_TAKEN)
    if not attach_identity(conn, identity, person_id, now):
        # The identity became a person meanwhile (its first message raced the link): merge.
        return _merge(conn, person_id, survivor(conn, require_person(conn, identity).person_id), now)
    return LinkResult(person_id, None, tuple([*known, identity]), balance(conn, wallet), moved_free=0, moved_paid=0)


def _party(conn: Connection, person_id: int, wallet_id: int) -> LinkParty:
    return LinkParty(
        person_id=person_id,
        wallet_id=wallet_id,
        created_at=created_at(conn, person_id),
        identities=tuple(identities_of(conn, person_id)),
        balance=balance(conn, wallet_id),
        unspent={
            LotKind(str(kind)): as_int(amount) for kind, amount in every(conn, _UNSPENT_BY_KIND, account_id=wallet_id)
        },
    )


def _merge(conn: Connection, issuer: int, other: int, now: dt.datetime) -> LinkResult:
    wallets = {issuer: wallet_of(conn, issuer), other: wallet_of(conn, other)}
    lock_wallets(conn, *wallets.values())
    plan = decide_merge(_party(conn, issuer, wallets[issuer]), _party(conn, other, wallets[other]))
    _move_balance(conn, plan, now)
    _repoint_person(conn, plan.keep.person_id, plan.gone.person_id, now)
    moved = {move.kind: move.amount for move in plan.moves}
    return LinkResult(
        plan.keep.person_id,
        plan.gone.person_id,
        tuple(identities_of(conn, plan.keep.person_id)),
        balance(conn, plan.keep.wallet_id),
        moved_free=moved.get(LotKind.FREE, 0),
        moved_paid=moved.get(LotKind.PAID, 0),
    )


def _move_balance(conn: Connection, plan: MergePlan, now: dt.datetime) -> None:
    """The `link` transfers, then the lots themselves (with their pack, order and expiry) change
    wallet: lots and posted totals stay equal on both sides."""
    source, target = plan.gone.wallet_id, plan.keep.wallet_id
    for step in plan.moves:
        if not move(conn, step.key, source, target, step.amount, Reason.LINK, now, guarded=False, memo=step.memo):
            raise InternalError(f"{step.key} was applied before")  # a person is absorbed once
    run(conn, _MOVE_LOTS, target=target, source=source)


def _repoint_person(conn: Connection, keep: int, gone: int, now: dt.datetime) -> None:
    # Referrals where `gone` was the referred one: one referrer per person, so if both had one,
    # the absorbed one's unsettled referral is cancelled.
    if scalar(conn, _HAS_REFERRAL, person_id=keep) is None:
        run(conn, _MOVE_REFERRAL, survivor=keep, absorbed=gone)
    else:
        run(conn, _DROP_OPEN_REFERRAL, person_id=gone)
    if scalar(conn, _HAS_EMAIL_CODE, person_id=keep) is None:
        run(conn, _MOVE_EMAIL_CODE, survivor=keep, absorbed=gone)
    else:
        run(conn, _DROP_EMAIL_CODE, person_id=gone)
    for statement in _REPOINT:
        run(conn, statement, survivor=keep, absorbed=gone)
    # A referral between the two is now a self-referral: cancel it unless already paid.
    run(conn, _DROP_SELF_REFERRAL, person_id=keep)
    run(conn, _INSERT_LINK, absorbed=gone, survivor=keep, now=to_db_time(conn, now))


class SqlLinkStore:
    """`LinkStore` (core/ports.py): each call is one unit of work."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_link_code(self, identity: str, code: str, *, expires_at: dt.datetime, now: dt.datetime) -> None:
        """One live code per person: a new one replaces the unused ones."""

        def work(conn: Connection) -> None:
            person = require_person(conn, identity)
            run(conn, _DROP_UNUSED, person_id=person.person_id)
            run(
                conn,
                _INSERT_CODE,
                digest=code,
                person_id=person.person_id,
                expires_at=to_db_time(conn, expires_at),
                now=to_db_time(conn, now),
            )

        await self.db.write(work)

    async def redeem_link(self, identity: str, code: str, *, now: dt.datetime) -> LinkResult:
        def work(conn: Connection) -> LinkResult:
            row = one(conn, _CODE, digest=code)
            if row is None or not link_code_valid(from_db_time(row[1]), from_db_time(row[2]), now):
                raise LinkCodeInvalid()
            # Use the code first: a refusal below rolls the whole unit back, the code included.
            if run(conn, _USE_CODE, digest=code, now=to_db_time(conn, now)).rowcount != 1:
                raise LinkCodeInvalid()  # used by someone else a moment ago
            issuer = survivor(conn, as_int(row[0]))
            found = find_person(conn, identity)
            if found is None:
                return _attach(conn, identity, issuer, now)
            return _merge(conn, issuer, survivor(conn, found.person_id), now)

        return await self.db.write(work)
