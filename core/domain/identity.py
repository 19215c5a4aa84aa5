"""Who is talking to the bot: platform identities that belong to one person.

An identity is `<platform>:<user id>` (`telegram:456`). Which platforms exist, and what their
user ids look like, is the deployment's business: the composition root gives core an
`IdentityFormats` made of the platforms it registers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.errors import InvalidIdentity

_IDENTITY = re.compile(r"^([a-z][a-z0-9_]{0,19}):([A-Za-z0-9_.\-]{1,64})$")


@dataclass(frozen=True)
class Identity:
    """`<platform>:<user id>`, e.g. `telegram:456`."""

    platform: str
    user_id: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        """Any well-formed identity (use `IdentityFormats.parse` for text a person typed)."""
        match = _IDENTITY.match(text.strip())
        if match is None:
            raise InvalidIdentity(text)
        platform, user_id = match.groups()
        return cls(platform, user_id)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class IdentityFormats:
    """The platforms a deployment knows, each with the pattern of its user ids."""

    user_ids: Mapping[str, str] = field(default_factory=dict)  # platform → regular expression

    def parse(self, text: str) -> Identity:
        """An identity on a known platform, with a user id of its shape; else `InvalidIdentity`."""
        identity = Identity.parse(text)
        pattern = self.user_ids.get(identity.platform)
        if pattern is None or re.fullmatch(pattern, identity.user_id) is None:
            raise InvalidIdentity(text)
        return identity


@dataclass(frozen=True)
class Person:
    person_id: int
    wallet_id: int
    created: bool  # True when this call made the person (and granted the welcome credits)
