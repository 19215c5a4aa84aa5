"""`SupportService` on the in-memory stores: tickets reach the operators, replies reach the
person, a reply's credits are granted once."""

from __future__ import annotations

import pytest

from core.domain.identity import Identity
from core.errors import InvalidSupportText, NotPermitted, TooManyTickets
from tests.unit.memory_services import OPERATOR, START, services

ANN = Identity.parse("console:ann")


async def test_a_ticket_reaches_the_operators_with_the_balance_at_the_time():
    s = services()
    ticket = await s.support.open_ticket(ANN, "  my clip never came  ")
    assert (ticket.text, ticket.available, ticket.identity) == ("my clip never came", 10, "console:ann")
    assert s.desk.tickets == [ticket]
    assert await s.support.open_tickets(OPERATOR) == [ticket]
    assert s.stores.world.tickets[ticket.ticket_id].forwarded_at == START


async def test_a_reply_with_credits_repeated_grants_them_once_and_is_delivered_once():
    s = services()
    ticket = await s.support.open_ticket(ANN, "help")
    first = await s.support.reply(OPERATOR, f"#{ticket.ticket_id}", "sorry!", "5", "req-1")
    again = await s.support.reply(OPERATOR, ticket.ticket_id, "sorry!", "5", "req-1")
    assert (first.granted, first.available, first.delivered, again.duplicate) == (5, 15, True, True)
    assert len(s.desk.replies) == 1
    assert await s.available(ANN) == 15
    assert await s.support.open_tickets(OPERATOR) == []
    assert await s.audit() == []


async def test_too_many_tickets_in_an_hour_are_refused_until_the_first_is_an_hour_old():
    s = services(support_tickets_per_hour=2)
    await s.support.open_ticket(ANN, "one")
    s.clock.advance(minutes=10)
    await s.support.open_ticket(ANN, "two")
    with pytest.raises(TooManyTickets):
        await s.support.open_ticket(ANN, "three")
    s.clock.advance(minutes=51)
    await s.support.open_ticket(ANN, "three")


async def test_empty_or_endless_texts_are_refused_and_only_operators_reply():
    s = services(support_text_max=10)
    for text in ("   ", "x" * 11):
        with pytest.raises(InvalidSupportText):
            await s.support.open_ticket(ANN, text)
    ticket = await s.support.open_ticket(ANN, "help")
    with pytest.raises(NotPermitted):
        await s.support.reply(ANN, ticket.ticket_id, "hi", None, "req-1")
    assert [t.ticket_id for t in await s.support.tickets_of(OPERATOR, ANN.key)] == [ticket.ticket_id]
