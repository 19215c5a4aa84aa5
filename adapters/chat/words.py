"""Words several areas of the conversation share: prices, money, packs, balances, job lines."""

from __future__ import annotations

from adapters.chat.catalogue import Catalogue, plural
from adapters.chat.messages import Request, Surface
from core.domain.jobs import Job, JobState, JobView
from core.domain.ledger import Entry
from core.domain.operations import OperationName
from core.domain.pricing import Pack, Pricing
from core.errors import BotError, UsageError
from core.services.wallets import BalanceView

# Currencies without minor units (Stripe's list), and Telegram Stars: whole units.
_WHOLE_UNITS = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF XTR".split())
STARS_CURRENCY = "XTR"  # Telegram Stars


# Operations whose job lines name the voice, not a style.
SPOKEN = frozenset({OperationName.SPEECH, OperationName.VOICE_TAG})


def price_text(pack: Pack) -> str:
    """ "$5", "$4.99", "EUR 5", "250 ⭐"."""
    if pack.currency.upper() == STARS_CURRENCY:
        return f"{pack.price} ⭐"
    whole, cents = divmod(pack.price, 100)
    symbol = "$" if pack.currency.lower() == "usd" else f"{pack.currency.upper()} "
    return f"{symbol}{whole}" if cents == 0 else f"{symbol}{whole}.{cents:02d}"


def money_text(amount: int, currency: str) -> str:
    """An integer amount in minor units as "USD 1,234.50", "JPY 500" or "XTR 1,250 ⭐"."""
    code = currency.upper()
    sign, amount = ("-" if amount < 0 else ""), abs(amount)
    if code in _WHOLE_UNITS:
        text = f"{code} {sign}{amount:,}"
        return f"{text} ⭐" if code == STARS_CURRENCY else text
    whole, cents = divmod(amount, 100)
    return f"{code} {sign}{whole:,}.{cents:02d}"


