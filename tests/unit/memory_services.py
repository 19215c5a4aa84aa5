"""The core services wired to the in-memory stores (`tests.fakes.memory`) and to fakes at the
edges, with a settable clock and predictable codes: what the unit tests of the services use."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from core.clock import ManualClock
from core.domain.generation import GenerationRequest, PredictionStatus, PreparedClip
from core.domain.identity import Identity
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rules import CreditRules
from core.errors import AudioEmpty
from core.ports import ReferralNotifier, SubmissionNote
from core.services.email import EmailVerificationService
from core.services.expiry import ExpiryService
from core.services.generation import GenerationService, GenerationSettings
from core.services.linking import LinkService
from core.services.payments import PaymentService
from core.services.referrals import ReferralService
from core.services.rewards import RewardService
from core.services.server_wallets import ServerWalletService
from core.services.stats import StatsService
from core.services.support import SupportService
from core.services.wallets import WalletService
from tests.fakes.edges import FakeCheckout, FakeDesk, FakeSender, RecordingNotifier
from tests.fakes.memory import MemoryStores
from tests.fakes.wallet_moves import WalletMoves

START = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
OPERATOR = Identity("console", "op")
RULES = CreditRules(
    pricing=Pricing({5: 1, 10: 2, 15: 3, 30: 5}),
    packs=PackTable((Pack("starter", 100, 500), Pack("popular", 400, 1500), Pack("pro", 1000, 3500))),
    operators=frozenset({OPERATOR.key}),
    max_free_per_day=50,
)
STARS_PACKS = PackTable((Pack("starter", 100, 250, "XTR"),))


class CountingCodes:
    """Codes that differ every time and can be read back (`last`)."""

    def __init__(self) -> None:
        self._count = itertools.count(1)
        self.last = ""

    def code(self, length: int, alphabet: str) -> str:
        n, digits = next(self._count), []
        for _ in range(length):
            n, digit = divmod(n, len(alphabet))
            digits.append(alphabet[digit])
        self.last = "".join(reversed(digits))
        return self.last


class FakeIntake:
    """Takes any non-empty bytes as a 1.5 s clip; nothing at all is refused as empty."""

    def prepare(self, data: bytes, *, max_bytes: int, max_seconds: float) -> PreparedClip:
        if not data:
            raise AudioEmpty()
        return PreparedClip(audio=data, sample_rate=32_000, seconds=1.5)


class IdleGenerator:
    """A generator the services never get to call: unit tests do not start the job workers."""

    compute_micros_per_second = 0

    async def submit(
        self, request: GenerationRequest, *, webhook_url: str | None, before_create: SubmissionNote | None = None
    ) -> str:
        raise AssertionError("the workers are not running")

    async def find(self, ref: str, *, since: dt.datetime | None = None) -> list[PredictionStatus]:
        raise AssertionError("the workers are not running")

    async def status(self, prediction_id: str) -> PredictionStatus:
        raise AssertionError("the workers are not running")

    async def cancel(self, prediction_id: str) -> None:
        return None

    async def download(self, status: PredictionStatus, *, max_bytes: int) -> bytes:
        raise AssertionError("the workers are not running")

    async def aclose(self) -> None:
        return None


@dataclass
class Services(WalletMoves):
    stores: MemoryStores
    clock: ManualClock
    rules: CreditRules
    codes: CountingCodes
    sender: FakeSender
    desk: FakeDesk
    notifier: RecordingNotifier
    owned: set[tuple[int, str]] = field(default_factory=set)
    referral_notifier: ReferralNotifier | None = None

    def __post_init__(self) -> None:
        stores, rules, clock, codes = self.stores, self.rules, self.clock, self.codes

        async def owns_job(person_id: int, job_id: str) -> bool:
            return (person_id, job_id) in self.owned

        self.ledger = stores.ledger
        self.wallets = WalletService(stores.ledger, rules, clock)
        self.bonuses = RewardService(stores.bonuses, self.wallets, rules, clock, owns_job=owns_job)
        self.referrals = ReferralService(
            stores.referrals, self.wallets, rules, clock, codes, notices=stores.notices, notifier=self.referral_notifier
        )
        self.email = EmailVerificationService(stores.email, self.wallets, rules, clock, codes, self.sender)
        self.linking = LinkService(stores.links, self.wallets, rules, clock, codes)
        self.support = SupportService(stores.support, self.wallets, rules, clock, inbox=self.desk, replies=self.desk)
        self.stats = StatsService(stores.stats, rules, clock)
        self.expiry = ExpiryService(stores.ledger, rules, clock)
        self.payments = PaymentService(
            stores.payments, self.wallets, rules, clock, gateway=FakeCheckout(), stars_packs=STARS_PACKS
        )
        self.server_wallets = ServerWalletService(
            stores.ledger, self.wallets, clock, can_receive_gift=self.bonuses.ensure_can_receive_gift
        )
        self.generation = GenerationService(
            store=stores.jobs,
            ledger=stores.ledger,
            wallets=self.wallets,
            intake=FakeIntake(),
            generator=IdleGenerator(),
            rules=rules,
            clock=clock,
            settings=GenerationSettings(),
            ids=(f"job{n}" for n in itertools.count(1)).__next__,
            seeds=itertools.count(7).__next__,
            notifier=self.notifier,
        )

    def with_rules(self, **changes: Any) -> Services:
        """The same rows and clock, services built with other rules."""
        return Services(
            self.stores,
            self.clock,
            dataclasses.replace(self.rules, **changes),
            self.codes,
            self.sender,
            self.desk,
            self.notifier,
            self.owned,
            self.referral_notifier,
        )


def services(
    rules: CreditRules = RULES, *, referral_notifier: ReferralNotifier | None = None, **changes: Any
) -> Services:
    return Services(
        MemoryStores(),
        ManualClock(START),
        dataclasses.replace(rules, **changes),
        CountingCodes(),
        FakeSender(),
        FakeDesk(),
        RecordingNotifier(),
        referral_notifier=referral_notifier,
    )
