"""The rewards services over a real database, with a settable clock and fakes at the edges
(email sender, support inbox/replies, job ownership). Handed `MemoryStores` instead of a
database, the same kit stands on the in-memory stores: the contract tests
(tests/unit/test_memory_*_keep*_the_sql_contract.py) run the SQL suites on the fakes that way."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert

from adapters.storage.bonuses import SqlBonusStore
from adapters.storage.database import Database
from adapters.storage.email_verification import SqlEmailStore
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.linking import SqlLinkStore
from adapters.storage.payments import SqlPaymentStore
from adapters.storage.progress import SqlProgressStore
from adapters.storage.referrals import SqlReferralStore
from adapters.storage.stats import SqlStatsStore
from adapters.storage.support import SqlSupportStore
from adapters.storage.tables_jobs import jobs
from core.clock import ManualClock
from core.codes import SecretCodes
from core.domain.identity import Identity
from core.domain.jobs import Job, JobState
from core.domain.orders import CheckoutLink, PaymentOutcome
from core.domain.payments import (
    ChargeRefunded,
    CheckoutPaid,
)
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rules import CreditRules
from core.ports import LedgerStore, PaymentStore
from core.services.email import EmailVerificationService
from core.services.linking import LinkService
from core.services.payments import PaymentService
from core.services.progress import ProgressService
from core.services.referrals import ReferralService
from core.services.rewards import RewardService
from core.services.stats import StatsService
from core.services.support import SupportService
from core.services.wallets import WalletService
from tests.fakes.edges import FakeCheckout, FakeDesk, FakeSender
from tests.fakes.memory import MemoryStores
from tests.fakes.memory.world import JobRow as MemoryJobRow
from tests.fakes.wallet_moves import WalletMoves

__all__ = ["CREDIT_RULES", "OPERATOR", "START", "FakeDesk", "Kit", "make_kit"]

ACHIEVEMENT_KINDS = ("first_clip", "every_style", "first_share", "first_purchase", "streak_7")
START = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
OPERATOR = Identity("discord", "900")

CREDIT_RULES = CreditRules(
    pricing=Pricing({5: 1, 10: 2, 15: 3, 30: 5}),
    packs=PackTable((Pack("starter", 100, 500), Pack("popular", 400, 1500), Pack("pro", 1000, 3500))),
    operators=frozenset({OPERATOR.key}),
    # No cooldown and a roomy allowance unless a test is about them.
    new_account_cooldown=dt.timedelta(0),
    max_free_per_day=50,
    achievement_credits=tuple((kind, 1) for kind in ACHIEVEMENT_KINDS),
)
KIT_STYLES = frozenset({"warm solo piano", "acoustic guitar"})  # "every style tried" asks for these
STARS_PACKS = PackTable((Pack("starter", 100, 250, "XTR"), Pack("popular", 400, 750, "XTR")))


@dataclass
class Stores:
    """The rewards area's stores, one per port."""

    bonuses: SqlBonusStore
    referrals: SqlReferralStore
    email: SqlEmailStore
    links: SqlLinkStore
    support: SqlSupportStore
    stats: SqlStatsStore
    progress: SqlProgressStore


