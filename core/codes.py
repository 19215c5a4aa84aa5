"""Random codes: the real source (`secrets`) and a scripted one for tests (stdlib only)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator


class SecretCodes:
    def code(self, length: int, alphabet: str) -> str:
        return "".join(secrets.choice(alphabet) for _ in range(length))


class ScriptedCodes:
    """Hands out the given codes in order, then falls back to random ones."""

    def __init__(self, codes: Iterable[str] = ()) -> None:
        self._codes: Iterator[str] = iter(codes)
        self._random = SecretCodes()

    def code(self, length: int, alphabet: str) -> str:
        return next(self._codes, None) or self._random.code(length, alphabet)
