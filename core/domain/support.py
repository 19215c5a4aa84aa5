"""Support tickets and operators' replies, as values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


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
