"""Referral payout notices in memory: `ReferralNoticeStore`. A notice is claimed once per payout
key (the first claim, or a retry of a failed one), before anything is sent."""

from __future__ import annotations

import datetime as dt

from core.domain.ledger import Reason
from core.domain.notices import NoticeCandidate, NoticeState, ReferralNotice
from tests.fakes.memory.world import NoticeRow, World


def _retry_due(row: NoticeRow, retry_before: dt.datetime, max_attempts: int) -> bool:
    """A failed notice is sent again while it has attempts left, once its last try is old enough."""
    return row.state == NoticeState.FAILED and row.attempts < max_attempts and row.claimed_at <= retry_before


class FakeReferralNoticeStore:
    def __init__(self, world: World) -> None:
        self.world = world

    async def due_notices(
        self, *, since: dt.datetime, retry_before: dt.datetime, max_attempts: int, limit: int
    ) -> list[NoticeCandidate]:
        retries = sorted(
            (n for n in self.world.notices.values() if _retry_due(n, retry_before, max_attempts)),
            key=lambda n: (n.claimed_at, n.key),
        )[:limit]
        # The payouts by their ledger keys, and who was paid from their claims (as the SQL store).
        paid = sorted(
            (t.created_at, t.key, self.world.claims[t.key].person_id)
            for t in self.world.transfers.values()
            if t.reason == Reason.REFERRAL and t.created_at >= since and t.key not in self.world.notices
        )
        fresh = paid[: max(limit - len(retries), 0)]
        return [NoticeCandidate(n.key, n.person_id) for n in retries] + [
            NoticeCandidate(key, receiver) for _at, key, receiver in fresh
        ]

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
        claimed: list[ReferralNotice] = []
        with self.world.transaction():
            for candidate in candidates:
                payout = self.world.transfers.get(candidate.key)
                if payout is None or payout.reason != Reason.REFERRAL:
                    continue  # no such payout: nothing to announce
                receiver = self.world.survivor(candidate.person_id)
                reachable = tuple(
                    key for key in self.world.identities_of(receiver) if key.split(":", 1)[0] in platforms
                )
                if not reachable:
                    continue  # left for a process that runs one of their platforms
                row = self.world.notices.get(candidate.key)
                if row is None:
                    row = self.world.notices[candidate.key] = NoticeRow(
                        candidate.key, receiver, NoticeState.SENDING, 1, now
                    )
                elif _retry_due(row, retry_before, max_attempts):
                    row.state, row.attempts, row.claimed_at, row.person_id = (
                        NoticeState.SENDING,
                        row.attempts + 1,
                        now,
                        receiver,
                    )
                else:
                    continue  # claimed before (sent, being sent, or out of attempts)
                claimed.append(ReferralNotice(candidate.key, receiver, payout.amount, reachable, row.attempts))
        return claimed

    async def notice_sent(self, key: str, *, now: dt.datetime) -> None:
        self._finish(key, NoticeState.SENT, now)

    async def notice_failed(self, key: str, *, now: dt.datetime) -> None:
        self._finish(key, NoticeState.FAILED, now)

    def _finish(self, key: str, state: NoticeState, now: dt.datetime) -> None:
        row = self.world.notices.get(key)
        if row is not None and row.state == NoticeState.SENDING:
            row.state = state
            row.sent_at = now if state == NoticeState.SENT else None
