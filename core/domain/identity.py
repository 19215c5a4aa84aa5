"""Who is talking to the bot: platform identities that belong to one person."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidIdentity

PLATFORMS = ("discord", "telegram", "console")
_IDENTITY = re.compile(r"^(discord|telegram|console):([A-Za-z0-9_.\-]{1,64})$")


@dataclass(frozen=True)
class Identity:
    """`discord:123`, `telegram:456` or `console:alice`."""

    platform: str
    user_id: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        match = _IDENTITY.match(text.strip())
        if match is None:
            raise InvalidIdentity(text)
        platform, user_id = match.groups()
        if platform in ("discord", "telegram") and not user_id.isdigit():
            raise InvalidIdentity(text)
        return cls(platform, user_id)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class Person:
    person_id: int
    wallet_id: int
    created: bool  # True when this call made the person (and granted the welcome credits)
