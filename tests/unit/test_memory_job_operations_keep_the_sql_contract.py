"""The in-memory job store keeps the SQL contract of the priced operations: every test of
`tests/integration/test_job_operations_storage.py` runs here on `MemoryStores` too."""

from __future__ import annotations

import pytest

from tests.fakes.memory import MemoryStores
from tests.integration import test_job_operations_storage

globals().update({name: value for name, value in vars(test_job_operations_storage).items() if name.startswith("test_")})
stores = test_job_operations_storage.stores


@pytest.fixture
def database() -> MemoryStores:
    return MemoryStores()