@dataclass
class Kit(WalletMoves):
    database: Database | MemoryStores
    clock: ManualClock
    ledger: LedgerStore
    stores: Stores | MemoryStores
    wallets: WalletService
    rules: CreditRules
    sender: FakeSender
    owned: set[tuple[int, str]]
    bonuses: RewardService
    referrals: ReferralService
    email: EmailVerificationService
    linking: LinkService
    support: SupportService
    stats: StatsService
    payments: PaymentService
    progress: ProgressService

    async def pay_stripe(self, identity: Identity, pack: str, request: str) -> str:
        """Buy `pack` through Stripe Checkout as a chat adapter would, then deliver its paid
        webhook event; returns the order id."""
        return await self.stripe_paid(await self.payments.buy(identity, pack, request_id=request))

    async def stripe_paid(self, link: CheckoutLink) -> str:
        """Stripe's `checkout.session.completed` (paid, the full amount) for a Checkout link."""
        order = link.order_id
        result = await self.payments.handle_stripe_event(
            CheckoutPaid(f"evt_paid_{order}", f"cs_{order}", order, link.pack.price, link.pack.currency, f"pi_{order}")
        )
        assert result.outcome == PaymentOutcome.GRANTED
        return order

    async def refund_stripe(self, order_id: str, amount_refunded: int) -> None:
        """Stripe's `charge.refunded` for an order (`amount_refunded` is cumulative)."""
        order = await self.payments.store.get_order(order_id)
        assert order is not None
        result = await self.payments.handle_stripe_event(
            ChargeRefunded(
                f"evt_refund_{order_id}_{amount_refunded}",
                f"ch_{order_id}",
                order.payment_intent_id,
                order_id,
                order.amount,
                amount_refunded,
            )
        )
        assert result.outcome == PaymentOutcome.TAKEN_BACK

    async def pay_stars(self, identity: Identity, pack: str, request: str) -> str:
        """A Telegram Stars invoice for `pack`, pre-checked and paid; returns the order id."""
        invoice = await self.payments.stars_invoice(identity, pack, request_id=request)
        assert (await self.payments.pre_checkout(invoice.payload, invoice.amount, invoice.currency, identity)).ok
        result = await self.payments.stars_paid(invoice.payload, f"tg_{request}", invoice.amount, identity)
        assert result.outcome == PaymentOutcome.GRANTED
        return invoice.order_id

    async def deliver(self, identity: Identity, style: str, job_id: str) -> None:
        """A clip delivered now: its charge (hold, capture) and its job row, succeeded."""
        await self.spend(identity, 1, job_id)
        person = await self.wallets.person(identity)
        now = self.clock.now()
        job = Job(
            job_id,
            f"{identity.key}:{job_id}",
            person.person_id,
            person.wallet_id,
            identity.key,
            identity.platform,
            {},
            style=style,
            seconds=5,
            cost=1,
            state=JobState.SUCCEEDED,
            created_at=now,
            updated_at=now,
            finished_at=now,
            deadline_at=now + dt.timedelta(minutes=30),
        )
        if isinstance(self.database, MemoryStores):
            self.database.world.jobs[job_id] = MemoryJobRow(self.database.world.next_id(), job)
            return
        row = {
            "id": job.job_id,
            "request_key": job.request_key,
            "person_id": job.person_id,
            "wallet_id": job.wallet_id,
            "identity": job.identity,
            "platform": job.platform,
            "reply_to": "{}",
            "style": style,
            "seconds": 5,
            "cost": 1,
            "seed": 1,
            "state": JobState.SUCCEEDED.value,
            "created_at": now,
            "updated_at": now,
            "finished_at": now,
            "deadline_at": job.deadline_at,
        }
        await self.database.write(lambda conn: conn.execute(insert(jobs).values(**row)))

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
    database: Database | MemoryStores,
    rules: CreditRules = CREDIT_RULES,
    *,
    clock: ManualClock | None = None,
    sender: FakeSender | None = None,
    owned: set[tuple[int, str]] | None = None,
) -> Kit:
    """The kit over `database`, or over the in-memory stores when handed `MemoryStores`."""
    clock = clock or ManualClock(START)
    ledger: LedgerStore
    stores: Stores | MemoryStores
    payments: PaymentStore
    if isinstance(database, MemoryStores):
        ledger, stores, payments = database.ledger, database, database.payments
    else:
        sql_ledger = SqlLedgerStore(database)
        ledger, payments = sql_ledger, SqlPaymentStore(database, sql_ledger)
        stores = Stores(
            bonuses=SqlBonusStore(database, sql_ledger),
            referrals=SqlReferralStore(database, sql_ledger),
            email=SqlEmailStore(database, sql_ledger),
            links=SqlLinkStore(database),
            support=SqlSupportStore(database, sql_ledger),
            stats=SqlStatsStore(database),
            progress=SqlProgressStore(database, sql_ledger),
        )
    wallets = WalletService(ledger, rules, clock)
    sender = sender if sender is not None else FakeSender()
    owned = owned if owned is not None else set()
    codes = SecretCodes()

    async def owns_job(person_id: int, job_id: str) -> bool:
        return (person_id, job_id) in owned

    return Kit(
        database=database,
        clock=clock,
        ledger=ledger,
        stores=stores,
        wallets=wallets,
        rules=rules,
        sender=sender,
        owned=owned,
        bonuses=RewardService(stores.bonuses, wallets, rules, clock, owns_job=owns_job),
        referrals=ReferralService(stores.referrals, wallets, rules, clock, codes),
        email=EmailVerificationService(stores.email, wallets, rules, clock, codes, sender),
        linking=LinkService(stores.links, wallets, rules, clock, codes),
        support=SupportService(stores.support, wallets, rules, clock),
        stats=StatsService(stores.stats, rules, clock),
        payments=PaymentService(
            payments,
            wallets,
            rules,
            clock,
            gateway=FakeCheckout(),
            stars_packs=STARS_PACKS,
        ),
        progress=ProgressService(stores.progress, wallets, rules, clock, KIT_STYLES),
    )
