"""Support tickets and operators' replies. A reply and its optional grant are one unit of work,
keyed by (ticket, request): repeating the same operator command is "already done"."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from adapters.storage import ledger_sql
from adapters.storage.ledger_sql import SystemAccounts
from adapters.storage.persons_sql import survivor, wallet_of
from adapters.storage.sql import Statement as S
from adapters.storage.sql import every, from_db_time, one, run, scalar, to_db_time
from core.domain.ledger import Grant, LotKind, Reason
from core.domain.rewards import RewardRules, support_grant_key
from core.domain.support import Ticket, TicketReply
from core.errors import TooManyTickets, UnknownTicket

_COLUMNS = "id, person_id, identity, text, available, last_job, created_at, status"
_RECENT = S("""
    SELECT COUNT(*), MIN(created_at) FROM support_tickets
    WHERE person_id = :person_id AND created_at > :since""")
_INSERT_TICKET = S("""
    INSERT INTO support_tickets (person_id, identity, text, available, last_job, status, created_at)
    VALUES (:person_id, :identity, :text, :available, :last_job, 'open', :now) RETURNING id""")
_TICKET = S(f"SELECT {_COLUMNS} FROM support_tickets WHERE id = :id")
_OPEN = S(f"SELECT {_COLUMNS} FROM support_tickets WHERE status = 'open' ORDER BY id LIMIT :limit")
_OF_PERSON = S(f"SELECT {_COLUMNS} FROM support_tickets WHERE person_id = :person_id ORDER BY id DESC LIMIT :limit")
_FORWARDED = S("UPDATE support_tickets SET forwarded_at = :now WHERE id = :id")
_ANSWERED = S("UPDATE support_tickets SET status = 'answered', answered_at = :now WHERE id = :id")
_REPLY = S("""
    SELECT id, operator, text, granted, delivered_at FROM support_replies
    WHERE ticket_id = :ticket_id AND request_id = :request_id""")
_INSERT_REPLY = S("""
    INSERT INTO support_replies
        (ticket_id, request_id, operator, text, granted, delivered_at, created_at)
    VALUES (:ticket_id, :request_id, :operator, :text, :granted, NULL, :now)
    ON CONFLICT (ticket_id, request_id) DO NOTHING RETURNING id""")
_DELIVERED = S("UPDATE support_replies SET delivered_at = :now WHERE id = :id")


def _ticket(row: tuple[object, ...]) -> Ticket:
    ticket_id, person_id, identity, text, available, last_job, created, status = row
    stamp = from_db_time(created)
    assert stamp is not None
    return Ticket(
        int(ticket_id),  # type: ignore[call-overload]
        int(person_id),  # type: ignore[call-overload]
        str(identity),
        str(text),
        int(available),  # type: ignore[call-overload]
        None if last_job is None else str(last_job),
        stamp,
        str(status),
    )


def open_ticket(
    conn: Connection,
    identity: str,
    text: str,
    last_job: str | None,
    rules: RewardRules,
    now: dt.datetime,
) -> Ticket:
    person = ledger_sql.require_person(conn, identity)
    hour_ago = now - dt.timedelta(hours=1)
    count, oldest = one(conn, _RECENT, person_id=person.person_id, since=to_db_time(conn, hour_ago)) or (0, None)
    if rules.support_tickets_per_hour > 0 and int(count) >= rules.support_tickets_per_hour:
        first = from_db_time(oldest) or now
        raise TooManyTickets(first + dt.timedelta(hours=1))
    available = ledger_sql.balance(conn, person.wallet_id).available
    ticket_id = scalar(
        conn,
        _INSERT_TICKET,
        person_id=person.person_id,
        identity=identity,
        text=text,
        available=available,
        last_job=None if last_job is None else last_job[:300],
        now=to_db_time(conn, now),
    )
    return Ticket(int(ticket_id), person.person_id, identity, text, available, last_job, now)


def mark_forwarded(conn: Connection, ticket_id: int, now: dt.datetime) -> None:
    run(conn, _FORWARDED, id=ticket_id, now=to_db_time(conn, now))


def get_ticket(conn: Connection, ticket_id: int) -> Ticket | None:
    row = one(conn, _TICKET, id=ticket_id)
    return None if row is None else _ticket(row)


def open_tickets(conn: Connection, limit: int) -> list[Ticket]:
    return [_ticket(row) for row in every(conn, _OPEN, limit=limit)]


def tickets_of(conn: Connection, person_id: int, limit: int) -> list[Ticket]:
    return [_ticket(row) for row in every(conn, _OF_PERSON, person_id=survivor(conn, person_id), limit=limit)]


def record_reply(
    conn: Connection,
    system: SystemAccounts,
    ticket_id: int,
    request_id: str,
    operator: str,
    text: str,
    grant: int,
    now: dt.datetime,
) -> TicketReply:
    ticket = get_ticket(conn, ticket_id)
    if ticket is None:
        raise UnknownTicket(ticket_id)
    reply_id = scalar(
        conn,
        _INSERT_REPLY,
        ticket_id=ticket_id,
        request_id=request_id,
        operator=operator,
        text=text,
        granted=grant,
        now=to_db_time(conn, now),
    )
    if reply_id is None:  # this request was recorded before: report what it did
        first = one(conn, _REPLY, ticket_id=ticket_id, request_id=request_id)
        assert first is not None
        wallet = wallet_of(conn, survivor(conn, ticket.person_id))
        return TicketReply(
            int(first[0]),
            ticket,
            str(first[1]),
            str(first[2]),
            int(first[3]),
            ledger_sql.balance(conn, wallet).available if int(first[3]) else None,
            duplicate=True,
            delivered=first[4] is not None,
        )
    available = None
    if grant > 0:
        wallet = wallet_of(conn, survivor(conn, ticket.person_id))
        outcome = ledger_sql.grant(
            conn,
            system,
            Grant(
                key=support_grant_key(ticket_id, request_id),
                account_id=wallet,
                amount=grant,
                reason=Reason.OPERATOR,
                lot_kind=LotKind.FREE,
                memo=f"{operator}: support ticket #{ticket_id}",
            ),
            now,
        )
        available = outcome.balance.available
    run(conn, _ANSWERED, id=ticket_id, now=to_db_time(conn, now))
    return TicketReply(int(reply_id), ticket, operator, text, grant, available)


def mark_reply_delivered(conn: Connection, reply_id: int, now: dt.datetime) -> None:
    run(conn, _DELIVERED, id=reply_id, now=to_db_time(conn, now))
