"""The cost table and the credit packs. Whole credits only, prices in the currency's minor unit."""

from __future__ import annotations

from dataclasses import dataclass

from core.domain.numbers import whole_number
from core.errors import InvalidLength, UnknownPack


@dataclass(frozen=True)
class Pack:
    pack_id: str
    credits: int
    price: int  # minor units: US cents for Stripe, Stars for Telegram
    currency: str = "usd"

    @property
    def title(self) -> str:
        return self.pack_id.capitalize()


@dataclass(frozen=True)
class PackTable:
    packs: tuple[Pack, ...]

    def get(self, pack_id: str) -> Pack:
        for pack in self.packs:
            if pack.pack_id == pack_id.strip().lower():
                return pack
        raise UnknownPack(pack_id, self.ids)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(p.pack_id for p in self.packs)

    def rank(self, pack_id: str) -> int:
        """Bigger packs rank higher; the plan is the highest-ranked pack ever bought."""
        return self.get(pack_id).credits


@dataclass(frozen=True)
class Pricing:
    costs: dict[int, int]  # seconds -> credits

    @property
    def lengths(self) -> tuple[int, ...]:
        return tuple(sorted(self.costs))

    @property
    def cheapest(self) -> int:
        """The credits of the cheapest clip (1 with no lengths): a wallet left below it has "run
        out" (the stats' came-back figure)."""
        return min(self.costs.values(), default=1)

    def cost_for(self, seconds: object) -> int:
        """The credits a clip of `seconds` costs; other lengths are refused with the allowed list."""
        return self.costs[self.parse_length(seconds)]

    def parse_length(self, seconds: object) -> int:
        """`seconds` (`10`, "10" or "10s") as one of the priced lengths, else `InvalidLength`."""
        value = whole_number(seconds.strip().removesuffix("s") if isinstance(seconds, str) else seconds)
        if value is None or value not in self.costs:
            raise InvalidLength(seconds, self.lengths)
        return value
