"""Turn core results into text with the catalogue: the same words on every platform."""

from __future__ import annotations

import datetime as dt

from adapters.chat.catalogue import Catalogue, plural
from core.domain.ledger import Balance, Entry
from core.domain.offers import Offer
from core.domain.pricing import Pack, Pricing
from core.services.wallets import BalanceView, Welcome


def price_text(pack: Pack) -> str:
    if pack.currency.upper() == "XTR":
        return f"{pack.price} ⭐"
    whole, cents = divmod(pack.price, 100)
    symbol = "$" if pack.currency.lower() == "usd" else f"{pack.currency.upper()} "
    return f"{symbol}{whole}" if cents == 0 else f"{symbol}{whole}.{cents:02d}"


def when_text(at: dt.datetime, now: dt.datetime | None = None) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


class Renderer:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def t(self, key: str, locale: str | None = None, **data: object) -> str:
        return self.catalogue.text(key, locale, **data)

    def welcome(self, welcome: Welcome, locale: str | None = None) -> str:
        if welcome.welcome_credits:
            return self.t("welcome", locale, credits=welcome.welcome_credits)
        return self.t("welcome_back", locale, available=welcome.balance.available)

    def help(self, pricing: Pricing, commands: str, locale: str | None = None) -> str:
        costs = ", ".join(
            self.t("cost_item", locale, seconds=s, credits=c, plural=plural(c))
            for s, c in sorted(pricing.costs.items())
        )
        return self.t("help", locale, costs=costs, commands=commands)

    def balance(self, view: BalanceView, locale: str | None = None) -> str:
        b = view.balance
        held = self.t("balance_held_part", locale, held=b.held) if b.held else ""
        if b.debt:
            held += self.t("balance_debt_part", locale, debt=b.debt)
        frozen = self.t("balance_frozen_part", locale) if b.frozen else ""
        return self.t(
            "balance",
            locale,
            available=max(b.available, 0),
            free=b.free,
            paid=b.paid,
            held_part=held,
            plan=view.plan,
            generations=view.stats.generations,
            spent=view.stats.lifetime_spent,
            frozen_part=frozen,
        )

    def history(self, entries: list[Entry], locale: str | None = None) -> str:
        if not entries:
            return self.t("history_empty", locale)
        lines = [self.t("history_header", locale, count=len(entries))]
        for e in entries:
            lines.append(
                self.t(
                    "history_line",
                    locale,
                    date=e.at.strftime("%Y-%m-%d %H:%M"),
                    sign="+" if e.amount > 0 else "−",
                    amount=abs(e.amount),
                    reason=self.t(f"reason.{e.reason}", locale)
                    if self.catalogue.has(f"reason.{e.reason}")
                    else e.reason,
                )
            )
        return "\n".join(lines)

    def offer(self, offer: Offer, locale: str | None = None) -> str:
        """The offer as text; platforms with buttons show the packs as buttons as well."""
        head = (
            self.t("out_of_credits", locale)
            if offer.out_of_credits
            else self.t("low_balance", locale, available=offer.available, plural=plural(offer.available))
        )
        lines = [head]
        lines += [self.pack_line(p, locale) for p in offer.packs]
        if offer.next_daily_at is not None:
            lines.append(self.t("offer_daily", locale, when=when_text(offer.next_daily_at)))
        if offer.contact_support:
            lines.append(self.t("offer_support", locale))
        return "\n".join(lines)

    def pack_line(self, pack: Pack, locale: str | None = None) -> str:
        return self.t("offer_pack", locale, title=pack.title, credits=f"{pack.credits:,}", price=price_text(pack))

    def operator_balance(self, key: str, target: str, amount: int, balance: Balance, locale: str | None = None) -> str:
        return self.t(key, locale, amount=amount, target=target, available=balance.available)

    def operator_user(self, target: str, view: BalanceView, locale: str | None = None) -> str:
        b = view.balance
        return self.t(
            "admin_user",
            locale,
            target=target,
            available=b.available,
            free=b.free,
            paid=b.paid,
            held=b.held,
            plan=view.plan,
            generations=view.stats.generations,
            spent=view.stats.lifetime_spent,
            frozen_part=self.t("admin_user_frozen", locale) if b.frozen else "",
        )
