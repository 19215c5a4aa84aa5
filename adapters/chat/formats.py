"""Numbers, prices and moments as each language writes them, by Babel (CLDR data): `{n:,}` is
"1,500" / "1.500" / "1 500"; a pack priced in USD "$5" / "5 US$" / "5 $"; a moment in UTC.

English moments keep the ISO-like "2026-03-11 00:00 UTC" people already know from the bot;
other languages get their own order and month names ("11 mar 2026 0:00 UTC").
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal

from babel import Locale
from babel.dates import format_datetime, format_skeleton
from babel.numbers import format_currency, format_decimal

# Currencies without minor units (Stripe's list), and Telegram Stars: whole units.
WHOLE_UNITS = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF XTR".split())
STARS_CURRENCY = "XTR"  # Telegram Stars
_FIXED = re.compile(r"^\.(\d)f$")


@functools.lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    return Locale.parse(language)


def number(value: int | float, language: str, spec: str = "") -> str:
    """A number in a template, by its format spec: "," groups the digits the language's way
    ("1,500", "1.500", "1 500"); ".1f" fixes the decimals with the language's decimal sign; no
    spec writes it plainly (ids, counts, limits); any other spec is Python's own."""
    if not spec:
        return str(value)
    if spec == ",":
        return _grouped(value, language)
    fixed = _FIXED.match(spec)
    if fixed is None:
        return format(value, spec)
    digits = int(fixed.group(1))
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(Decimal(str(round(value, digits))), format=pattern, locale=_locale(language))


@functools.lru_cache(maxsize=4096)
def _grouped(value: int | float, language: str) -> str:
    return format_decimal(value, locale=_locale(language))


@functools.lru_cache(maxsize=1024)  # a shop has a few packs: each price is worded once per language
def price(amount: int, currency: str, language: str) -> str:
    """A price in minor units: "$5", "$4.99", "5 US$", "4,99 €", "250 ⭐" (whole amounts
    without decimals)."""
    code = currency.upper()
    if code == STARS_CURRENCY:
        return f"{amount} ⭐"  # as Telegram shows Stars
    units = Decimal(amount) if code in WHOLE_UNITS else Decimal(amount) / 100
    if units == units.to_integral_value():
        pattern = _locale(language).currency_formats["standard"].pattern.split(";")[0].replace(".00", "")
        return format_currency(units, code, format=pattern, locale=_locale(language), currency_digits=False)
    return format_currency(units, code, locale=_locale(language))


def utc_moment(at: dt.datetime, language: str) -> str:
    """A moment in UTC as the language writes a date and a time."""
    at = at.astimezone(dt.UTC)
    if language == "en":
        return at.strftime("%Y-%m-%d %H:%M UTC")
    locale = _locale(language)
    day = format_skeleton("yMMMd", at, tzinfo=dt.UTC, locale=locale)
    return f"{day} {format_datetime(at, 'HH:mm', tzinfo=dt.UTC, locale=locale)} UTC"
