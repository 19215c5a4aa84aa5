"""`ReferralNoticeStore` over SQL (see `adapters.storage.notice_sql`): each call is one unit of
work on the batching `Database`, committed before the caller sends anything."""

from __future__ import annotations

import datetime as dt

from adapters.storage import notice_sql
from adapters.storage.database import Database
from core.domain.notices import NoticeCandidate, NoticeState, ReferralNotice


class SqlReferralNotices:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def due_notices(
        self, *, since: dt.datetime, retry_before: dt.datetime, max_attempts: int, limit: int
    ) -> list[NoticeCandidate]:
        return await self.db.read(lambda c: notice_sql.due_notices(c, since, retry_before, max_attempts, limit))

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
        return await self.db.write(
            lambda c: notice_sql.claim_notices(c, candidates, platforms, retry_before, max_attempts, now)
        )

    async def notice_sent(self, key: str, *, now: dt.datetime) -> None:
        await self.db.write(lambda c: notice_sql.finish_notice(c, key, NoticeState.SENT, now))

    async def notice_failed(self, key: str, *, now: dt.datetime) -> None:
        await self.db.write(lambda c: notice_sql.finish_notice(c, key, NoticeState.FAILED, now))
