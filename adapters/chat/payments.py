"""Buying credits, written once: /buy (the packs on sale here, one button each), a pack's way to
pay (a Stars invoice or a Stripe Checkout link), the same for a group's wallet, Telegram's
pre-checkout answer and `successful_payment`, /paysupport. Credits come only from the verified
payment; the price always from the server's table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from adapters.chat.actions import Action, Verb
from adapters.chat.commands import Command, Menu, Param
from adapters.chat.messages import SILENT, Invoice, LinkButton, PayBy, Reply, Request, joined
from adapters.chat.offers import UPSOLD, Offers, Shop
from adapters.chat.words import Words
from core.domain.orders import CheckoutLink, PaymentOutcome, PaymentResult, StarsInvoice
from core.domain.pricing import Pack
from core.errors import PaymentsNotConfigured, UnknownPack
from core.services.payments import PaymentService
from core.services.server_wallets import ServerWalletService
from core.services.store_purchases import StorePurchases

PAYMENT_OK = ""  # a pre-checkout answer with no refusal


class PaymentsChat:
    def __init__(
        self,
        words: Words,
        payments: PaymentService,
        servers: ServerWalletService,
        shop: Shop,
        offers: Offers,
        store: StorePurchases | None = None,
    ) -> None:
        self.words = words
        self.store = store
        self.payments = payments
        self.servers = servers
        self.shop = shop
        self.offers = offers

    def commands(self) -> list[Command]:
        return [
            Command("buy", self.buy, (self.pack_param(),), menu=Menu.PRIVATE, slow_with_args=True),
            Command("paysupport", self.paysupport, menu=Menu.PRIVATE),
        ]

    def pack_param(self) -> Param:
        """A pack to buy (optional: without it, every pack as a button)."""

        def choices() -> list[tuple[str, str]]:
            return [(self.words.pack_line_plain(pack), pack.pack_id) for pack in self.payments.packs()]

        return Param("pack", required=False, choices=choices)

    # --- for oneself -----------------------------------------------------------------------------

    async def buy(self, request: Request) -> Reply:
        """The packs on sale, one button each; `/buy <pack>` goes straight to that pack (or asks
        how to pay when it is sold both ways)."""
        wanted = request.arg("pack").strip().lower()
        on_sale = self.shop.on_sale(request, await self.payments.terms_of(request.identity, shown=not wanted))
        if not wanted:
            return self.pack_list(request, on_sale)
        return await self._pack(request, on_sale, wanted, Verb.BUY, self.sell)

    def pack_list(self, request: Request, on_sale: list[tuple[PayBy, Pack]]) -> Reply:
        lines = [self.words.t(request, "buy_packs_header"), *self.offers.pack_lines(request, on_sale)]
        if not on_sale:
            lines.append(self.words.error(request, PaymentsNotConfigured()))
        else:
            lines.append(self.words.t(request, "buy_how", example=on_sale[0][1].pack_id))
        return Reply("\n".join(lines), tuple(self.offers.pack_rows(request, on_sale)))

    async def press_buy(self, request: Request, action: Action) -> Reply:
        """A pack button: a Stars invoice (`s`) or a card checkout link (`p`); the upsell's own
        button (marked `u`) is not upsold again."""
        return await self.sell(request, action.arg(0), action.arg(1), upsell=action.arg(2) != UPSOLD)

    async def sell(self, request: Request, method: str, pack_id: str, *, upsell: bool = True) -> Reply:
        """Open the order and show the way to pay (the price comes from the server's table, or
        the person's experiment arm), and the next pack up when it would suit them better."""
        if not self.shop.sells(request, method):  # a forged button: not sold that way here
            raise PaymentsNotConfigured()
        if method == PayBy.STORE:  # the platform's own store takes it from here
            pack = self.payments.rules.packs.get(pack_id)
            return Reply(self.words.t(request, "buy_store"), ((self.offers.store_button(request, pack),),))
        me, rid = request.identity, request.request_id
        if method == PayBy.STARS:
            invoice = await self.payments.stars_invoice(me, pack_id, request_id=rid)
            reply, pack = Reply(invoice=self._invoice(request, invoice, "stars_invoice_description")), invoice.pack
        else:
            link = await self.payments.buy(me, pack_id, request_id=rid)
            reply, pack = self._checkout(request, link), link.pack
        bigger = await self.payments.upsell(me, pack) if upsell else None
        return self.offers.upsold(request, reply, method, bigger)

    # --- for a group's wallet --------------------------------------------------------------------

    async def group_buy(self, request: Request) -> Reply:
        """`/server-wallet buy [pack]`: the packs as buttons, with the wallet's credits; a pack
        goes straight to paying when it is sold one way only. Admins only, asked first."""
        admin = await request.place.check_admin()
        view = await self.servers.balance(request.server, request.identity, actor_is_admin=admin)
        on_sale = self.shop.on_sale(request, await self.payments.terms_for(None))  # a group's: the default
        if not on_sale:
            raise PaymentsNotConfigured()
        wanted = request.arg("pack").strip().lower()
        if not wanted:
            text = self.words.t(request, "group_buy_pick", server=max(view.balance.available, 0))
            return Reply(text, tuple(self.offers.pack_rows(request, on_sale, Verb.GROUP_BUY)))

        async def sell(request: Request, method: str, pack_id: str) -> Reply:
            return await self.sell_to_group(request, method, pack_id, admin)

        return await self._pack(request, on_sale, wanted, Verb.GROUP_BUY, sell)

    async def press_group_buy(self, request: Request, action: Action) -> Reply:
        """A pack button under `/server-wallet buy`: only an admin may press it, asked again now."""
        admin = await request.place.check_admin()
        return await self.sell_to_group(request, action.arg(0), action.arg(1), admin)

    async def sell_to_group(self, request: Request, method: str, pack_id: str, admin: bool) -> Reply:
        """The group's order: a Stars invoice in the group or a Checkout link; the credits go to
        the group's wallet (whoever pays)."""
        if not self.shop.sells(request, method) or method == PayBy.STORE:
            raise PaymentsNotConfigured()
        server, me, rid = request.server, request.identity, request.request_id
        if method == PayBy.STARS:
            invoice = await self.servers.stars_invoice(server, me, pack_id, actor_is_admin=admin, request_id=rid)
            return Reply(invoice=self._invoice(request, invoice, "group_invoice_description"))
        link = await self.servers.buy(server, me, pack_id, actor_is_admin=admin, request_id=rid)
        checkout = self._checkout(request, link)
        return Reply(joined(self.words.t(request, "group_checkout"), checkout.text), checkout.rows)

    # --- Telegram Stars: the questions Telegram asks -------------------------------------------

    async def pre_checkout(self, request: Request, payload: str, amount: int, currency: str) -> str:
        """Is this invoice still good for this person? `PAYMENT_OK`, or the refusal in words."""
        verdict = await self.payments.pre_checkout(payload, amount, currency, request.identity)
        if verdict.ok or verdict.refusal is None:
            return PAYMENT_OK
        return self.words.t(request, f"stars_refused.{verdict.refusal.value}")

    async def stars_paid(self, request: Request, payload: str, charge_id: str, amount: int, currency: str) -> Reply:
        """Stars were paid: the pack is granted once per charge id, and the payer is told (in a
        group, what the group's wallet got)."""
        result = await self.payments.stars_paid(payload, charge_id, amount, request.identity, currency)
        if await self._for_this_group(request, result):
            return Reply(self._group_purchase(request, result))
        available = 0 if result.balance is None else max(result.balance.available, 0)
        if result.outcome == PaymentOutcome.GRANTED:
            text = self.words.t(request, "purchase_thanks", credits=result.credits, available=available)
        elif result.outcome in (PaymentOutcome.ALREADY_DONE, PaymentOutcome.DUPLICATE):
            text = self.words.t(request, "purchase_already", available=available)
        else:
            text = self.words.t(request, "purchase_not_granted")
        return self.offers.with_offer(request, text, result.offer)

    # --- the platform's own store (Discord entitlements) ---------------------------------------

    async def entitlement(self, request: Request, entitlement_id: str, sku_id: str, *, deleted: bool) -> Reply | None:
        """An entitlement the platform reported: the pack granted once (a thank-you the first
        time; `SILENT` after), or taken back when deleted. None: not one of our packs (leave it
        unconsumed)."""
        if self.store is None or self.store.pack_for(sku_id) is None:
            return None
        if deleted:
            await self.store.deleted(request.identity, entitlement_id, sku_id)
            return SILENT
        result = await self.store.granted(request.identity, entitlement_id, sku_id)
        if result.outcome != PaymentOutcome.GRANTED:
            return SILENT
        available = 0 if result.balance is None else max(result.balance.available, 0)
        return Reply(self.words.t(request, "entitlement_thanks", credits=result.credits, available=available))

    async def paysupport(self, request: Request) -> Reply:
        """Help with a payment (Telegram requires it of bots that sell with Stars)."""
        return Reply(self.words.t(request, "paysupport"))

    # --- helpers ---------------------------------------------------------------------------------

    async def _pack(
        self,
        request: Request,
        on_sale: list[tuple[PayBy, Pack]],
        wanted: str,
        verb: Verb,
        sell: Callable[[Request, str, str], Awaitable[Reply]],
    ) -> Reply:
        """The pack named `wanted`: sold straight away when it is sold one way here, else "how
        would you like to pay?" with a button for each way (`verb`: for oneself or the group)."""
        matching = [(method, pack) for method, pack in on_sale if pack.pack_id == wanted]
        if not matching:
            known = tuple(dict.fromkeys(pack.pack_id for _, pack in on_sale))
            raise UnknownPack(wanted, known) if known else PaymentsNotConfigured()
        if len(matching) == 1:
            method, pack = matching[0]
            return await sell(request, method, pack.pack_id)
        return Reply(self.words.t(request, "buy_how_pay"), tuple(self.offers.pack_rows(request, matching, verb)))

    async def _for_this_group(self, request: Request, result: PaymentResult) -> bool:
        if request.place.private or request.place.group_id is None or result.order is None:
            return False
        return await self.servers.is_wallet_of(request.server, result.order.wallet_id)

    def _group_purchase(self, request: Request, result: PaymentResult) -> str:
        if result.outcome == PaymentOutcome.GRANTED and result.balance is not None:
            server = max(result.balance.available, 0)
            return self.words.t(request, "group_bought", credits=result.credits, server=server)
        if result.outcome in (PaymentOutcome.ALREADY_DONE, PaymentOutcome.DUPLICATE):
            return self.words.t(request, "group_bought_already")
        return self.words.t(request, "purchase_not_granted")

    def _invoice(self, request: Request, invoice: StarsInvoice, description: str) -> Invoice:
        title = self.words.t(request, "stars_invoice_title", title=invoice.pack.title)
        return Invoice(
            title=title,
            description=self.words.t(request, description, credits=invoice.pack.credits),
            payload=invoice.payload,
            currency=invoice.currency,
            amount=invoice.amount,
        )

    def _checkout(self, request: Request, link: CheckoutLink) -> Reply:
        expiry = self.words.t(request, "buy_link_expiry", expires_at=link.expires_at) if link.expires_at else ""
        text = self.words.t(
            request,
            "buy_link",
            title=link.pack.title,
            credits=link.pack.credits,
            price=self.words.price(request, link.pack),
            expiry_part=expiry,
            url=link.url,
        )
        button = LinkButton(
            self.words.t(request, "button.pay_link", price=self.words.price(request, link.pack)), link.url
        )
        return Reply(text, ((button,),))


__all__ = ["PAYMENT_OK", "PaymentsChat"]
