"""The credit rules, as plain values built from settings by the composition root."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.domain.pricing import PackTable, Pricing


@dataclass(frozen=True)
class CreditRules:
    pricing: Pricing
    packs: PackTable
    welcome_credits: int = 10
    daily_credits: int = 1
    low_balance_threshold: int = 2
    hold_ttl: dt.timedelta = dt.timedelta(minutes=20)
    free_credit_ttl: dt.timedelta | None = None  # free credits never expire unless set
    operators: frozenset[str] = field(default_factory=frozenset)  # identity keys

    def is_operator(self, identity: str) -> bool:
        return identity in self.operators
