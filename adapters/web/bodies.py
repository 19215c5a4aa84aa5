"""The one reading of a webhook's JSON body, for every sender (Stripe, Replicate, Telegram).

A body the code cannot use is the sender's problem (400), never ours (500): not JSON, not UTF-8,
valid JSON that is not an object (`"x"`, `[]`, `null`), nested so deep that parsing or walking it
would exhaust the stack, or carrying `NaN`/`Infinity` (not JSON, though Python reads them).
"""

from __future__ import annotations

import json

from core.errors import InvalidWebhook

# No sender nests this deep (a Stripe event is about 6 levels); the C parser itself gives up
# near 1000 levels with a RecursionError, and code walking the result recursively before that.
MAX_DEPTH = 32


def json_object(raw: bytes, *, max_depth: int = MAX_DEPTH) -> dict[str, object]:
    """`raw` as a JSON object, or `InvalidWebhook` with reason "not_json" (unparseable, not
    UTF-8, too deep for the parser), "not_an_object" or "too_deep"."""
    try:
        value: object = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidWebhook("not_json") from None
    if not isinstance(value, dict):
        raise InvalidWebhook("not_an_object")
    if _depth_exceeds(value, max_depth):
        raise InvalidWebhook("too_deep")
    return value


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _depth_exceeds(value: object, limit: int) -> bool:
    """Whether containers nest more than `limit` levels (walked without recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
