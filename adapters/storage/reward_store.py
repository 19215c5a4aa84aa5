"""The reward-area stores over SQL: each call is one unit of work on the batching `Database`,
composing the ledger's own functions so that a use case is one transaction.

One class implements `BonusStore`, `ReferralStore`, `EmailStore`, `LinkStore`, `SupportStore`
and `StatsStore` (core/ports.py); it shares the ledger store's system-account cache.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Connection

from adapters.storage import bonus_sql, email_sql, link_sql, referral_sql, stats_sql, support_sql
from adapters.storage.database import Database
from adapters.storage.ledger_store import SqlLedgerStore
from adapters.storage.persons_sql import created_at, survivor, wallet_of
from core.domain.rewards import (
    Bonus,
    BonusKind,
    BonusResult,
    EmailConfirmation,
    EmailStart,
    LinkResult,
    ReferralPayout,
    ReferralRecord,
    ReferralSummary,
    RewardRules,
    Window,
)
from core.domain.stats import WindowStats
from core.domain.support import Ticket, TicketReply


class SqlRewardStore:
    def __init__(self, db: Database, ledger: SqlLedgerStore) -> None:
        self.db = db
        self.system = ledger.system

    # --- persons -----------------------------------------------------------------------------

    async def current_person(self, person_id: int) -> tuple[int, int]:
        """(person id, wallet id) that `person_id` is now, after any account linking. For areas
        whose rows keep an old person id (jobs, orders)."""

        def work(conn: Connection) -> tuple[int, int]:
            current = survivor(conn, person_id)
            return current, wallet_of(conn, current)

        return await self.db.read(work)

    async def person_created_at(self, person_id: int) -> dt.datetime | None:
        return await self.db.read(lambda c: created_at(c, survivor(c, person_id)))

    async def wallet_of(self, person_id: int) -> int:
        return await self.db.read(lambda c: wallet_of(c, survivor(c, person_id)))

    # --- bonuses -----------------------------------------------------------------------------

    async def grant_bonus(self, identity: str, bonus: Bonus, rules: RewardRules, *, now: dt.datetime) -> BonusResult:
        return await self.db.write(lambda c: bonus_sql.grant_bonus(c, self.system, identity, bonus, rules, now))

    async def bonus_claimed(self, person_id: int, kind: BonusKind, day: str) -> bool:
        return await self.db.read(lambda c: bonus_sql.claimed(c, survivor(c, person_id), kind, day))

    # --- referrals ---------------------------------------------------------------------------

    async def referral_code(self, identity: str, new_code: Callable[[], str], *, now: dt.datetime) -> ReferralSummary:
        return await self.db.write(lambda c: referral_sql.referral_code(c, identity, new_code, now))

    async def record_referral(
        self, identity: str, code: str, rules: RewardRules, *, now: dt.datetime
    ) -> ReferralRecord:
        return await self.db.write(lambda c: referral_sql.record_referral(c, identity, code, rules, now))

    async def settle_referral(
        self,
        person_id: int,
        rules: RewardRules,
        *,
        now: dt.datetime,
        qualify: bool,
        expires_at: dt.datetime | None = None,
    ) -> ReferralPayout | None:
        return await self.db.write(
            lambda c: referral_sql.settle_referral(c, self.system, person_id, rules, now, qualify, expires_at)
        )

    async def due_referrals(self, *, limit: int) -> list[int]:
        return await self.db.read(lambda c: referral_sql.due_referrals(c, limit))

    async def has_open_referral(self, person_id: int) -> bool:
        """Cheap read for the common case: most successes have nothing to pay."""
        return await self.db.read(lambda c: referral_sql.has_open_referral(c, survivor(c, person_id)))

    # --- email -------------------------------------------------------------------------------

    async def begin_email(
        self, identity: str, address: str, code: str, rules: RewardRules, *, now: dt.datetime
    ) -> EmailStart:
        return await self.db.write(lambda c: email_sql.begin_email(c, identity, address, code, rules, now))

    async def email_send_failed(self, person_id: int) -> None:
        await self.db.write(lambda c: email_sql.email_send_failed(c, person_id))

    async def confirm_email(
        self, identity: str, code: str, bonus: Bonus, rules: RewardRules, *, now: dt.datetime
    ) -> EmailConfirmation:
        return await self.db.write(lambda c: email_sql.confirm_email(c, self.system, identity, code, bonus, rules, now))

    # --- linking -----------------------------------------------------------------------------

    async def create_link_code(self, identity: str, code: str, *, expires_at: dt.datetime, now: dt.datetime) -> None:
        await self.db.write(lambda c: link_sql.create_link_code(c, identity, code, expires_at, now))

    async def redeem_link(self, identity: str, code: str, *, now: dt.datetime) -> LinkResult:
        return await self.db.write(lambda c: link_sql.redeem_link(c, identity, code, now))

    # --- support -----------------------------------------------------------------------------

    async def open_ticket(
        self,
        identity: str,
        text: str,
        last_job: str | None,
        rules: RewardRules,
        *,
        now: dt.datetime,
    ) -> Ticket:
        return await self.db.write(lambda c: support_sql.open_ticket(c, identity, text, last_job, rules, now))

    async def mark_forwarded(self, ticket_id: int, *, now: dt.datetime) -> None:
        await self.db.write(lambda c: support_sql.mark_forwarded(c, ticket_id, now))

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        return await self.db.read(lambda c: support_sql.get_ticket(c, ticket_id))

    async def open_tickets(self, *, limit: int) -> list[Ticket]:
        return await self.db.read(lambda c: support_sql.open_tickets(c, limit))

    async def tickets_of(self, person_id: int, *, limit: int) -> list[Ticket]:
        return await self.db.read(lambda c: support_sql.tickets_of(c, person_id, limit))

    async def record_reply(
        self,
        ticket_id: int,
        request_id: str,
        operator: str,
        text: str,
        grant: int,
        *,
        now: dt.datetime,
    ) -> TicketReply:
        return await self.db.write(
            lambda c: support_sql.record_reply(c, self.system, ticket_id, request_id, operator, text, grant, now)
        )

    async def mark_reply_delivered(self, reply_id: int, *, now: dt.datetime) -> None:
        await self.db.write(lambda c: support_sql.mark_reply_delivered(c, reply_id, now))

    # --- stats -------------------------------------------------------------------------------

    async def window_stats(self, window: Window, *, cheapest_clip: int) -> WindowStats:
        return await self.db.read(lambda c: stats_sql.window_stats(c, window, cheapest_clip))
