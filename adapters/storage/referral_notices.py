"""Referral payout notices over SQL: `ReferralNoticeStore` (`core.domain.notices`).

A row is written (*claimed*, state `sending`) in its own transaction before the message goes
out, keyed by the payout's ledger key under the primary key: two sweepers, or a sweeper and the
payout path, claim a notice once. The payout itself is never touched here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, and_, bindparam, exists, select, update

from adapters.storage.database import Database
from adapters.storage.persons import identities_of, survivor
from adapters.storage.sql import Statement, as_int, const, every, insert_or_skip, one, run, scalar, to_db_time
from adapters.storage.tables import transfers
from adapters.storage.tables_rewards import referral_notices, reward_claims
from core.domain.ledger import Reason
from core.domain.notices import NoticeCandidate, NoticeState, ReferralNotice

# The referral payouts since :since never claimed: their ledger keys as the transfers hold them
# (a key rebuilt from the referral would name a person an account link has since re-pointed),
# and who was paid, from the payout's claim. The partial index `ix_transfers_referral_created`
# holds just these transfers.
_UNCLAIMED = Statement(
    select(transfers.c.key, reward_claims.c.person_id)
    .select_from(transfers.join(reward_claims, reward_claims.c.key == transfers.c.key))
    .where(
        transfers.c.reason == const(Reason.REFERRAL),
        transfers.c.created_at >= bindparam("since"),
        ~exists().where(referral_notices.c.key == transfers.c.key),
    )
    .order_by(transfers.c.created_at, transfers.c.key)
    .limit(bindparam("limit"))
)
# A failed notice is sent again while it has attempts left, once its last try is old enough.
_RETRY_DUE = and_(
    referral_notices.c.state == const(NoticeState.FAILED),
    referral_notices.c.attempts < bindparam("max_attempts"),
    referral_notices.c.claimed_at <= bindparam("retry_before"),
)
_RETRIES = Statement(
    select(referral_notices.c.key, referral_notices.c.person_id)
    .where(_RETRY_DUE)
    .order_by(referral_notices.c.claimed_at, referral_notices.c.key)
    .limit(bindparam("limit"))
)
_PAID_AMOUNT = Statement(
    select(transfers.c.amount).where(transfers.c.key == bindparam("key"), transfers.c.reason == const(Reason.REFERRAL))
)
_CLAIM = Statement(
    insert_or_skip(
        referral_notices,
        ["key"],
        {
            "key": bindparam("key"),
            "person_id": bindparam("person_id"),
            "state": const(NoticeState.SENDING),
            "attempts": const(1),
            "claimed_at": bindparam("now"),
        },
    )
)
_RECLAIM = Statement(
    update(referral_notices)
    .where(referral_notices.c.key == bindparam("key"), _RETRY_DUE)
    .values(
        state=const(NoticeState.SENDING),
        attempts=referral_notices.c.attempts + const(1),
        claimed_at=bindparam("now"),
        person_id=bindparam("person_id"),
    )
    .returning(referral_notices.c.attempts)
)
_FINISH = Statement(
    update(referral_notices)
    .where(referral_notices.c.key == bindparam("key"), referral_notices.c.state == const(NoticeState.SENDING))
    .values(state=bindparam("state"), sent_at=bindparam("sent_at"))
)


class SqlReferralNoticeStore:
    """`ReferralNoticeStore` (core/ports.py): each call is one unit of work, committed before the
    caller sends anything."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def due_notices(
        self, *, since: dt.datetime, retry_before: dt.datetime, max_attempts: int, limit: int
    ) -> list[NoticeCandidate]:
        def work(conn: Connection) -> list[NoticeCandidate]:
            retries = every(
                conn,
                _RETRIES,
                max_attempts=max_attempts,
                retry_before=to_db_time(conn, retry_before),
                limit=limit,
            )
            fresh = every(conn, _UNCLAIMED, since=to_db_time(conn, since), limit=max(limit - len(retries), 0))
            return [NoticeCandidate(str(key), as_int(person)) for key, person in [*retries, *fresh]]

        return await self.db.read(work)

    async def claim_notices(
        self,
        candidates: list[NoticeCandidate],
        *,
        platforms: frozenset[str],
        retry_before: dt.datetime,
        max_attempts: int,
        now: dt.datetime,
    ) -> list[ReferralNotice]:
        if not candidates or not platforms:
            return []

        def work(conn: Connection) -> list[ReferralNotice]:
            claimed: list[ReferralNotice] = []
            stamp = to_db_time(conn, now)
            for candidate in candidates:
                amount = scalar(conn, _PAID_AMOUNT, key=candidate.key)
                if amount is None:
                    continue  # no such payout: nothing to announce
                receiver = survivor(conn, candidate.person_id)
                reachable = tuple(
                    identity for identity in identities_of(conn, receiver) if identity.split(":", 1)[0] in platforms
                )
                if not reachable:
                    continue  # left for a process that runs one of their platforms
                if run(conn, _CLAIM, key=candidate.key, person_id=receiver, now=stamp).rowcount == 1:
                    attempt = 1
                else:
                    row = one(
                        conn,
                        _RECLAIM,
                        key=candidate.key,
                        person_id=receiver,
                        now=stamp,
                        max_attempts=max_attempts,
                        retry_before=to_db_time(conn, retry_before),
                    )
                    if row is None:
                        continue  # claimed before (sent, being sent, or out of attempts)
                    attempt = as_int(row[0])
                claimed.append(ReferralNotice(candidate.key, receiver, as_int(amount), reachable, attempt))
            return claimed

        return await self.db.write(work)

    async def notice_sent(self, key: str, *, now: dt.datetime) -> None:
        await self._finish(key, NoticeState.SENT, now)

    async def notice_failed(self, key: str, *, now: dt.datetime) -> None:
        await self._finish(key, NoticeState.FAILED, now)

    async def _finish(self, key: str, state: NoticeState, now: dt.datetime) -> None:
        def work(conn: Connection) -> None:
            sent_at = to_db_time(conn, now) if state == NoticeState.SENT else None
            run(conn, _FINISH, key=key, state=str(state), sent_at=sent_at)

        await self.db.write(work)
