"""The rewards services over a real database, with a settable clock and fakes at the edges
(email sender, support inbox/replies, job ownership)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from adapters.storage.database import Database
from adapters.storage.ledger_store import SqlLedgerStore
from adapters.storage.reward_store import SqlRewardStore
from core.clock import ManualClock
from core.codes import SecretCodes
from core.domain.identity import Identity
from core.domain.ledger import Grant, LotKind, Reason
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rewards import RewardRules
from core.domain.rules import CreditRules
from core.domain.support import Ticket, TicketReply
from core.errors import EmailNotSent
from core.services.email import EmailVerificationService
from core.services.linking import LinkService
from core.services.referrals import ReferralService
from core.services.rewards import RewardService
from core.services.stats import StatsService
from core.services.support import SupportService
from core.services.wallets import WalletService

START = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
OPERATOR = Identity("discord", "900")

CREDIT_RULES = CreditRules(
    pricing=Pricing({5: 1, 10: 2, 15: 3, 30: 5}),
    packs=PackTable((Pack("starter", 100, 500), Pack("popular", 400, 1500), Pack("pro", 1000, 3500))),
    operators=frozenset({OPERATOR.key}),
)
# No cooldown and a roomy allowance unless a test is about them.
REWARD_RULES = RewardRules(new_account_cooldown=dt.timedelta(0), max_free_per_day=50)


class FakeSender:
    """Records codes instead of mailing them; can be told to fail."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = False

    async def send_code(self, to: str, code: str, valid_minutes: int) -> None:
        if self.fail:
            raise EmailNotSent("SMTPRecipientsRefused")
        self.sent.append((to, code))

    @property
    def last_code(self) -> str:
        return self.sent[-1][1]


@dataclass
class FakeDesk:
    """A chat adapter's support inbox and reply channel."""

    tickets: list[Ticket] = field(default_factory=list)
    replies: list[TicketReply] = field(default_factory=list)
    broken: bool = False

    async def forward(self, ticket: Ticket) -> None:
        if self.broken:
            raise ConnectionError("channel gone")
        self.tickets.append(ticket)

    async def deliver(self, reply: TicketReply) -> None:
        if self.broken:
            raise ConnectionError("user blocked the bot")
        self.replies.append(reply)


@dataclass
class Kit:
    database: Database
    clock: ManualClock
    ledger: SqlLedgerStore
    store: SqlRewardStore
    wallets: WalletService
    rules: RewardRules
    sender: FakeSender
    owned: set[tuple[int, str]]
    bonuses: RewardService
    referrals: ReferralService
    email: EmailVerificationService
    linking: LinkService
    support: SupportService
    stats: StatsService

    async def person(self, key: str) -> tuple[Identity, int]:
        identity = Identity.parse(key)
        return identity, (await self.wallets.person(identity)).person_id

    async def available(self, identity: Identity) -> int:
        person = await self.wallets.person(identity)
        return (await self.ledger.balance(person.wallet_id)).available

    async def buy(self, identity: Identity, pack: str, credits: int, order: str) -> None:
        person = await self.wallets.person(identity)
        await self.ledger.grant(
            Grant(
                f"purchase:{order}",
                person.wallet_id,
                credits,
                Reason.PURCHASE,
                LotKind.PAID,
                pack_id=pack,
                order_ref=order,
            ),
            now=self.clock.now(),
        )

    async def spend(self, identity: Identity, amount: int, job: str) -> None:
        person = await self.wallets.person(identity)
        now = self.clock.now()
        await self.ledger.hold(
            f"hold:{job}",
            person.wallet_id,
            amount,
            expires_at=now + dt.timedelta(minutes=20),
            now=now,
        )
        await self.ledger.capture(f"hold:{job}", now=now)

    async def audit(self) -> list[str]:
        return await self.ledger.audit()

    def with_rules(self, **changes: object) -> Kit:
        """The same database and clock, services built with other reward rules."""
        return make_kit(
            self.database,
            dataclasses.replace(self.rules, **changes),
            clock=self.clock,
            sender=self.sender,
            owned=self.owned,
        )


def make_kit(
    database: Database,
    rules: RewardRules = REWARD_RULES,
    *,
    clock: ManualClock | None = None,
    sender: FakeSender | None = None,
    owned: set[tuple[int, str]] | None = None,
    credit_rules: CreditRules = CREDIT_RULES,
) -> Kit:
    clock = clock or ManualClock(START)
    ledger = SqlLedgerStore(database)
    store = SqlRewardStore(database, ledger)
    wallets = WalletService(ledger, credit_rules, clock)
    sender = sender if sender is not None else FakeSender()
    owned = owned if owned is not None else set()
    codes = SecretCodes()

    async def owns_job(person_id: int, job_id: str) -> bool:
        return (person_id, job_id) in owned

    return Kit(
        database=database,
        clock=clock,
        ledger=ledger,
        store=store,
        wallets=wallets,
        rules=rules,
        sender=sender,
        owned=owned,
        bonuses=RewardService(store, wallets, rules, clock, owns_job=owns_job),
        referrals=ReferralService(store, wallets, rules, clock, codes),
        email=EmailVerificationService(store, wallets, rules, clock, codes, sender),
        linking=LinkService(store, wallets, rules, clock, codes),
        support=SupportService(store, wallets, rules, clock),
        stats=StatsService(store, credit_rules, clock),
    )
