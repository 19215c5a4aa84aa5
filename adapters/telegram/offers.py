"""The low-balance / out-of-credits offer as Telegram shows it: the words from the shared
renderer, one button per pack on sale (⭐ Stars and/or 💳 card), and the ways out."""

from __future__ import annotations

from dataclasses import replace

from telegram import InlineKeyboardMarkup

from adapters.telegram.deps import Deps
from adapters.telegram.keyboards import Keyboards
from core.domain.offers import Offer


def offer_message(
    deps: Deps,
    keyboards: Keyboards,
    owner: int,
    offer: Offer,
    locale: str | None,
    *,
    daily_line: bool = True,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The offer's words and buttons. `daily_line=False` when the message already says when
    the next daily credit is due (/balance); its button stays."""
    on_sale = deps.packs_on_sale()
    shown = replace(offer, packs=tuple(pack for _, pack in on_sale))
    if not daily_line:
        shown = replace(shown, next_daily_at=None)
    markup = keyboards.packs(
        owner,
        on_sale,
        locale,
        free=not offer.out_of_credits,
        daily=_claimable(deps, offer),
        support=offer.out_of_credits,
    )
    return deps.render.offer(shown, locale), markup


def _claimable(deps: Deps, offer: Offer) -> bool:
    """The daily credit's button only while it can be claimed (else the line says when)."""
    due = offer.next_daily_at
    return due is not None and due <= deps.services.clock.now() and deps.services.rewards is not None


def packs_message(
    deps: Deps, keyboards: Keyboards, owner: int, locale: str | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """`/buy` with no pack: every pack on sale, as lines and as buttons."""
    on_sale = deps.packs_on_sale()
    if not on_sale:
        return deps.t("error.payments_not_configured", locale), None
    lines = [deps.t("buy_packs_header", locale)]
    lines += [deps.render_payments.pack_line(pack, locale) for _, pack in on_sale]
    lines.append(deps.t("tg.buy_pick", locale))
    return "\n".join(lines), keyboards.packs(owner, on_sale, locale)
