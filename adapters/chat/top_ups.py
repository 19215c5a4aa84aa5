"""Automatic top-up, written once: `/autotopup <pack> below <n>`, `/autotopup off`, and its line in
/balance. Telegram Stars cannot be charged without the person: there it says so, and offers the
card path where Stripe is set."""

from __future__ import annotations

from adapters.chat.commands import Command, Menu, Param, ParamKind
from adapters.chat.messages import LinkButton, PayBy, Reply, Request, joined
from adapters.chat.words import Words, price_text
from core.domain.top_ups import AutoState, AutoTopUp
from core.errors import TopUpNeedsCard, UsageError
from core.services.top_ups import TopUpService

OFF = "off"


class TopUpChat:
    def __init__(self, words: Words, top_ups: TopUpService) -> None:
        self.words = words
        self.top_ups = top_ups

    def commands(self) -> list[Command]:
        def choices() -> list[tuple[str, str]]:
            packs = self.top_ups.payments.packs()
            return [*((self.words.pack_line_plain(pack), pack.pack_id) for pack in packs), (OFF, OFF)]

        params = (Param("pack", choices=choices), Param("below", ParamKind.TEXT, required=False))
        return [Command("autotopup", self.autotopup, params, menu=Menu.PRIVATE, slow_with_args=True)]

    async def autotopup(self, request: Request) -> Reply:
        """Opt in (a Checkout link that saves the card), change the pack or the line, or stop."""
        wanted = request.arg("pack").strip().lower()
        if wanted == OFF:
            stopped = await self.top_ups.disable(request.identity)
            return Reply(self.words.t(request, "top_up_off" if stopped else "top_up_was_off"), private=True)
        stars_here = PayBy.STARS in request.surface.payment_methods
        if not self.top_ups.enabled:
            if stars_here:
                return Reply(self.words.t(request, "top_up_stars_only"), private=True)
            raise TopUpNeedsCard()
        if not request.arg("below").strip():
            # The pack alone: check it first, so an unknown pack is named as such.
            self.top_ups.payments.rules.packs.get(wanted)
            raise UsageError("autotopup")
        setup = await self.top_ups.enable(request.identity, wanted, request.arg("below"), request_id=request.request_id)
        pack, auto = setup.pack, setup.auto
        values = {
            "title": pack.title,
            "credits": f"{pack.credits:,}",
            "price": price_text(pack),
            "threshold": auto.threshold,
            "per_day": self.top_ups.limits.per_day,
        }
        stars_note = self.words.t(request, "top_up_stars_card") if stars_here else ""
        if setup.link is None:
            return Reply(joined(stars_note, self.words.t(request, "top_up_changed", **values)), private=True)
        text = joined(stars_note, self.words.t(request, "top_up_setup", **values), setup.link.url)
        button = LinkButton(self.words.t(request, "button.pay_link", price=price_text(pack)), setup.link.url)
        return Reply(text, ((button,),), private=True)

    async def balance_line(self, request: Request) -> str:
        """The standing order's state for /balance ("" when there is none)."""
        if not self.top_ups.enabled:
            return ""
        auto = await self.top_ups.status(request.identity)
        if auto is None or (auto.state == AutoState.SETUP and not auto.setup_pending(self.top_ups.clock.now())):
            return ""
        return self.state_text(request, auto)

    def state_text(self, request: Request, auto: AutoTopUp) -> str:
        title = auto.pack_id.capitalize()
        return self.words.t(
            request, f"top_up_state.{auto.state.value}", title=title, pack=auto.pack_id, threshold=auto.threshold
        )
