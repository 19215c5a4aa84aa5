"""Fakes of the outside edges the core services talk to: the mail sender, the checkout
provider, a chat adapter's support desk and its job notifier. Each records what it was asked
and can be told to fail."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from core.domain.generation import GeneratedClip
from core.domain.jobs import Job, JobProgress
from core.domain.ledger import Balance
from core.domain.offers import Offer
from core.domain.payments import (
    CheckoutRequest,
    CheckoutSession,
    CheckoutSessionRecord,
    IntentStatus,
    OffSessionCharge,
    OffSessionResult,
    PaymentEvent,
)
from core.domain.support import Ticket, TicketReply
from core.errors import BotError, EmailNotSent


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


class FakeCheckout:
    """A Stripe Checkout that opens a session `cs_<order id>` per order and lists nothing;
    the test then plays Stripe's webhook events itself. It also keeps saved cards: customers
    `cus_<wallet ref>`, and off-session charges recorded by idempotency key (one payment per
    key, like Stripe); `refuse` makes the next charges fail with that code."""

    configured = True

    def __init__(self) -> None:
        self.requests: list[CheckoutRequest] = []
        self.charges: dict[str, OffSessionCharge] = {}  # idempotency key -> the charge
        self.attempts: list[OffSessionCharge] = []  # every call, refused ones too
        self.refuse: str | None = None  # "authentication_required" | "card_declined"

    async def create_customer(self, wallet_ref: str) -> str:
        return f"cus_{wallet_ref.replace(':', '_')}"

    async def charge_saved_card(self, charge: OffSessionCharge) -> OffSessionResult:
        intent = f"pi_{charge.order_id}"
        self.attempts.append(charge)
        if self.refuse is not None:
            return OffSessionResult(intent, "requires_payment_method", self.refuse)
        self.charges.setdefault(charge.idempotency_key, charge)
        return OffSessionResult(intent, "succeeded")

    async def payment_intent(self, payment_intent_id: str) -> IntentStatus:
        """Every intent this fake made succeeded (unless refused, and then it was never charged)."""
        charge = next(c for c in self.charges.values() if f"pi_{c.order_id}" == payment_intent_id)
        return IntentStatus(payment_intent_id, "succeeded", charge.amount_cents, charge.currency)

    async def create_checkout(self, req: CheckoutRequest) -> CheckoutSession:
        self.requests.append(req)
        return CheckoutSession(f"cs_{req.order_id}", f"https://checkout.test/{req.order_id}", req.order_id)

    async def list_recent_sessions(self, created_after_unix: int) -> list[CheckoutSessionRecord]:
        return []

    async def resolve_order_id(self, event: PaymentEvent) -> PaymentEvent:
        return event


@dataclass
class FakeDesk:
    """The chat platforms' support inbox and reply channel."""

    tickets: list[Ticket] = field(default_factory=list)
    replies: list[TicketReply] = field(default_factory=list)
    broken: bool = False

    async def forward(self, ticket: Ticket) -> bool:
        if self.broken:
            raise ConnectionError("channel gone")
        self.tickets.append(ticket)
        return True

    async def deliver(self, reply: TicketReply) -> None:
        if self.broken:
            raise ConnectionError("user blocked the bot")
        self.replies.append(reply)


@dataclass
class RecordingNotifier:
    """A chat adapter's side of the jobs, recorded. `accept` decides what `deliver` answers."""

    accept: bool | Callable[[Job], Awaitable[bool]] = True
    progress_seen: list[tuple[str, JobProgress]] = field(default_factory=list)
    delivered: dict[str, int] = field(default_factory=dict)  # job id → times the platform accepted it
    clips: dict[str, GeneratedClip] = field(default_factory=dict)
    finished_jobs: list[tuple[str, int, Balance, Offer | None]] = field(default_factory=list)
    failed_jobs: list[tuple[str, BotError, Balance]] = field(default_factory=list)

    async def progress(self, job: Job, progress: JobProgress) -> None:
        self.progress_seen.append((job.job_id, progress))

    async def deliver(self, job: Job, clip: GeneratedClip) -> bool:
        ok = self.accept if isinstance(self.accept, bool) else await self.accept(job)
        if ok:
            self.delivered[job.job_id] = self.delivered.get(job.job_id, 0) + 1
            self.clips[job.job_id] = clip
        return ok

    async def finished(self, job: Job, charged: int, balance: Balance, offer: Offer | None) -> None:
        self.finished_jobs.append((job.job_id, charged, balance, offer))

    async def failed(self, job: Job, error: BotError, balance: Balance) -> None:
        self.failed_jobs.append((job.job_id, error, balance))

    def error_of(self, job_id: str) -> BotError:
        return next(error for jid, error, _ in self.failed_jobs if jid == job_id)
