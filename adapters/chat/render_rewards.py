"""Words for the rewards, linking, support and stats results: the same on every platform.
Chat adapters call these; `Renderer` (render.py) covers the wallet."""

from __future__ import annotations

from adapters.chat.catalogue import Catalogue, plural
from core.domain.notices import ReferralNotice
from core.domain.pricing import Pack
from core.domain.rewards import LinkResult, ReferralPayout, ReferralSummary
from core.domain.stats import CurrencyRevenue, StatsReport, WindowReport
from core.domain.support import Ticket, TicketReply
from core.services.email import EmailCodeSent, EmailVerified
from core.services.rewards import DailyClaimed, ShareRewarded


class RewardRenderer:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def t(self, key: str, locale: str | None = None, **data: object) -> str:
        return self.catalogue.text(key, locale, **data)

    # --- bonuses -------------------------------------------------------------------------------

    def daily(self, claimed: DailyClaimed, locale: str | None = None) -> str:
        return self.t(
            "daily_claimed",
            locale,
            amount=claimed.amount,
            plural=plural(claimed.amount),
            available=claimed.balance.available,
            next_at=claimed.next_at,
        )

    def share(self, shared: ShareRewarded, locale: str | None = None) -> str:
        if shared.granted:
            return self.t("share_rewarded", locale, amount=shared.granted, available=shared.balance.available)
        return self.t("share_no_bonus", locale, next_at=shared.next_at)

    # --- referrals -----------------------------------------------------------------------------

    def referral_code(
        self,
        summary: ReferralSummary,
        credits: int,
        locale: str | None = None,
        telegram_bot: str | None = None,
    ) -> str:
        text = self.t(
            "referral_code",
            locale,
            code=summary.code,
            credits=credits,
            referred=summary.referred,
            rewarded=summary.rewarded,
        )
        if telegram_bot:
            text += "\n" + self.t("referral_link_telegram", locale, bot=telegram_bot, code=summary.code)
        return text

    def referral_recorded(self, duplicate: bool, credits: int, locale: str | None = None) -> str:
        return self.t("referral_already" if duplicate else "referral_recorded", locale, credits=credits)

    def referral_paid(self, payout: ReferralPayout, side: str, locale: str | None = None) -> str:
        credits = payout.referrer_credits if side == "referrer" else payout.referred_credits
        return self.t("referral_paid" if side == "referrer" else "referral_paid_referred", locale, credits=credits)

    def referral_notice(self, notice: ReferralNotice, locale: str | None = None) -> str:
        """The message a `ReferralNotifier` sends to the person paid (referrer or referred)."""
        key = "referral_paid" if notice.side == "referrer" else "referral_paid_referred"
        return self.t(key, locale, credits=notice.credits)

    # --- email ---------------------------------------------------------------------------------

    def email(self, result: EmailCodeSent | EmailVerified, minutes: int, locale: str | None = None) -> str:
        if isinstance(result, EmailCodeSent):
            return self.t("email_code_sent", locale, address=result.address, minutes=minutes)
        return self.t(
            "email_verified",
            locale,
            address=result.address,
            amount=result.granted,
            available=result.balance.available,
        )

    def email_message(self, code: str, minutes: int, locale: str | None = None) -> tuple[str, str]:
        """(subject, body) of the verification mail, for the SMTP sender."""
        return self.t("email_code_subject", locale), self.t("email_code_body", locale, code=code, minutes=minutes)

    # --- linking -------------------------------------------------------------------------------

    def link_code(self, code: str, expires_at: object, locale: str | None = None) -> str:
        return self.t("link_code", locale, code=code, expires_at=expires_at)

    def linked(self, result: LinkResult, locale: str | None = None) -> str:
        text = self.t(
            "link_done",
            locale,
            identities=", ".join(result.identities),
            available=result.balance.available,
        )
        if result.moved_free or result.moved_paid:
            text += self.t("link_moved", locale, free=result.moved_free, paid=result.moved_paid)
        return text

    # --- support -------------------------------------------------------------------------------

    def ticket_opened(self, ticket: Ticket, locale: str | None = None) -> str:
        return self.t("ticket_opened", locale, ticket=ticket.ticket_id)

    def ticket_for_operators(self, ticket: Ticket, locale: str | None = None) -> str:
        """What the operators' channel/chat shows (the `SupportInbox` posts this)."""
        return self.t(
            "ticket_forward",
            locale,
            ticket=ticket.ticket_id,
            identity=ticket.identity,
            person=ticket.person_id,
            available=ticket.available,
            last_job=ticket.last_job or self.t("ticket_no_job", locale),
            text=ticket.text,
        )

    def tickets(self, tickets: list[Ticket], locale: str | None = None, header: bool = False) -> str:
        if not tickets:
            return self.t("tickets_none", locale)
        lines = [self.t("tickets_header", locale)] if header else []
        return "\n".join(
            lines
            + [
                self.t(
                    "ticket_line",
                    locale,
                    ticket=t.ticket_id,
                    identity=t.identity,
                    available=t.available,
                    text=t.text[:80],
                )
                for t in tickets
            ]
        )

    def reply_for_person(self, reply: TicketReply, locale: str | None = None) -> str:
        """What the person receives (the `SupportReplies` of their platform sends this)."""
        text = self.t("support_reply", locale, ticket=reply.ticket.ticket_id, text=reply.text)
        if reply.granted:
            text += self.t("support_reply_granted", locale, granted=reply.granted)
        return text

    def reply_for_operator(self, reply: TicketReply, locale: str | None = None) -> str:
        if reply.duplicate:
            return self.t("admin_duplicate", locale)
        granted = ""
        if reply.granted:
            granted = self.t("admin_reply_granted", locale, granted=reply.granted, available=reply.available)
        state = self.t("admin_reply_delivered" if reply.delivered else "admin_reply_saved", locale)
        return self.t(
            "admin_replied",
            locale,
            ticket=reply.ticket.ticket_id,
            state=state,
            granted_part=granted,
        )

    # --- stats ---------------------------------------------------------------------------------

    def stats(self, report: StatsReport, packs: tuple[Pack, ...] = (), locale: str | None = None) -> str:
        lines = [self.t("stats_header", locale, at=report.at)]
        lines += [self._window(w, locale) for w in report.windows]
        return "\n".join(lines)

    def _window(self, report: WindowReport, locale: str | None) -> str:
        name = self.t(f"stats_window.{report.stats.window.name}", locale)
        return self.t("stats_window", locale, name=name, **self.window_figures(report, locale))

    def window_figures(self, report: WindowReport, locale: str | None = None) -> dict[str, object]:
        """One window's figures as the `stats_window` words show them (also the operator
        dashboard's cells): new_persons, generations, spent, granted, revenue, conversion,
        first_purchasers, free_base, came_back, came_back_n, ran_out."""
        s = report.stats
        none = self.t("stats_none", locale)
        granted = ", ".join(f"{reason} {total}" for reason, total in sorted(s.granted_by_reason.items())) or none
        revenue = " · ".join(self._revenue(r, locale) for r in report.revenue) or none
        return {
            "new_persons": s.new_persons,
            "generations": s.generations,
            "spent": s.credits_spent,
            "granted": granted,
            "revenue": revenue,
            "conversion": _percent(s.conversion),
            "first_purchasers": s.first_purchasers,
            "free_base": s.free_base,
            "came_back": _percent(s.came_back_share),
            "came_back_n": s.came_back,
            "ran_out": s.ran_out,
        }

    def _revenue(self, revenue: CurrencyRevenue, locale: str | None) -> str:
        packs = ", ".join(
            self.t("stats_revenue_pack", locale, pack=p.pack_id, purchases=p.purchases) for p in revenue.packs
        )
        returned = ""
        if revenue.returned:
            returned = self.t("stats_revenue_returned", locale, money=money_text(revenue.returned, revenue.currency))
        return self.t(
            "stats_revenue",
            locale,
            money=money_text(revenue.amount, revenue.currency),
            packs=packs,
            returned_part=returned,
        )


# Currencies without minor units (Stripe's list), and Telegram Stars: whole units.
_WHOLE_UNITS = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF XTR".split())


def money_text(amount: int, currency: str) -> str:
    """An integer amount in minor units as "USD 1,234.50", "JPY 500" or "XTR 1,250 ⭐"."""
    code = currency.upper()
    sign, amount = ("-" if amount < 0 else ""), abs(amount)
    if code in _WHOLE_UNITS:
        text = f"{code} {sign}{amount:,}"
        return f"{text} ⭐" if code == "XTR" else text
    whole, cents = divmod(amount, 100)
    return f"{code} {sign}{whole:,}.{cents:02d}"


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"
