"""Words several areas of the conversation share: prices, money, packs, balances, job lines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from adapters.chat import formats
from adapters.chat.catalogue import Catalogue
from adapters.chat.locales import DEFAULT
from adapters.chat.messages import Request, Surface
from core.domain.jobs import Job, JobState, JobView
from core.domain.ledger import Entry
from core.domain.operations import OperationName
from core.domain.pricing import Pack, Pricing
from core.errors import BotError, UsageError
from core.services.wallets import BalanceView

# Operations whose job lines name the voice, not a style.
SPOKEN = frozenset({OperationName.SPEECH, OperationName.VOICE_TAG})


def price_text(pack: Pack, language: str = DEFAULT) -> str:
    """ "$5", "$4.99", "5 US$", "250 ⭐": as Babel writes the price in `language`."""
    return formats.price(pack.price, pack.currency, language)


def money_text(amount: int, currency: str) -> str:
    """An integer amount in minor units as "USD 1,234.50", "JPY 500" or "XTR 1,250 ⭐"."""
    code = currency.upper()
    sign, amount = ("-" if amount < 0 else ""), abs(amount)
    if code in formats.WHOLE_UNITS:
        text = f"{code} {sign}{amount:,}"
        return f"{text} ⭐" if code == formats.STARS_CURRENCY else text
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
            return self.on(request.surface, request.locale, key, **data)
        return self.catalogue.text(key, request, **data)

    def on(self, surface: Surface, locale: str | None, key: str, **data: object) -> str:
        """`key` for someone on `surface` when no request is at hand (a job's notice): in
        `locale`, its commands spelled and its moments shown the platform's way."""
        return self.catalogue.text(key, locale, spell=self.spelling(surface, locale), moments=surface.when, **data)

    def spelling(self, surface: Surface, locale: str | None) -> Callable[[str], str]:
        """How `surface` spells a command for a reader of `locale` (Discord: by its name in
        their language)."""
        language = self.catalogue.language(locale)
        if not surface.localized_names or language == DEFAULT:
            return surface.command

        def spell(command: str) -> str:
            key = f"name.{command}"
            return surface.command(self.catalogue.text(key, language) if self.catalogue.has(key) else command)

        return spell

    def error(self, request: Request | str | None, error: BotError, **context: object) -> str:
        """A typed core error in the request's words (`context` fills what the error does not carry)."""
        if isinstance(request, Request):
            by_reply = f"{error.command}.by_reply" if isinstance(error, UsageError) else ""
            if by_reply and request.surface.member_by_reply and self.catalogue.has(f"usage.{by_reply}"):
                error = UsageError(by_reply)  # where a member is named by replying to them
            return self.catalogue.error(
                error,
                request.locale,
                spell=self.spelling(request.surface, request.locale),
                moments=request.surface.when,
                **{"group": self.group(request), **context},
            )
        return self.catalogue.error(error, request, **context)

    def moment(self, request: Request, at: dt.datetime) -> str:
        """A moment as the asking platform shows time, in the request's language."""
        return self.catalogue.moment(at, request.locale, request.surface.when)

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
            self.t(request, "cost_item", seconds=seconds, credits=cost)
            for seconds, cost in sorted(pricing.costs.items())
        )

    def language(self, request: Request | str | None) -> str:
        """The catalogue language of a request (or of a locale)."""
        return self.catalogue.language(request.locale if isinstance(request, Request) else request)

    def price(self, request: Request | str | None, pack: Pack) -> str:
        """The pack's price as the request's language writes it: "$5", "5 US$"."""
        return price_text(pack, self.language(request))

    def pack_line(self, request: Request | str | None, pack: Pack) -> str:
        return self.t(request, "offer_pack", title=pack.title, credits=pack.credits, price=self.price(request, pack))

    def pack_line_plain(self, pack: Pack) -> str:
        """A pack in the default language (lists a platform registers once, e.g. slash-command choices)."""
        return self.pack_line(None, pack)

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
            plan=self.plan(request, view.plan),
            generations=view.stats.generations,
            spent=view.stats.lifetime_spent,
            frozen_part=self.t(request, "balance_frozen_part") if b.frozen else "",
        )

    def plan(self, request: Request | str | None, plan: str) -> str:
        """A plan's name: "free" in the reader's words, else the pack it is named after."""
        key = f"plan.{plan}"
        return self.t(request, key) if self.catalogue.has(key) else plan

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
        return self.t(request, key, cost=job.cost)

    def charged(self, locale: str | None, charged: int, available: int) -> str:
        """'−2 credits · 5 left' (or 'This one is on us' when nothing could be charged)."""
        if charged:
            return self.t(locale, "gen_charged", charged=charged, available=available)
        return self.t(locale, "gen_charged_nothing", available=available)

    def not_charged(self, locale: str | None, cost: int) -> str:
        return self.t(locale, "gen_not_charged", cost=cost)
