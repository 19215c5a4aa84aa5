"""In-memory fakes of every storage port (core/ports.py), cosmicpython style: hand-written,
sharing one `World` of rows, keeping the contracts the SQL stores keep (a repeated idempotency
key is "already done", no guarded debit takes a wallet below zero, a hold resolves once, a unit
of work is all or nothing) and asking the same `core.domain` decisions. For fast unit tests of
the core services; the SQLite and PostgreSQL suites test the SQL stores themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.fakes.memory.bonuses import FakeBonusStore
from tests.fakes.memory.email import FakeEmailStore
from tests.fakes.memory.jobs import FakeJobStore
from tests.fakes.memory.languages import FakeLanguageStore
from tests.fakes.memory.ledger import FakeLedgerStore
from tests.fakes.memory.linking import FakeLinkStore
from tests.fakes.memory.offers import FakeOfferStore
from tests.fakes.memory.payments import FakePaymentStore
from tests.fakes.memory.progress import FakeProgressStore
from tests.fakes.memory.referral_notices import FakeReferralNoticeStore
from tests.fakes.memory.referrals import FakeReferralStore
from tests.fakes.memory.stats import FakeStatsStore
from tests.fakes.memory.support import FakeSupportStore
from tests.fakes.memory.top_ups import FakeTopUpStore
from tests.fakes.memory.world import World


@dataclass
class MemoryStores:
    """One store per port, over one world of rows."""

    world: World = field(default_factory=World)

    def __post_init__(self) -> None:
        self.ledger = FakeLedgerStore(self.world)
        self.jobs = FakeJobStore(self.world)
        self.payments = FakePaymentStore(self.world)
        self.bonuses = FakeBonusStore(self.world)
        self.referrals = FakeReferralStore(self.world)
        self.notices = FakeReferralNoticeStore(self.world)
        self.email = FakeEmailStore(self.world)
        self.links = FakeLinkStore(self.world)
        self.support = FakeSupportStore(self.world)
        self.stats = FakeStatsStore(self.world)
        self.languages = FakeLanguageStore(self.world)
        self.offers = FakeOfferStore(self.world)
        self.top_ups = FakeTopUpStore(self.world)
        self.progress = FakeProgressStore(self.world)


__all__ = ["MemoryStores", "World"]
