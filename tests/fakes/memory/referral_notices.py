"""Referral payout notices in memory: `ReferralNoticeStore`. A notice is claimed once per payout
key (the first claim, or a retry of a failed one), before anything is sent."""

from __future__ import annotations

import datetime as dt

from core.domain.ledger import Reason
from core.domain.notices import NoticeCandidate, NoticeState, ReferralNotice
from core.domain.rewards import REFERRAL_SIDES, SideDecision, referral_key
from tests.fakes.memory.world import NoticeRow, World


class FakeReferralNoticeStore:
    def __init__(self, world: World) -> None:
        self.world = world

    async def due_notices(
        self, *, since: dt.datetime, retry_before: dt.datetime, max_attempts: int, limit: int
    ) -> list[NoticeCandidate]:
        retries = sorted(
            (
                n
                for n in self.world.notices.values()
                if n.state == NoticeState.FAILED and n.attempts < max_attempts and n.claimed_at <= retry_before
            ),
            key=lambda n: (n.claimed_at, n.key),
        )[:limit]
        paid: list[tuple[dt.datetime, str, int]] = []
        for row in self.world.referrals.values():
            for side, receiver in zip(REFERRAL_SIDES, (row.referred, row.referrer), strict=True):
                state, settled_at = getattr(row, f"{side}_state"), getattr(row, f"{side}_settled_at")
                key = referral_key(row.referred, side)
                if state == SideDecision.PAY and settled_at >= since and key not in self.world.notices:
                    paid.append((settled_at, key, receiver))
        fresh = sorted(paid)[: max(limit - len(retries), 0)]
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
                    continue  # no such payout (a re-pointed referral): nothing to announce
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
                elif row.state == NoticeState.FAILED and row.attempts < max_attempts and row.claimed_at <= retry_before:
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
