"""The in-memory stores keep the SQL contract for pricing experiments and offer events: every
test of `tests/integration/test_experiment_store.py` runs here on `MemoryStores` too."""

from __future__ import annotations

import pytest

from tests.fakes.memory import MemoryStores
from tests.integration import test_experiment_store

globals().update({name: value for name, value in vars(test_experiment_store).items() if name.startswith("test_")})
globals().update({name: value for name, value in vars(test_experiment_store).items() if name == "shop"})


@pytest.fixture
def database() -> MemoryStores:
    return MemoryStores()
