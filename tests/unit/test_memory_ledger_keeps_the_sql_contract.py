"""The in-memory ledger keeps the SQL ledger's contract: every test of
`tests/integration/test_ledger.py` (welcome once under races, guarded holds, a hold resolves
once, repeated keys are "already done", refunds and disputes, transfers, the audit) runs here
against `FakeLedgerStore` too, so the fakes the service tests stand on cannot drift from SQL."""

from __future__ import annotations

import pytest

from tests.fakes.memory import MemoryStores
from tests.fakes.memory.ledger import FakeLedgerStore
from tests.integration import test_ledger

globals().update({name: test for name, test in vars(test_ledger).items() if name.startswith("test_")})


@pytest.fixture
def store() -> FakeLedgerStore:
    return MemoryStores().ledger
