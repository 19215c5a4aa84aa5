"""Telegram's own limits, checked without a server: callback data within 64 bytes for the
largest ids, and texts over 4,096 characters split where a reader expects."""

from __future__ import annotations

from adapters.chat.catalogue import Catalogue
from adapters.telegram.common import MAX_TEXT, split_text
from adapters.telegram.deps import STYLES
from adapters.telegram.keyboards import Keyboards, Press, data, parse
from core.domain.pricing import Pack, Pricing

BIGGEST_USER = 10**19 - 1  # Telegram ids fit in 64 bits; no real one is this long
JOB = "f" * 16
PRICING = Pricing({5: 1, 10: 2, 15: 3, 30: 5})


def all_callback_data(markup) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data]


def test_every_button_fits_telegrams_64_bytes_and_round_trips():
    keyboards = Keyboards(Catalogue(), STYLES)
    packs = [("s", Pack("creator", 2500, 3750, "XTR")), ("p", Pack("creator", 2500, 7500))]
    markups = [
        keyboards.generate(PRICING, "en"),
        keyboards.cancel(BIGGEST_USER, JOB, "en"),
        keyboards.result(BIGGEST_USER, JOB, 15, PRICING, "en"),
        keyboards.try_again(BIGGEST_USER, JOB, "en"),
        keyboards.other_styles(BIGGEST_USER, JOB, "warm solo piano", 30, 5, "en"),
        keyboards.packs(BIGGEST_USER, packs, "en", free=True, daily=True, support=True),
    ]
    for markup in markups:
        for text in all_callback_data(markup):
            assert len(text.encode()) <= 64, text
            press = parse(text)
            assert press is not None and data(press.verb, press.owner, *press.args) == text


def test_the_generate_keyboard_is_one_per_language_and_carries_no_owner():
    keyboards = Keyboards(Catalogue(), STYLES)
    markup = keyboards.generate(PRICING, "en")
    assert keyboards.generate(PRICING, "en-GB") is markup
    assert parse("g:piano:10") == Press("g", None, ("piano", "10"))
    assert len(all_callback_data(markup)) == len(STYLES) * 4


def test_stale_or_foreign_callback_data_does_not_parse():
    for text in ("", "zz-old-format", "g", "x:12:a b", "c:12:" + "é"):
        assert parse(text) is None


def test_long_texts_are_split_at_line_ends_within_the_limit():
    lines = [f"line {i} " + "x" * 90 for i in range(120)]  # ~12,000 characters
    chunks = split_text("\n".join(lines))
    assert len(chunks) == 3 and all(len(c) <= MAX_TEXT for c in chunks)
    assert "\n".join(chunks) == "\n".join(lines)
    assert all(not c.startswith("\n") and c.startswith("line") for c in chunks)


def test_a_text_without_line_ends_is_still_split():
    chunks = split_text("y" * (MAX_TEXT * 2 + 10))
    assert [len(c) for c in chunks] == [MAX_TEXT, MAX_TEXT, 10]
    assert split_text("short") == ["short"]
