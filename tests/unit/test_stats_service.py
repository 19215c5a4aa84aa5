"""`StatsService` on the in-memory stores: only operators read the figures (the figures
themselves are the store's: tests/integration/test_rewards_stats.py checks them in SQL)."""

from __future__ import annotations

import pytest

from core.domain.identity import Identity
from core.errors import NotPermitted
from tests.unit.memory_services import services

ANN = Identity.parse("telegram:1")


async def test_only_operators_read_the_figures():
    s = services()
    with pytest.raises(NotPermitted):
        await s.stats.report(ANN)
