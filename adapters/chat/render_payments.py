"""Words for the payment results, from the catalogue: the same on every chat platform.

Discord and Telegram show the same texts and add buttons (one per pack, a link button for the
Checkout URL); the console prints them.
"""

from __future__ import annotations

import datetime as dt

from adapters.chat.catalogue import Catalogue
from adapters.chat.render import price_text
from core.domain.orders import (
    CheckoutLink,
    PaymentOutcome,
    PaymentResult,
    Refusal,
    StarsInvoice,
    StarsRefund,
)
from core.domain.pricing import Pack


class PaymentsRenderer:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def t(self, key: str, locale: str | None = None, **data: object) -> str:
        return self.catalogue.text(key, locale, **data)

    def pack_line(self, pack: Pack, locale: str | None = None) -> str:
        return self.t(
            "offer_pack",
            locale,
            title=pack.title,
            credits=f"{pack.credits:,}",
            price=price_text(pack),
        )

    def pack_list(self, packs: tuple[Pack, ...], locale: str | None = None) -> str:
        """`/buy` with no pack: every pack with its credits and price, and how to buy one."""
        lines = [self.t("buy_packs_header", locale)]
        lines += [self.pack_line(p, locale) for p in packs]
        if packs:
            lines.append(self.t("buy_how", locale, example=packs[0].pack_id))
        return "\n".join(lines)

    def checkout_link(self, link: CheckoutLink, now: dt.datetime, locale: str | None = None) -> str:
        minutes = 60 if link.expires_at is None else max(1, int((link.expires_at - now).total_seconds() // 60))
        return self.t(
            "buy_link",
            locale,
            title=link.pack.title,
            credits=f"{link.pack.credits:,}",
            price=price_text(link.pack),
            minutes=minutes,
            url=link.url,
        )

    def stars_invoice_title(self, invoice: StarsInvoice, locale: str | None = None) -> str:
        return self.t("stars_invoice_title", locale, title=invoice.pack.title)

    def stars_invoice_description(self, invoice: StarsInvoice, locale: str | None = None) -> str:
        return self.t("stars_invoice_description", locale, credits=f"{invoice.pack.credits:,}")

    def pre_checkout_refusal(self, refusal: Refusal, locale: str | None = None) -> str:
        return self.t(f"stars_refused.{refusal.value}", locale)

    def purchase(self, result: PaymentResult, locale: str | None = None) -> str:
        """The reply to a Stars `successful_payment` (Stripe purchases land by webhook, with no
        chat to answer in; the user sees them in /balance)."""
        available = 0 if result.balance is None else max(result.balance.available, 0)
        if result.outcome == PaymentOutcome.GRANTED:
            return self.t("purchase_thanks", locale, credits=f"{result.credits:,}", available=available)
        if result.outcome in (PaymentOutcome.ALREADY_DONE, PaymentOutcome.DUPLICATE):
            return self.t("purchase_already", locale, available=available)
        return self.t("purchase_not_granted", locale)

    def stars_refund(self, refund: StarsRefund, target: str, locale: str | None = None) -> str:
        key = "stars_refund_already" if refund.already else "stars_refund_done"
        return self.t(
            key,
            locale,
            credits=refund.credits_taken,
            target=target,
            charge=refund.telegram_payment_charge_id,
        )
