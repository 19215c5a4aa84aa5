"""Support tickets and replies in memory: `SupportStore`. A reply and its grant are one
transaction, once per (ticket, request)."""

from __future__ import annotations

import datetime as dt

from adapters.storage.support import MAX_LAST_JOB
from core.domain.rules import CreditRules
from core.domain.support import TICKET_WINDOW, Ticket, TicketReply, support_grant, ticket_retry_at
from core.errors import TooManyTickets, UnknownTicket
from tests.fakes.memory.ledger import balance, post_grant
from tests.fakes.memory.world import ReplyRow, TicketRow, World


def _ticket(row: TicketRow) -> Ticket:
    return Ticket(
        row.id, row.person_id, row.identity, row.text, row.available, row.last_job, row.created_at, row.status
    )


class FakeSupportStore:
    def __init__(self, world: World) -> None:
        self.world = world

    async def open_ticket(
        self, identity: str, text: str, last_job: str | None, rules: CreditRules, *, now: dt.datetime
    ) -> Ticket:
        with self.world.transaction():
            person = self.world.require_person(identity)
            recent = [
                t.created_at
                for t in self.world.tickets.values()
                if t.person_id == person.person_id and t.created_at > now - TICKET_WINDOW
            ]
            retry_at = ticket_retry_at(len(recent), min(recent, default=None), now, rules)
            if retry_at is not None:
                raise TooManyTickets(retry_at)
            available = balance(self.world, person.wallet_id).available
            row = TicketRow(
                self.world.next_id(),
                person.person_id,
                identity,
                text,
                available,
                last_job and last_job[:MAX_LAST_JOB],
                now,
            )
            self.world.tickets[row.id] = row
            return Ticket(row.id, person.person_id, identity, text, available, last_job, now)

    async def mark_forwarded(self, ticket_id: int, *, now: dt.datetime) -> None:
        self.world.tickets[ticket_id].forwarded_at = now

    async def open_tickets(self, *, limit: int) -> list[Ticket]:
        return [_ticket(t) for t in sorted(self.world.tickets.values(), key=lambda t: t.id) if t.status == "open"][
            :limit
        ]

    async def tickets_of(self, person_id: int, *, limit: int) -> list[Ticket]:
        current = self.world.survivor(person_id)
        mine = [t for t in self.world.tickets.values() if t.person_id == current]
        return [_ticket(t) for t in sorted(mine, key=lambda t: t.id, reverse=True)][:limit]

    async def record_reply(
        self, ticket_id: int, request_id: str, operator: str, text: str, grant: int, *, now: dt.datetime
    ) -> TicketReply:
        with self.world.transaction():
            row = self.world.tickets.get(ticket_id)
            if row is None:
                raise UnknownTicket(ticket_id)
            ticket = _ticket(row)
            wallet = self.world.wallet_of(self.world.survivor(ticket.person_id))
            first = self.world.replies.get((ticket_id, request_id))
            if first is not None:  # this request was recorded before: report what it did
                available = balance(self.world, wallet).available if first.granted else None
                return TicketReply(
                    first.id,
                    ticket,
                    first.operator,
                    first.text,
                    first.granted,
                    available,
                    duplicate=True,
                    delivered=first.delivered_at is not None,
                )
            reply = ReplyRow(self.world.next_id(), ticket_id, request_id, operator, text, grant)
            self.world.replies[(ticket_id, request_id)] = reply
            available = None
            if grant > 0:
                granted = post_grant(self.world, support_grant(ticket_id, request_id, operator, grant, wallet), now)
                available = granted.balance.available
            row.status = "answered"
            return TicketReply(reply.id, ticket, operator, text, grant, available)

    async def mark_reply_delivered(self, reply_id: int, *, now: dt.datetime) -> None:
        for reply in self.world.replies.values():
            if reply.id == reply_id:
                reply.delivered_at = now
