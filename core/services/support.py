"""Support inbox: `/support <text>` opens a ticket that the `SupportInbox` forwards to the
operators (every chat platform's operators' channel); operators answer with
`/admin reply <ticket> <text> [grant <n>]`, delivered by `SupportReplies` to the person, on the
platform they wrote from.

The ticket (and a reply with its optional grant) is stored first; forwarding and delivery come
after the transaction, and a failure there is logged and reported, never undoes the ticket.
"""

from __future__ import annotations

import logging

from core.domain.identity import Identity
from core.domain.ledger import checked_amount
from core.domain.numbers import whole_number
from core.domain.rules import CreditRules
from core.domain.support import Ticket, TicketReply
from core.errors import InvalidSupportText, NotPermitted, UnknownTicket
from core.ports import Clock, LastJob, SupportInbox, SupportReplies, SupportStore
from core.services.wallets import WalletService

logger = logging.getLogger(__name__)


def parse_ticket_id(text: object) -> int:
    value = whole_number(str(text).strip().removeprefix("#"))
    if value is None or not 0 < value < 2**31:
        raise UnknownTicket(str(text))
    return value


class SupportService:
    def __init__(
        self,
        store: SupportStore,
        wallets: WalletService,
        rules: CreditRules,
        clock: Clock,
        *,
        inbox: SupportInbox | None = None,
        replies: SupportReplies | None = None,
        last_job: LastJob | None = None,
    ) -> None:
        self.store = store
        self.wallets = wallets
        self.rules = rules
        self.clock = clock
        self.inbox = inbox
        self.replies = replies
        self.last_job = last_job  # the jobs area's one-line summary of a person's last job

    async def open_ticket(self, identity: Identity, text: str) -> Ticket:
        """Raises InvalidSupportText(max_length) or TooManyTickets(retry_at)."""
        text = text.strip()
        if not text or len(text) > self.rules.support_text_max:
            raise InvalidSupportText(self.rules.support_text_max)
        person = await self.wallets.person(identity)
        last_job = await self._last_job(person.person_id)
        ticket = await self.store.open_ticket(identity.key, text, last_job, self.rules, now=self.clock.now())
        forwarded = False
        if self.inbox is not None:
            try:
                forwarded = await self.inbox.forward(ticket)
            except Exception:  # the ticket is stored: it is not lost
                logger.exception("forwarding support ticket #%d failed", ticket.ticket_id)
        if forwarded:
            await self.store.mark_forwarded(ticket.ticket_id, now=self.clock.now())
        return ticket

    async def reply(
        self, actor: Identity, ticket: object, text: str, grant: object | None, request_id: str
    ) -> TicketReply:
        """An operator's answer, with optional credits in the same step. The same `request_id`
        again is "already done" (`duplicate=True`), delivered again only if it was not before."""
        self._require_operator(actor)
        ticket_id = parse_ticket_id(ticket)
        text = text.strip()
        if not text or len(text) > self.rules.support_text_max:
            raise InvalidSupportText(self.rules.support_text_max)
        credits = 0 if grant is None else checked_amount(grant)
        reply = await self.store.record_reply(ticket_id, request_id, actor.key, text, credits, now=self.clock.now())
        if reply.delivered:
            return reply
        if self.replies is None:
            logger.warning("no way to deliver a reply (ticket #%d)", ticket_id)
            return reply
        try:
            await self.replies.deliver(reply)
        except Exception:
            logger.exception("delivering the reply to ticket #%d failed", ticket_id)
            return reply
        await self.store.mark_reply_delivered(reply.reply_id, now=self.clock.now())
        return TicketReply(
            reply.reply_id,
            reply.ticket,
            reply.operator,
            reply.text,
            reply.granted,
            reply.available,
            duplicate=reply.duplicate,
            delivered=True,
        )

    async def open_tickets(self, actor: Identity, limit: int = 20) -> list[Ticket]:
        self._require_operator(actor)
        return await self.store.open_tickets(limit=limit)

    async def tickets_of(self, actor: Identity, target: str, limit: int = 5) -> list[Ticket]:
        """An operator's look at one person's latest tickets (for `/admin user`)."""
        person = await self.wallets.operator_target(actor, target)
        return await self.store.tickets_of(person.person_id, limit=limit)

    def _require_operator(self, actor: Identity) -> None:
        if not self.rules.is_operator(actor.key):
            raise NotPermitted("operator")

    async def _last_job(self, person_id: int) -> str | None:
        if self.last_job is None:
            return None
        try:
            return await self.last_job(person_id)
        except Exception:  # the ticket matters more than this detail
            logger.exception("could not read the last job of person %d", person_id)
            return None
