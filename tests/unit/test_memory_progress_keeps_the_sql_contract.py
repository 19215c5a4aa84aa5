"""The in-memory stores keep the SQL contract for streaks and achievements: every test of
`tests/integration/test_progress.py` runs here on `MemoryStores` too."""

from __future__ import annotations

import pytest

from tests.fakes.memory import MemoryStores
from tests.integration import test_progress

globals().update({name: value for name, value in vars(test_progress).items() if name.startswith("test_")})
globals().update({name: value for name, value in vars(test_progress).items() if name == "kit"})


@pytest.fixture
def database() -> MemoryStores:
    return MemoryStores()
