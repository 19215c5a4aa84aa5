"""Whole numbers typed by people: amounts, ids, counts, lengths, choices. One reading for all.

Only ASCII digits count. `str.isdigit()` also accepts "²" and "⁵" (which `int()` then refuses),
and `int()` itself accepts "٥", "1_000", "+5" and surrounding spaces: none of those is how anyone
means to type a number to this bot, and each used to reach a different corner of the code.
"""

from __future__ import annotations

# As many digits as a 64-bit id can have (Discord's snowflakes have 19), far below `int()`'s own
# limit of 4300 digits, past which it raises.
MAX_DIGITS = 20


def whole_number(text: object) -> int | None:
    """`text` as a whole number ≥ 0 when it is one written in ASCII digits (surrounding
    whitespace allowed, at most `MAX_DIGITS` of them), or an `int` that is not a bool; else None."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if text >= 0 else None
    if not isinstance(text, str):
        return None
    digits = text.strip()
    if not digits or len(digits) > MAX_DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return int(digits)
