"""Notices core sends to people and operators, written once and routed to the platform of the
person they are for: referral payouts, support tickets (to every platform's operators' channel)
and the operators' answers."""

from __future__ import annotations

import logging

from adapters.chat.messages import Reply
from adapters.chat.platform import Platforms
from adapters.chat.support import SupportWords
from adapters.chat.words import Words, price_text
from core.domain.identity import Identity
from core.domain.notices import ReferralNotice
from core.domain.pricing import Pack
from core.domain.support import Ticket, TicketReply

logger = logging.getLogger(__name__)


class Unreachable(LookupError):
    """No platform of this process can reach that person."""


class ChatNotices:
    """core's `ReferralNotifier`, `SupportInbox`, `SupportReplies` and `TopUpNotifier`."""

    def __init__(self, platforms: Platforms, words: Words, support: SupportWords) -> None:
        self.platforms = platforms
        self.words = words
        self.support = support

    def reachable(self) -> frozenset[str]:
        return self.platforms.names

    async def referral_paid(self, identity: str, notice: ReferralNotice) -> None:
        key = "referral_paid" if notice.side == "referrer" else "referral_paid_referred"
        await self._send(identity, Reply(self.words.t(None, key, credits=notice.credits)))

    async def forward(self, ticket: Ticket) -> bool:
        """The ticket to every operators' channel; True when at least one took it."""
        reply = Reply(self.support.for_operators(ticket))
        forwarded = False
        for platform in self.platforms.all():
            try:
                forwarded = await platform.send_to_operators(reply) or forwarded
            except Exception:  # one broken channel must not lose the ticket or the others
                logger.exception("forwarding support ticket #%d to %s failed", ticket.ticket_id, platform.surface.name)
        return forwarded

    async def deliver(self, reply: TicketReply) -> None:
        await self._send(reply.ticket.identity, Reply(self.support.for_person(reply)))

    async def top_up_notice(self, identity: str, key: str, values: dict[str, object]) -> None:
        """A receipt, a pause (with its Checkout link) or a limit reached, in the person's chat."""
        who = Identity.parse(identity)
        platform = self.platforms.get(who.platform)
        if platform is None:
            raise Unreachable(identity)
        data = dict(values)
        currency = str(data.get("currency", "usd"))
        if "amount" in data:
            data["price"] = price_text(Pack("pack", 1, int(str(data["amount"])), currency))
        if "per_month" in data:
            data["limit"] = price_text(Pack("pack", 1, int(str(data["per_month"])), currency))
        await platform.send(who, Reply(self.words.on(platform.surface, None, key, **data)))

    async def _send(self, identity: str, reply: Reply) -> None:
        who = Identity.parse(identity)
        platform = self.platforms.get(who.platform)
        if platform is None:
            raise Unreachable(identity)
        await platform.send(who, reply)
