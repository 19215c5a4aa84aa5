"""The upsell: when a bigger pack would suit the buyer better, show it with its saving per credit.

Shown when someone buys the same small pack again, or spent more credits lately than the pack
they are buying holds: the next pack up ("Pro: 30 % less per credit"). The caller shows it once
per purchase flow (a press of the upsold pack is not upsold again).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.domain.pricing import Pack, PackTable


@dataclass(frozen=True)
class BuyerHistory:
    """What the buyer did before: paid orders of this very pack, credits spent lately."""

    bought_before: int
    spent_lately: int  # credits captured in the window (30 days by default)


@dataclass(frozen=True)
class Upsell:
    pack: Pack  # the next pack up
    saving_percent: int  # how much less it costs per credit, whole percent, rounded down


def next_pack(pack: Pack, table: PackTable) -> Pack | None:
    """The smallest pack of `table` with more credits than `pack`, in the same currency."""
    bigger = [p for p in table.packs if p.credits > pack.credits and p.currency == pack.currency]
    return min(bigger, key=lambda p: (p.credits, p.price), default=None)


def saving_percent(small: Pack, big: Pack) -> int:
    """How much less `big` costs per credit than `small`, whole percent rounded down (0 or less:
    no saving). Integer arithmetic: 100 - ceil(100 * (big price/credit) / (small price/credit))."""
    numerator = 100 * big.price * small.credits
    denominator = big.credits * small.price
    return 100 - -(-numerator // denominator)


def upsell_for(pack: Pack, table: PackTable, history: BuyerHistory) -> Upsell | None:
    """The next pack up when the buyer bought this pack before or spent more than it holds
    lately, and it is cheaper per credit; None otherwise (also for the biggest pack)."""
    if history.bought_before < 1 and history.spent_lately <= pack.credits:
        return None
    bigger = next_pack(pack, table)
    if bigger is None:
        return None
    saving = saving_percent(pack, bigger)
    return Upsell(bigger, saving) if saving > 0 else None