class Words:
    """The catalogue, asked in the language of a request."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def t(self, request: Request | str | None, key: str, **data: object) -> str:
        """`key` in the request's language, its commands as that platform spells them (given a
        locale alone: the default spelling)."""
        if isinstance(request, Request):
            return self.catalogue.text(
                key, request.locale, spell=request.surface.command, moments=request.surface.when, **data
            )
        return self.catalogue.text(key, request, **data)

    def on(self, surface: Surface, locale: str | None, key: str, **data: object) -> str:
        """`key` for someone on `surface` when no request is at hand (a job's notice): in
        `locale`, its commands spelled and its moments shown the platform's way."""
        return self.catalogue.text(key, locale, spell=surface.command, moments=surface.when, **data)

    def error(self, request: Request | str | None, error: BotError, **context: object) -> str:
        """A typed core error in the request's words (`context` fills what the error does not carry)."""
        if isinstance(request, Request):
            by_reply = f"{error.command}.by_reply" if isinstance(error, UsageError) else ""
            if by_reply and request.surface.member_by_reply and self.catalogue.has(f"usage.{by_reply}"):
                error = UsageError(by_reply)  # where a member is named by replying to them
            return self.catalogue.error(
                error,
                request.locale,
                spell=request.surface.command,
                moments=request.surface.when,
                **{"group": self.group(request), **context},
            )
        return self.catalogue.error(error, request, **context)

    def group(self, request: Request) -> str:
        """What the asking platform calls a group: "group", "server"."""
        return self.t(request, f"place.{request.surface.group_kind}")

    def welcome(self, request: Request, credits: int | None = None) -> str:
        """The welcome of a first contact, with the credits just granted (by default those of
        the request's greeting); "" for anyone else."""
        if credits is None:
            credits = request.greeting.welcome_credits if request.greeting is not None else 0
        return self.t(request, "welcome", credits=credits) if credits else ""

    def costs(self, request: Request, pricing: Pricing) -> str:
        """What each length of music costs: '5 s → 1 credit, 10 s → 2 credits, …'."""
        return ", ".join(
            self.t(request, "cost_item", seconds=seconds, credits=cost, plural=plural(cost))
            for seconds, cost in sorted(pricing.costs.items())
        )

    def pack_line(self, request: Request, pack: Pack) -> str:
        return self.t(request, "offer_pack", title=pack.title, credits=f"{pack.credits:,}", price=price_text(pack))

    def pack_line_plain(self, pack: Pack) -> str:
        """A pack in the default language (lists a platform registers once, e.g. slash-command choices)."""
        return self.t(None, "offer_pack", title=pack.title, credits=f"{pack.credits:,}", price=price_text(pack))

    def balance(self, request: Request, view: BalanceView) -> str:
        b = view.balance
        held = self.t(request, "balance_held_part", held=b.held) if b.held else ""
        if b.debt:
            held += self.t(request, "balance_debt_part", debt=b.debt)
        return self.t(
            request,
            "balance",
            available=max(b.available, 0),
            free=b.free,
            paid=b.paid,
            held_part=held,
            plan=view.plan,
            generations=view.stats.generations,
            spent=view.stats.lifetime_spent,
            frozen_part=self.t(request, "balance_frozen_part") if b.frozen else "",
        )

    def email_message(self, code: str, minutes: int, locale: str | None = None) -> tuple[str, str]:
        """(subject, body) of the verification mail, for the SMTP sender."""
        return self.t(locale, "email_code_subject"), self.t(locale, "email_code_body", code=code, minutes=minutes)

    def history(self, request: Request | str | None, entries: list[Entry]) -> str:
        if not entries:
            return self.t(request, "history_empty")
        lines = [self.t(request, "history_header", count=len(entries))]
        for entry in entries:
            reason_key = f"reason.{entry.reason}"
            reason = self.t(request, reason_key) if self.catalogue.has(reason_key) else str(entry.reason)
            lines.append(
                self.t(
                    request,
                    "history_line",
                    date=entry.at.strftime("%Y-%m-%d %H:%M"),
                    sign="+" if entry.amount > 0 else "−",
                    amount=abs(entry.amount),
                    reason=reason,
                )
            )
        return "\n".join(lines)

    def jobs(self, request: Request, views: list[JobView], header: str = "jobs_header") -> str:
        """One line per job with its state and what it costs ("2 credits held", "−2 credits",
        "not charged")."""
        if not views:
            return self.t(request, "jobs_empty")
        lines = [self.t(request, header)]
        for view in views:
            job = view.job
            state = self.t(request, f"job_state.{job.state.value}")
            if view.position is not None:
                state += self.t(request, "jobs_position_part", position=view.position)
            charge = self.job_charge(request, job)
            spoken = job.operation in SPOKEN
            lines.append(
                self.t(
                    request,
                    f"jobs_line.{job.operation}" if spoken else "jobs_line",
                    job_id=job.job_id,
                    seconds=job.seconds,
                    style=job.style,
                    voice=self.t(request, f"voice.{job.voice}") if spoken and job.voice else "",
                    state=state,
                    charge=charge,
                )
            )
        return "\n".join(lines)

    def job_charge(self, request: Request | str | None, job: Job) -> str:
        """What a job costs the person: held while it runs, charged once delivered, else nothing."""
        if not job.state.finished:
            key = "job_charge.held"
        elif job.state == JobState.SUCCEEDED:
            key = "job_charge.charged"
        else:
            key = "job_charge.not_charged"
        return self.t(request, key, cost=job.cost, plural=plural(job.cost))

    def charged(self, locale: str | None, charged: int, available: int) -> str:
        """'−2 credits · 5 left' (or 'This one is on us' when nothing could be charged)."""
        if charged:
            return self.t(locale, "gen_charged", charged=charged, plural=plural(charged), available=available)
        return self.t(locale, "gen_charged_nothing", available=available)

    def not_charged(self, locale: str | None, cost: int) -> str:
        return self.t(locale, "gen_not_charged_one" if cost == 1 else "gen_not_charged", cost=cost)
