"""The in-memory stores keep the SQL contract for account linking: every test of
`tests/integration/test_rewards_linking.py` runs here on `MemoryStores` too (the rewards
kit stands on them when its `database` is `MemoryStores`), so the fakes the service unit tests
stand on cannot drift from SQL."""

from __future__ import annotations

import pytest

from tests.fakes.memory import MemoryStores
from tests.integration import test_rewards_linking

globals().update({name: value for name, value in vars(test_rewards_linking).items() if name.startswith("test_")})
globals().update({name: value for name, value in vars(test_rewards_linking).items() if name in ("kit", "desk")})


@pytest.fixture
def database() -> MemoryStores:
    return MemoryStores()
