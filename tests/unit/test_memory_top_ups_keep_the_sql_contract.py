"""The in-memory top-up store keeps the SQL contract: every test of
`tests/integration/test_top_up_store.py` runs here on `MemoryStores` too, so the fakes the
conversation's top-up tests stand on cannot drift from SQL."""

from __future__ import annotations

import pytest

from tests.fakes.memory import MemoryStores
from tests.integration import test_top_up_store

globals().update({name: value for name, value in vars(test_top_up_store).items() if name.startswith("test_")})


@pytest.fixture
def database() -> MemoryStores:
    return MemoryStores()
