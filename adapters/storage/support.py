"""Support tickets and operators' replies over SQL: `SupportStore`. A reply and its optional
grant are one unit of work, keyed by (ticket, request): repeating the same operator command is
"already done"."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, bindparam, func, insert, select, update

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore, balance, post_grant
from adapters.storage.persons import require_person, survivor, wallet_of
from adapters.storage.sql import (
    DbRow,
    Statement,
    as_int,
    const,
    every,
    from_db_time,
    insert_or_skip,
    max_length,
    one,
    run,
    scalar,
    to_db_time,
)
from adapters.storage.tables_rewards import support_replies, support_tickets
from core.domain.rules import CreditRules
from core.domain.support import TICKET_WINDOW, Ticket, TicketReply, support_grant, ticket_retry_at
from core.errors import TooManyTickets, UnknownTicket

MAX_LAST_JOB = max_length(support_tickets.c.last_job)
OPEN, ANSWERED = "open", "answered"

# The columns `_ticket` reads, in its order.
COLUMNS = (
    support_tickets.c.id,
    support_tickets.c.person_id,
    support_tickets.c.identity,
    support_tickets.c.text,
    support_tickets.c.available,
    support_tickets.c.last_job,
    support_tickets.c.created_at,
    support_tickets.c.status,
)

_RECENT = Statement(
    select(func.count(), func.min(support_tickets.c.created_at)).where(
        support_tickets.c.person_id == bindparam("person_id"), support_tickets.c.created_at > bindparam("since")
    )
)
_INSERT_TICKET = Statement(
    insert(support_tickets)
    .values(
        person_id=bindparam("person_id"),
        identity=bindparam("identity"),
        text=bindparam("text"),
        available=bindparam("available"),
        last_job=bindparam("last_job"),
        status=const(OPEN),
        created_at=bindparam("now"),
    )
    .returning(support_tickets.c.id)
)
_TICKET = Statement(select(*COLUMNS).where(support_tickets.c.id == bindparam("id")))
_OPEN = Statement(
    select(*COLUMNS)
    .where(support_tickets.c.status == const(OPEN))
    .order_by(support_tickets.c.id)
    .limit(bindparam("limit"))
)
_OF_PERSON = Statement(
    select(*COLUMNS)
    .where(support_tickets.c.person_id == bindparam("person_id"))
    .order_by(support_tickets.c.id.desc())
    .limit(bindparam("limit"))
)
_FORWARDED = Statement(
    update(support_tickets).where(support_tickets.c.id == bindparam("id")).values(forwarded_at=bindparam("now"))
)
_ANSWERED = Statement(
    update(support_tickets)
    .where(support_tickets.c.id == bindparam("id"))
    .values(status=const(ANSWERED), answered_at=bindparam("now"))
)
_REPLY = Statement(
    select(
        support_replies.c.id,
        support_replies.c.operator,
        support_replies.c.text,
        support_replies.c.granted,
        support_replies.c.delivered_at,
    ).where(
        support_replies.c.ticket_id == bindparam("ticket_id"), support_replies.c.request_id == bindparam("request_id")
    )
)
_INSERT_REPLY = Statement(
    insert_or_skip(
        support_replies,
        ["ticket_id", "request_id"],
        {
            "ticket_id": bindparam("ticket_id"),
            "request_id": bindparam("request_id"),
            "operator": bindparam("operator"),
            "text": bindparam("text"),
            "granted": bindparam("granted"),
            "created_at": bindparam("now"),
        },
        returning=[support_replies.c.id],
    )
)
_DELIVERED = Statement(
    update(support_replies).where(support_replies.c.id == bindparam("id")).values(delivered_at=bindparam("now"))
)


def _ticket(row: DbRow) -> Ticket:
    ticket_id, person_id, identity, text, available, last_job, created, status = row
    stamp = from_db_time(created)
    assert stamp is not None
    return Ticket(
        as_int(ticket_id),
        as_int(person_id),
        str(identity),
        str(text),
        as_int(available),
        None if last_job is None else str(last_job),
        stamp,
        str(status),
    )


def get_ticket(conn: Connection, ticket_id: int) -> Ticket | None:
    row = one(conn, _TICKET, id=ticket_id)
    return None if row is None else _ticket(row)


def open_tickets(conn: Connection, limit: int) -> list[Ticket]:
    """The open tickets, oldest first."""
    return [_ticket(row) for row in every(conn, _OPEN, limit=limit)]


class SqlSupportStore:
    """`SupportStore` (core/ports.py): each call is one unit of work."""

    def __init__(self, db: Database, ledger: SqlLedgerStore) -> None:
        self.db = db
        self.ledger = ledger

    async def open_ticket(
        self, identity: str, text: str, last_job: str | None, rules: CreditRules, *, now: dt.datetime
    ) -> Ticket:
        def work(conn: Connection) -> Ticket:
            person = require_person(conn, identity)
            since = to_db_time(conn, now - TICKET_WINDOW)
            count, oldest = one(conn, _RECENT, person_id=person.person_id, since=since) or (0, None)
            retry_at = ticket_retry_at(as_int(count), from_db_time(oldest), now, rules)
            if retry_at is not None:
                raise TooManyTickets(retry_at)
            available = balance(conn, person.wallet_id).available
            ticket_id = scalar(
                conn,
                _INSERT_TICKET,
                person_id=person.person_id,
                identity=identity,
                text=text,
                available=available,
                last_job=None if last_job is None else last_job[:MAX_LAST_JOB],
                now=to_db_time(conn, now),
            )
            return Ticket(as_int(ticket_id), person.person_id, identity, text, available, last_job, now)

        return await self.db.write(work)

    async def mark_forwarded(self, ticket_id: int, *, now: dt.datetime) -> None:
        def work(conn: Connection) -> None:
            run(conn, _FORWARDED, id=ticket_id, now=to_db_time(conn, now))

        await self.db.write(work)

    async def open_tickets(self, *, limit: int) -> list[Ticket]:
        return await self.db.read(lambda c: open_tickets(c, limit))

    async def tickets_of(self, person_id: int, *, limit: int) -> list[Ticket]:
        def work(conn: Connection) -> list[Ticket]:
            return [_ticket(row) for row in every(conn, _OF_PERSON, person_id=survivor(conn, person_id), limit=limit)]

        return await self.db.read(work)

    async def record_reply(
        self, ticket_id: int, request_id: str, operator: str, text: str, grant: int, *, now: dt.datetime
    ) -> TicketReply:
        system = self.ledger.system

        def work(conn: Connection) -> TicketReply:
            ticket = get_ticket(conn, ticket_id)
            if ticket is None:
                raise UnknownTicket(ticket_id)
            stamp = to_db_time(conn, now)
            reply_id = scalar(
                conn,
                _INSERT_REPLY,
                ticket_id=ticket_id,
                request_id=request_id,
                operator=operator,
                text=text,
                granted=grant,
                now=stamp,
            )
            if reply_id is None:  # this request was recorded before: report what it did
                first = one(conn, _REPLY, ticket_id=ticket_id, request_id=request_id)
                assert first is not None
                first_id, first_operator, first_text, granted, delivered_at = first
                wallet = wallet_of(conn, survivor(conn, ticket.person_id))
                return TicketReply(
                    as_int(first_id),
                    ticket,
                    str(first_operator),
                    str(first_text),
                    as_int(granted),
                    balance(conn, wallet).available if as_int(granted) else None,
                    duplicate=True,
                    delivered=delivered_at is not None,
                )
            available = None
            if grant > 0:
                wallet = wallet_of(conn, survivor(conn, ticket.person_id))
                outcome = post_grant(conn, system, support_grant(ticket_id, request_id, operator, grant, wallet), now)
                available = outcome.balance.available
            run(conn, _ANSWERED, id=ticket_id, now=stamp)
            return TicketReply(as_int(reply_id), ticket, operator, text, grant, available)

        return await self.db.write(work)

    async def mark_reply_delivered(self, reply_id: int, *, now: dt.datetime) -> None:
        def work(conn: Connection) -> None:
            run(conn, _DELIVERED, id=reply_id, now=to_db_time(conn, now))

        await self.db.write(work)
