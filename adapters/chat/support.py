"""Support, written once: `/support <text>` opens a ticket that reaches the operators' channels;
an operator answers with `/admin reply` (or, where the platform forwards tickets into a chat, by
replying to the ticket there), and the answer reaches the person on their platform."""

from __future__ import annotations

from adapters.chat.commands import Command, Menu, Param, ParamKind
from adapters.chat.messages import Reply, Request
from adapters.chat.words import Words
from core.domain.jobs import Job
from core.domain.numbers import whole_number
from core.domain.support import Ticket, TicketReply
from core.errors import UsageError
from core.services.support import SupportService

GRANT_WORD = "grant"


class SupportChat:
    def __init__(self, words: Words, support: SupportService, texts: SupportWords) -> None:
        self.words = words
        self.support = support
        self.texts = texts

    def commands(self) -> list[Command]:
        return [
            Command(
                "support",
                self.open_ticket,
                (Param("message", ParamKind.TEXT, required=False),),
                menu=Menu.PRIVATE,
                slow=True,
            )
        ]

    async def open_ticket(self, request: Request) -> Reply:
        """`/support <text>`: a ticket for the operators (with your balance and last job)."""
        text = request.arg("message").strip()
        if not text:
            raise UsageError("support")
        ticket = await self.support.open_ticket(request.identity, text)
        return Reply(self.words.t(request, "ticket_opened", ticket=ticket.ticket_id))

    async def answer(self, request: Request, ticket: str, message: str, grant: str | None = None) -> Reply:
        """An operator's answer: `<text> [grant <n>]` (the grant may also come as its own option)."""
        words = message.split()
        if grant is None and len(words) >= 3 and words[-2].lower() == GRANT_WORD:
            grant, words = words[-1], words[:-2]
        if not ticket or not words or (grant is not None and whole_number(grant) is None):
            raise UsageError("admin.reply")
        reply = await self.support.reply(request.identity, ticket, " ".join(words), grant, request.request_id)
        return Reply(self.texts.for_operator(request, reply))


class SupportWords:
    """Support's words, for the replies and for the notices (tickets to the operators' channels,
    answers to people)."""

    def __init__(self, words: Words) -> None:
        self.words = words

    def for_operators(self, ticket: Ticket) -> str:
        """What the operators' channel shows of a new ticket."""
        return self.words.t(
            None,
            "ticket_forward",
            ticket=ticket.ticket_id,
            identity=ticket.identity,
            person=ticket.person_id,
            available=ticket.available,
            last_job=ticket.last_job or self.words.t(None, "ticket_no_job"),
            text=ticket.text,
        )

    def for_person(self, reply: TicketReply) -> str:
        """What the person receives."""
        text = self.words.t(None, "support_reply", ticket=reply.ticket.ticket_id, text=reply.text)
        if reply.granted:
            text += self.words.t(None, "support_reply_granted", granted=reply.granted)
        return text

    def for_operator(self, request: Request, reply: TicketReply) -> str:
        if reply.duplicate:
            return self.words.t(request, "admin_duplicate")
        granted = ""
        if reply.granted:
            granted = self.words.t(request, "admin_reply_granted", granted=reply.granted, available=reply.available)
        state = self.words.t(request, "admin_reply_delivered" if reply.delivered else "admin_reply_saved")
        return self.words.t(request, "admin_replied", ticket=reply.ticket.ticket_id, state=state, granted_part=granted)

    def last_job(self, job: Job) -> str:
        """A person's last job on their ticket, as the operator would have seen it then."""
        return self.words.t(
            None,
            "ticket_job",
            job=job.job_id,
            state=job.state,
            error=f" ({job.error})" if job.error else "",
            seconds=job.seconds,
            style=job.style,
            cost=job.cost,
            when=f"{job.created_at:%Y-%m-%d %H:%M} UTC" if job.created_at else "",
        )

    def tickets(self, request: Request, tickets: list[Ticket]) -> str:
        if not tickets:
            return self.words.t(request, "tickets_none")
        lines = [self.words.t(request, "tickets_header")]
        for ticket in tickets:
            lines.append(
                self.words.t(
                    request,
                    "ticket_line",
                    ticket=ticket.ticket_id,
                    identity=ticket.identity,
                    available=ticket.available,
                    text=ticket.text[:80],
                )
            )
        return "\n".join(lines)
