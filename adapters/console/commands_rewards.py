"""Console commands of the rewards area: /daily, /share, /refer, /verify-email, /link,
/support, and `/admin reply|tickets|stats` layered over the wallet's `/admin`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Protocol

from adapters.chat.render import Renderer
from adapters.chat.render_rewards import RewardRenderer
from adapters.console.chat import Handler
from core.domain.identity import Identity
from core.domain.support import Ticket, TicketReply
from core.errors import UsageError
from core.services.email import EmailVerificationService
from core.services.linking import LinkService
from core.services.referrals import ReferralService
from core.services.rewards import RewardService
from core.services.stats import StatsService
from core.services.support import SupportService


class RewardCommandsDeps(Protocol):
    """What these commands need (`bot.rewards.RewardsParts` has it)."""

    bonuses: RewardService
    referrals: ReferralService
    email: EmailVerificationService
    linking: LinkService
    support: SupportService
    stats: StatsService


class ConsoleSupportDesk:
    """The console's `SupportInbox` and `SupportReplies`: both print in the terminal (the one
    console user is the person and, when listed in OPERATOR_IDS, the operator)."""

    def __init__(self, say: Callable[[str], None], render: RewardRenderer) -> None:
        self.say = say
        self.render = render

    async def forward(self, ticket: Ticket) -> None:
        self.say("[support inbox] " + self.render.ticket_for_operators(ticket))

    async def deliver(self, reply: TicketReply) -> None:
        self.say("[support] " + self.render.reply_for_person(reply))


def reward_commands(
    deps: RewardCommandsDeps,
    identity: Identity,
    render: RewardRenderer,
    wallet_admin: Handler | None = None,
) -> dict[str, Handler]:
    offers = Renderer(render.catalogue)

    async def daily(args: list[str]) -> str:
        """Claim today's free credit (and the packs, when the balance is still low)."""
        claimed = await deps.bonuses.claim_daily(identity)
        text = render.daily(claimed)
        return text if claimed.offer is None else f"{text}\n{offers.offer(claimed.offer)}"

    async def share(args: list[str]) -> str:
        """Share one of your clips (the console has no channel: this records the share bonus)."""
        if len(args) != 1:
            raise UsageError("share")
        return render.share(await deps.bonuses.record_share(identity, args[0]))

    async def refer(args: list[str]) -> str:
        """Your referral code, or join with someone's code."""
        credits = deps.referrals.rules.referral_credits
        if not args:
            return render.referral_code(await deps.referrals.my_code(identity), credits)
        if len(args) != 1:
            raise UsageError("refer")
        record = await deps.referrals.record_referral(identity, args[0])
        return render.referral_recorded(record.duplicate, credits)

    async def verify_email(args: list[str]) -> str:
        """Send a code to your address, then confirm it: +credits once."""
        if len(args) != 1:
            raise UsageError("verify_email")
        result = await deps.email.verify(identity, args[0])
        return render.email(result, int(deps.email.rules.email_code_ttl.total_seconds() // 60))

    async def link(args: list[str]) -> str:
        """Get a code to link another platform, or enter one from it."""
        if not args:
            code = await deps.linking.start(identity)
            return render.link_code(code.code, code.expires_at)
        return render.linked(await deps.linking.redeem(identity, args[0]))

    async def support(args: list[str]) -> str:
        """Write to the operators."""
        if not args:
            raise UsageError("support")
        return render.ticket_opened(await deps.support.open_ticket(identity, " ".join(args)))

    async def admin(args: list[str]) -> str:
        """Operators: reply, tickets, stats (and the wallet's grant, take, user, unfreeze)."""
        action = args[0].lower() if args else ""
        if action == "reply":
            ticket, text, grant = _parse_reply(args[1:])
            reply = await deps.support.reply(identity, ticket, text, grant, uuid.uuid4().hex)
            return render.reply_for_operator(reply)
        if action == "tickets":
            return render.tickets(await deps.support.open_tickets(identity))
        if action == "stats":
            return render.stats(await deps.stats.report(identity))
        if action == "user" and len(args) == 2 and wallet_admin is not None:
            view = await wallet_admin(args)  # balances, plan, frozen: the wallet's part
            tickets = await deps.support.tickets_of(identity, args[1])
            return view + ("\n" + render.tickets(tickets, header=True) if tickets else "")
        if wallet_admin is None:
            raise UsageError("admin_more")
        return await wallet_admin(args)

    return {
        "/daily": daily,
        "/share": share,
        "/refer": refer,
        "/verify-email": verify_email,
        "/link": link,
        "/support": support,
        "/admin": admin,
    }


def _parse_reply(args: list[str]) -> tuple[str, str, str | None]:
    """`<ticket> <text...> [grant <n>]` → (ticket, text, grant or None)."""
    if len(args) < 2:
        raise UsageError("admin_reply")
    ticket, words = args[0], args[1:]
    grant = None
    if len(words) >= 2 and words[-2].lower() == "grant":
        grant, words = words[-1], words[:-2]
    if not words:
        raise UsageError("admin_reply")
    return ticket, " ".join(words), grant
