"""Usage figures for operators (`/admin stats`, `python -m bot stats`).

Definitions (the same in code, the report and the notes):
- *new persons*: persons created in the window (a person merged into another by account
  linking is not counted);
- *generations*: delivered clips, i.e. `spend` transfers (captured holds) in the window;
- *credits granted by reason*: credits created from a system source in the window, grouped
  by reason (welcome, daily, referral, email, share, operator, purchase); gifts only move credits;
- *credits spent*: the sum of those spend transfers;
- *revenue by pack*: purchases (paid lots carrying a pack id) in the window, times the pack's
  list price from the settings;
- *conversion from free to paid*: persons whose first purchase falls in the window, divided by
  the persons who existed by the window's end and had bought nothing before its start;
- *came back after running out*: of the persons whose wallet *ran out* in the window (a spend
  left the posted balance below the cheapest clip), the share who made another generation
  after the first time they ran out in the window (at any time up to now).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.domain.rewards import Window


@dataclass(frozen=True)
class WindowStats:
    window: Window
    new_persons: int
    generations: int
    credits_spent: int
    granted_by_reason: dict[str, int] = field(default_factory=dict)
    purchases_by_pack: dict[str, int] = field(default_factory=dict)  # pack id -> purchases
    first_purchasers: int = 0
    free_base: int = 0
    ran_out: int = 0
    came_back: int = 0

    @property
    def conversion(self) -> float | None:
        return None if self.free_base == 0 else self.first_purchasers / self.free_base

    @property
    def came_back_share(self) -> float | None:
        return None if self.ran_out == 0 else self.came_back / self.ran_out


@dataclass(frozen=True)
class PackRevenue:
    pack_id: str
    purchases: int
    amount: int  # minor units (cents)
    currency: str


@dataclass(frozen=True)
class WindowReport:
    stats: WindowStats
    revenue: tuple[PackRevenue, ...]

    @property
    def revenue_total(self) -> int:
        return sum(r.amount for r in self.revenue)


@dataclass(frozen=True)
class StatsReport:
    at: dt.datetime
    windows: tuple[WindowReport, ...]
