"""The packs on sale where a person is, and the offer when their balance runs low: written once
for every platform (a refusal, /balance, /daily, a finished job, a purchase all show it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from adapters.chat.actions import Verb, owned
from adapters.chat.messages import Button, Control, PayBy, Reply, Request, StoreButton, joined
from adapters.chat.words import Words, price_text
from core.domain.experiments import Terms
from core.domain.offers import Offer
from core.domain.pricing import Pack, PackTable
from core.domain.upsell import Upsell
from core.services.payments import PaymentService

MAX_PACK_BUTTONS = 10
UPSOLD = "u"  # a buy button's mark: the pack the upsell showed (not upsold again)


class Shop:
    """What can be bought where: the platform says how it can take money (`Surface.payment_methods`),
    the payment service what is configured."""

    def __init__(self, payments: PaymentService, store_skus: Mapping[str, str] | None = None) -> None:
        self.payments = payments
        self.store_skus = dict(store_skus or {})  # pack id -> the platform store's SKU id

    def on_sale(self, request: Request, terms: Terms) -> list[tuple[PayBy, Pack]]:
        """The packs of `terms` (a wallet's: its experiment arm's, else the default) sold here."""
        shown: list[tuple[PayBy, Pack]] = []
        if self.sells(request, PayBy.STARS):
            shown += [(PayBy.STARS, pack) for pack in terms.stars.packs]
        if self.sells(request, PayBy.STORE):  # the store's prices are fixed there: never an arm's
            shown += [(PayBy.STORE, pack) for pack in self.payments.packs() if pack.pack_id in self.store_skus]
        if self.sells(request, PayBy.CARD):
            shown += [(PayBy.CARD, pack) for pack in terms.packs.packs]
        return shown

    def sells(self, request: Request, method: str) -> bool:
        """Whether `method` (as a button carries it) sells packs here."""
        if method not in request.surface.payment_methods:
            return False
        if method == PayBy.STARS:
            return self.payments.stars_enabled
        if method == PayBy.STORE:
            return bool(self.store_skus)
        return method == PayBy.CARD and self.payments.stripe_enabled


class Offers:
    def __init__(self, words: Words, shop: Shop) -> None:
        self.words = words
        self.shop = shop

    def offer(self, request: Request, offer: Offer, *, daily_line: bool = True) -> Reply:
        """The offer's words and buttons: the packs on sale here, the daily credit (a button
        while it can be claimed, else when), support, and "continue with free" unless out of
        credits. `daily_line=False` where the message already says when the next one is due."""
        terms = Terms(PackTable(offer.packs), PackTable(offer.stars_packs))
        t, on_sale = self.words.t, self.shop.on_sale(request, terms)
        head = (
            t(request, "out_of_credits")
            if offer.out_of_credits
            else t(request, "low_balance", available=offer.available)
        )
        lines = [head, *self.pack_lines(request, on_sale)]
        if daily_line and offer.next_daily_at is not None:
            lines.append(t(request, "offer_daily", when=self.when_daily(request, offer.next_daily_at, offer.daily_due)))
        if offer.contact_support:
            lines.append(t(request, "offer_support"))
        owner = request.identity.user_id
        rows = self.pack_rows(request, on_sale)
        if offer.daily_due:
            rows.append((Button(t(request, "button.daily"), owned(Verb.DAILY, owner)),))
        if offer.contact_support:
            rows.append((Button(t(request, "button.support"), owned(Verb.SUPPORT, owner)),))
        if not offer.out_of_credits:
            rows.append((Button(t(request, "button.free"), owned(Verb.FREE, owner)),))
        return Reply("\n".join(lines), tuple(rows))

    def pack_rows(
        self, request: Request, on_sale: list[tuple[PayBy, Pack]], verb: Verb = Verb.BUY
    ) -> list[tuple[Control, ...]]:
        """One button per pack (⭐ Stars, 💳 card, or the platform store's own button); `Verb.GROUP_BUY`
        buys for the group's wallet (never through the store, whose purchase is the buyer's)."""
        owner = request.identity.user_id
        return [
            (self.store_button(request, pack),)
            if method == PayBy.STORE
            else (
                Button(
                    self.words.t(
                        request,
                        "button.buy_stars" if method == PayBy.STARS else "button.buy_card",
                        title=pack.title,
                        credits=pack.credits,
                        price=self.words.price(request, pack),
                    ),
                    owned(verb, owner, method, pack.pack_id),
                ),
            )
            for method, pack in on_sale[:MAX_PACK_BUTTONS]
            if method != PayBy.STORE or verb == Verb.BUY
        ]

    def store_button(self, request: Request, pack: Pack) -> StoreButton:
        label = self.words.t(request, "button.buy_store", title=pack.title, credits=pack.credits)
        return StoreButton(label, self.shop.store_skus[pack.pack_id])

    def pack_lines(self, request: Request, on_sale: list[tuple[PayBy, Pack]]) -> list[str]:
        """The packs on sale here; with none on sale, the packs there are (what they would cost)."""
        # A pack sold both by card and in the platform's store is one line.
        shown = [pack for method, pack in on_sale if method != PayBy.STORE or (PayBy.CARD, pack) not in on_sale]
        packs = shown or list(self.shop.payments.packs())
        return [self.words.pack_line(request, pack) for pack in packs]

    def with_offer(
        self, request: Request, text: str, offer: Offer | None, *, daily_line: bool = True, private: bool = False
    ) -> Reply:
        """`text`, then the offer when there is one (its buttons under both)."""
        if offer is None:
            return Reply(text, private=private)
        return self._followed(text, self.offer(request, offer, daily_line=daily_line), private)

    async def after_refusal(self, request: Request, text: str, offer: Offer | None) -> Reply:
        """ "That costs 2 credits and you have 1.", then the offer, or (not low, just not enough
        for this one) the packs."""
        if offer is not None:
            return self.with_offer(request, text, offer)
        on_sale = self.shop.on_sale(request, await self.shop.payments.terms_of(request.identity))
        lines = [self.words.t(request, "buy_packs_header"), *self.pack_lines(request, on_sale)]
        return self._followed(text, Reply("\n".join(lines), tuple(self.pack_rows(request, on_sale))))

    def upsold(self, request: Request, reply: Reply, method: str, upsell: Upsell | None) -> Reply:
        """`reply` (a way to pay), then the next pack up with its saving per credit and a button
        to buy it instead; that button's press is not upsold again (once per purchase flow)."""
        if upsell is None:
            return reply
        big = upsell.pack
        line = self.words.t(
            request,
            "upsell",
            title=big.title,
            saving=upsell.saving_percent,
            credits=f"{big.credits:,}",
            price=price_text(big),
        )
        (button,) = self.pack_rows(request, [(PayBy(method), big)])[0]
        assert isinstance(button, Button)
        upsold = Button(button.label, owned(Verb.BUY, request.identity.user_id, method, big.pack_id, UPSOLD))
        return Reply(joined(reply.text, line), (*reply.rows, (upsold,)), invoice=reply.invoice)

    @staticmethod
    def _followed(text: str, then: Reply, private: bool = False) -> Reply:
        return Reply(joined(text, then.text), then.rows, private=private)

    def when_daily(self, request: Request, at: dt.datetime, due: bool) -> str:
        """'now (use /daily)' while it can be claimed (`due`), else when."""
        return self.words.t(request, "next_daily_now") if due else self.words.moment(request, at)

    def next_daily(self, request: Request, at: dt.datetime, due: bool) -> str:
        """'Next free daily credit: now (use /daily)' or when."""
        return self.words.t(request, "next_daily", when=self.when_daily(request, at, due))
