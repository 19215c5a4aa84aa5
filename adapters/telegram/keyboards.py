"""Inline keyboards and their callback data.

Callback data is a namespaced string that carries every id a press needs (no server-side
state), so buttons keep working after a restart: `<verb>:<owner user id>:<args...>`, at most
64 bytes. The owner id lets a press by anyone else be refused without a database read.
The generate keyboard is the exception, `g:<style>:<seconds>`: its owner is the author of the
recording the keyboard message answers, so one keyboard (built once) serves everyone.

| verb | args | meaning |
|---|---|---|
| g | style, seconds | generate from the recording the keyboard message replies to (no owner) |
| c | job | cancel a job |
| a | job | again (same style and length) |
| o | job | show the other styles for a job's clip |
| s | job, style | other style |
| l | job, seconds | longer |
| b | kind (s: Stars, p: card), pack | buy a pack |
| w | kind (s: Stars, p: card), pack | buy a pack for the group's wallet (an admin, re-checked) |
| f | | continue with free (dismiss the offer) |
| d | | claim the daily credit |
| h | | how to contact support |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from adapters.chat.catalogue import Catalogue, plural
from adapters.chat.recordings import STYLE_EMOJI
from adapters.chat.render import price_text
from core.domain.pricing import Pack, Pricing

MAX_CALLBACK_BYTES = 64

_DATA = re.compile(r"^(?P<verb>[a-z])(?::(?P<owner>\d{1,20}))?(?::(?P<args>[A-Za-z0-9_:.\-]*))?$")


class PrebuiltKeyboard(InlineKeyboardMarkup):
    """A keyboard sent unchanged to everyone, serialised once instead of at every send."""

    __slots__ = ("_as_dict",)

    def __init__(self, inline_keyboard: list[list[InlineKeyboardButton]]) -> None:
        super().__init__(inline_keyboard)
        with self._unfrozen():
            self._as_dict = super().to_dict()

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        return dict(self._as_dict) if recursive else super().to_dict(recursive)


@dataclass(frozen=True)
class Press:
    verb: str
    owner: int | None  # None: the author of the recording the keyboard answers (generate)
    args: tuple[str, ...]


def data(verb: str, owner: int | None, *args: object) -> str:
    text = ":".join([verb, *([] if owner is None else [str(owner)]), *(str(a) for a in args)])
    if len(text.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data too long: {text!r}")
    return text


def parse(text: str | None) -> Press | None:
    match = _DATA.match(text or "")
    if match is None:
        return None
    args = tuple(match.group("args").split(":")) if match.group("args") else ()
    owner = match.group("owner")
    if owner is None and not args:
        return None
    return Press(match.group("verb"), None if owner is None else int(owner), args)


def pattern(*verbs: str) -> re.Pattern[str]:
    return re.compile(rf"^[{''.join(verbs)}]:")


class Keyboards:
    def __init__(self, catalogue: Catalogue, styles: dict[str, str]) -> None:
        self.catalogue = catalogue
        self.styles = styles
        self._generate: dict[str, PrebuiltKeyboard] = {}

    def t(self, key: str, locale: str | None, **values: object) -> str:
        return self.catalogue.text(key, locale, **values)

    def button(self, key: str, locale: str | None, callback: str, **values: object) -> InlineKeyboardButton:
        return InlineKeyboardButton(self.t(key, locale, **values), callback_data=callback)

    def generate(self, pricing: Pricing, locale: str | None) -> InlineKeyboardMarkup:
        """One row per style, one button per length showing its cost (the same for everyone:
        built once per language)."""
        language = self.catalogue.language(locale)
        cached = self._generate.get(language)
        if cached is None:
            cached = self._generate[language] = PrebuiltKeyboard(
                [
                    [
                        self.button(
                            "tg.button.generate",
                            locale,
                            data("g", None, style, seconds),
                            emoji=STYLE_EMOJI.get(style, "🎵"),
                            seconds=seconds,
                            credits=cost,
                        )
                        for seconds, cost in sorted(pricing.costs.items())
                    ]
                    for style in self.styles
                ]
            )
        return cached

    def cancel(self, owner: int, job_id: str, locale: str | None) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[self.button("tg.button.cancel", locale, data("c", owner, job_id))]])

    def result(
        self, owner: int, job_id: str, seconds: int, pricing: Pricing, locale: str | None
    ) -> InlineKeyboardMarkup:
        """Again / Other style / Longer / Share under a delivered clip."""
        first = [
            self.button("tg.button.again", locale, data("a", owner, job_id)),
            self.button("tg.button.other_style", locale, data("o", owner, job_id)),
        ]
        longer = [s for s in pricing.lengths if s > seconds]
        if longer:
            first.append(
                self.button(
                    "tg.button.longer",
                    locale,
                    data("l", owner, job_id, longer[0]),
                    seconds=longer[0],
                )
            )
        share = InlineKeyboardButton(self.t("tg.button.share", locale), switch_inline_query=f"clip {job_id}")
        return InlineKeyboardMarkup([first, [share]])

    def try_again(self, owner: int, job_id: str, locale: str | None) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[self.button("tg.button.try_again", locale, data("a", owner, job_id))]])

    def other_styles(
        self, owner: int, job_id: str, current: str, seconds: int, cost: int, locale: str | None
    ) -> InlineKeyboardMarkup:
        buttons = [
            self.button(
                "tg.button.style",
                locale,
                data("s", owner, job_id, style),
                emoji=STYLE_EMOJI.get(style, "🎵"),
                style=self.t(f"tg.style.{style}", locale),
                credits=cost,
                plural=plural(cost),
            )
            for style, prompt in self.styles.items()
            if prompt != current
        ]
        return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])

    def packs(
        self,
        owner: int,
        on_sale: list[tuple[str, Pack]],
        locale: str | None,
        *,
        free: bool = False,
        daily: bool = False,
        support: bool = False,
        verb: str = "b",
    ) -> InlineKeyboardMarkup | None:
        """One button per pack (⭐ Stars invoice or 💳 card checkout), then the way out.
        `verb="w"`: the packs are for the group's wallet."""
        rows = [
            [
                self.button(
                    "tg.button.buy_stars" if kind == "s" else "tg.button.buy_card",
                    locale,
                    data(verb, owner, kind, pack.pack_id),
                    title=pack.title,
                    credits=f"{pack.credits:,}",
                    price=price_text(pack),
                )
            ]
            for kind, pack in on_sale
        ]
        if daily:
            rows.append([self.button("tg.button.daily", locale, data("d", owner))])
        if support:
            rows.append([self.button("tg.button.support", locale, data("h", owner))])
        if free:
            rows.append([self.button("tg.button.free", locale, data("f", owner))])
        return InlineKeyboardMarkup(rows) if rows else None

    def pay_link(self, url: str, pack: Pack, locale: str | None) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(self.t("tg.button.pay_link", locale, price=price_text(pack)), url=url)]]
        )
