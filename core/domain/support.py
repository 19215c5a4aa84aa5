"""Support tickets and operators' replies, as values, and the rules about them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.domain.ledger import Grant, LotKind, Reason
from core.domain.rules import CreditRules

# Tickets per person are limited per this window (`CreditRules.support_tickets_per_hour`).
TICKET_WINDOW = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Ticket:
    """What the operators see: who (identity on the platform they wrote from, and the person),
    their balance when they wrote, their last job (when the jobs area can tell) and the text."""

    ticket_id: int
    person_id: int
    identity: str
    text: str
    available: int
    last_job: str | None
    created_at: dt.datetime
    status: str = "open"  # open | answered


@dataclass(frozen=True)
class TicketReply:
    """An operator's answer, recorded before it is delivered. `granted` credits came with it."""

    reply_id: int
    ticket: Ticket
    operator: str
    text: str
    granted: int
    available: int | None  # the person's balance after the grant (None when nothing granted)
    duplicate: bool = False  # the same request was recorded before: already done
    delivered: bool = False


def ticket_retry_at(
    opened_in_window: int, oldest_in_window: dt.datetime | None, now: dt.datetime, rules: CreditRules
) -> dt.datetime | None:
    """When a person who opened `opened_in_window` tickets in the last `TICKET_WINDOW` may open
    another: None when they may now."""
    limit = rules.support_tickets_per_hour
    if limit <= 0 or opened_in_window < limit:
        return None
    return (oldest_in_window or now) + TICKET_WINDOW


def support_grant_key(ticket_id: int, request_id: str) -> str:
    return f"support:{ticket_id}:{request_id}"


def support_grant(ticket_id: int, request_id: str, operator: str, amount: int, wallet_id: int) -> Grant:
    """Credits an operator gives with a reply: free credits that never expire, once per
    (ticket, request)."""
    return Grant(
        key=support_grant_key(ticket_id, request_id),
        account_id=wallet_id,
        amount=amount,
        reason=Reason.OPERATOR,
        lot_kind=LotKind.FREE,
        memo=f"{operator}: support ticket #{ticket_id}",
    )
