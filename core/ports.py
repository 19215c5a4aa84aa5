"""The Protocols the core speaks through. Adapters implement them; `bot.bootstrap` wires them.

A store that moves credits by a rule takes the rule as a function of what it reads
(`decide(snapshot) -> effect`, as payments do): it reads the snapshot inside its transaction
(under the wallet's row lock on PostgreSQL, inside `BEGIN IMMEDIATE` on SQLite), asks the
function, and applies the effect in the same transaction. The rule lives in `core.domain`; the
store keeps only guards (unique keys, no negative balance, a hold resolves once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Protocol

from core.domain.bonuses import BonusEffect, BonusSnapshot
from core.domain.economics import EconomicsSnapshot
from core.domain.experiments import ArmCounts, Experiment, OfferEvent
from core.domain.generation import GeneratedClip, GenerationRequest, PredictionStatus, PreparedClip
from core.domain.identity import Person
from core.domain.jobs import Concluded, Created, Delivered, Job, JobProgress, JobState, JobView, NewJob
from core.domain.languages import LanguagePreference
from core.domain.ledger import AccountStats, Balance, Entry, ExpirySweep, Grant, Hold, Outcome, Reason
from core.domain.notices import NoticeCandidate, ReferralNotice
from core.domain.offers import Offer
from core.domain.orders import Effect, Order, PaymentResult
from core.domain.payments import (
    CheckoutRequest,
    CheckoutSession,
    CheckoutSessionRecord,
    IntentStatus,
    OffSessionCharge,
    OffSessionResult,
    PaymentEvent,
)
from core.domain.progress import Award, ProgressResult, ProgressSnapshot
from core.domain.referral_payouts import ReferralEffect, ReferralSnapshot
from core.domain.rewards import (
    BonusResult,
    EmailConfirmation,
    EmailStart,
    LinkResult,
    ReferralPayout,
    ReferralRecord,
    ReferralSummary,
    Window,
)
from core.domain.rules import CreditRules
from core.domain.stats import WindowStats
from core.domain.support import Ticket, TicketReply
from core.domain.top_ups import AutoTopUp, TopUp, TopUpDecision, TopUpSnapshot
from core.domain.upsell import BuyerHistory
from core.errors import BotError

# The welcome grant of a person just created (`core.domain.rules.welcome_grant`), or None.
WelcomeDecision = Callable[[Person], Grant | None]
# What a bonus does to the person it is for (`core.domain.bonuses.decide_bonus` / `decide_daily`).
BonusDecision = Callable[[BonusSnapshot], BonusEffect]
# What may be settled of a referral now (`core.domain.referral_payouts.decide_referral`).
ReferralDecision = Callable[[ReferralSnapshot], ReferralEffect | None]
# Saves what identifies a prediction about to be created (`MusicGenerator.submit`).
SubmissionNote = Callable[[str], Awaitable[None]]

# What a progress check awards (`core.domain.progress.decide_progress`).
ProgressDecision = Callable[[ProgressSnapshot], tuple[Award, ...]]


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...


class AudioIntake(Protocol):
    def prepare(self, data: bytes, *, max_bytes: int, max_seconds: float) -> PreparedClip:
        """Decode, validate, mix to mono, resample and trim; raise an `AudioRejected` subclass."""
        ...


class MusicGenerator(Protocol):
    """A backend that turns a prepared clip and a style into music (Replicate or local)."""

    # What one second of the backend's reported compute costs the operator, in micro-units of
    # money (0: it costs nothing per run, like the local synthesizer).
    compute_micros_per_second: int

    async def submit(
        self, request: GenerationRequest, *, webhook_url: str | None, before_create: SubmissionNote | None = None
    ) -> str:
        """Start a prediction; return its id. Raises `GenerationFailed` subclasses.

        A backend whose predictions outlive this process awaits `before_create(ref)` just before
        creating one, with what identifies it among the backend's recent predictions (a
        fingerprint of what is sent: the uploaded input, the job's seed, or the words); the
        caller saves it, and after a crash `find(ref)` tells whether the prediction was made."""
        ...

    async def find(self, ref: str, *, since: dt.datetime | None = None) -> list[PredictionStatus]:
        """The recent predictions made with `ref` (see `submit`), newest first, none made
        before `since` (the job was claimed then). The same words can make the same `ref` for
        two jobs: the caller skips predictions another job already has."""
        ...

    async def status(self, prediction_id: str) -> PredictionStatus:
        """The prediction's current state. Raises `GenerationFailed` subclasses."""
        ...

    async def cancel(self, prediction_id: str) -> None:
        """Ask the backend to stop; best effort, never raises for an already finished one."""
        ...

    async def download(self, status: PredictionStatus, *, max_bytes: int) -> bytes:
        """Fetch the finished output (MP3 bytes). Raises `OutputUnavailable`."""
        ...

    async def aclose(self) -> None:
        """Close connections (the process is stopping)."""
        ...


class LedgerStore(Protocol):
    """Atomic credit operations. Each call is one transaction; each movement carries an
    idempotency key under a unique constraint, and a repeated key returns the first outcome
    with `duplicate=True` instead of moving credits twice."""

    async def ensure_person(self, identity: str, *, welcome: WelcomeDecision, now: dt.datetime) -> Person:
        """The person behind `identity`, created on first contact together with its wallet and
        the grant `welcome` decides for the new person, exactly once even under races."""
        ...

    async def open_wallet(self, identity: str, *, welcome: WelcomeDecision, now: dt.datetime) -> tuple[Person, Balance]:
        """`ensure_person` and the wallet's balance together: one read for a returning person,
        one write for a new one."""
        ...

    async def find_person(self, identity: str) -> Person | None: ...

    async def find_wallet(self, identity: str) -> tuple[Person, Balance] | None:
        """The person behind `identity` with the wallet's balance, read-only; None if unknown."""
        ...

    async def ensure_server_wallet(self, server_key: str, *, now: dt.datetime) -> int: ...

    async def grant(self, grant: Grant, *, now: dt.datetime) -> Outcome: ...

    async def hold(
        self, key: str, account_id: int, amount: int, *, expires_at: dt.datetime, now: dt.datetime
    ) -> Outcome:
        """Reserve `amount`; `InsufficientCredits` or `WalletFrozen` if it cannot."""
        ...

    async def capture(self, key: str, *, now: dt.datetime) -> Outcome:
        """Charge a held amount (the clip was delivered), from the wallet's lots in spend order
        (`core.domain.ledger.spend_order`). A hold that already expired is charged only if the
        balance still allows it."""
        ...

    async def release(self, key: str, *, now: dt.datetime) -> Outcome: ...

    async def sweep_expired_holds(self, *, now: dt.datetime, limit: int = 500) -> int:
        """Release every hold past its expiry; returns how many were released."""
        ...

    async def transfer(
        self,
        key: str,
        from_account: int,
        to_account: int,
        amount: int,
        reason: Reason,
        *,
        now: dt.datetime,
        memo: str = "",
    ) -> Outcome: ...

    async def take_back(
        self,
        key: str,
        account_id: int,
        *,
        order_ref: str,
        target_total: int,
        reason: Reason,
        now: dt.datetime,
    ) -> Outcome:
        """Bring the credits taken back for `order_ref` up to `target_total`
        (`core.domain.ledger.take_back_amount`): a refund takes only that purchase's unspent
        credits and never goes below zero; a dispute takes the whole target (the wallet may go
        below zero) and freezes the wallet."""
        ...

    async def take(
        self, key: str, account_id: int, amount: int, reason: Reason, *, now: dt.datetime, memo: str = ""
    ) -> Outcome:
        """An operator takes credits back (never below zero)."""
        ...

    async def set_frozen(self, account_id: int, frozen: bool) -> Balance: ...

    async def balance(self, account_id: int) -> Balance: ...

    async def stats(self, account_id: int) -> AccountStats: ...

    async def history(self, account_id: int, *, limit: int = 10) -> list[Entry]: ...

    async def get_hold(self, key: str) -> Hold | None: ...


class ExpiryStore(Protocol):
    """The free-credit expiry sweep (`core.services.expiry`)."""

    async def expire_free_credits(self, *, now: dt.datetime, after_account: int = 0, limit: int = 100) -> ExpirySweep:
        """One batch, one transaction: in up to `limit` wallets (ids above `after_account`) move
        the unheld remainder of every free lot whose `expires_at` <= `now` out of the wallet
        (`Reason.EXPIRY`, key `expiry:<lot>:<remainder>`); see `core.domain.ledger.expirable_parts`."""
        ...


# --- payments ------------------------------------------------------------------


class PaymentGateway(Protocol):
    """A hosted checkout provider (Stripe Checkout). Webhook verification is not here: the web
    adapter verifies and parses, and hands the core a `PaymentEvent`."""

    @property
    def configured(self) -> bool:
        """False when no API key is set: `buy` answers `PaymentsNotConfigured`."""
        ...

    async def create_checkout(self, req: CheckoutRequest) -> CheckoutSession:
        """Open a checkout page; idempotent per `req.order_id`."""
        ...

    async def list_recent_sessions(self, created_after_unix: int) -> list[CheckoutSessionRecord]: ...

    async def resolve_order_id(self, event: PaymentEvent) -> PaymentEvent:
        """Fill a refund's/dispute's missing `order_id` from the provider (a network call)."""
        ...


class PaymentStore(Protocol):
    """Orders and processed payment events. `apply` is the one write that matters: it records
    the event (unique key), reads the order, asks `decide` what to do and applies the effect
    (order fields and ledger movements) in one transaction."""

    async def create_order(self, order: Order) -> Order:
        """Insert `order`, or return the order already made for its `request_key`."""
        ...

    async def set_checkout(self, order_id: str, session_id: str, url: str, *, now: dt.datetime) -> Order: ...

    async def get_order(self, order_id: str) -> Order | None: ...

    async def order_by_payment_intent(self, payment_intent_id: str) -> Order | None: ...

    async def order_by_telegram_charge(self, charge_id: str) -> Order | None: ...

    async def event_seen(self, event_key: str) -> bool: ...

    async def pre_checkout_facts(self, order_id: str, payer: str) -> tuple[Order | None, int | None, bool]:
        """(the order, the payer's person id or None, whether the order's wallet is frozen)."""
        ...

    async def apply(
        self,
        order_id: str | None,
        decide: Callable[[Order | None], Effect],
        *,
        event_key: str | None,
        event_type: str,
        now: dt.datetime,
    ) -> PaymentResult:
        """Record `event_key` (a repeat returns `DUPLICATE` and changes nothing), then apply
        `decide(order)`; an error rolls all of it back."""
        ...


# --- automatic top-up ------------------------------------------------------------

# Whether to charge now (`core.domain.top_ups.decide_top_up`), from what the store read.
TopUpRule = Callable[[TopUpSnapshot], TopUpDecision]
# The order a top-up pays (built by core: id, pack, price), from the standing order and the row.
TopUpOrder = Callable[[AutoTopUp, TopUp], Order]


class SavedCards(Protocol):
    """Charging a saved card without the person (Stripe Customers and off-session intents)."""

    async def create_customer(self, wallet_ref: str) -> str:
        """A Customer for this wallet (idempotent per `wallet_ref`); its id."""
        ...

    async def charge_saved_card(self, charge: OffSessionCharge) -> OffSessionResult:
        """Create and confirm an off-session PaymentIntent under `charge.idempotency_key`. A
        declined card or one that needs the person is a result with `failure`, not an error."""
        ...

    async def payment_intent(self, payment_intent_id: str) -> IntentStatus:
        """The intent as it is now (a network call)."""
        ...


class TopUpStore(Protocol):
    """Standing orders and their charges. The decision is taken under the wallet's standing
    order lock (PostgreSQL row lock, SQLite's one writer), and every charge has a unique key."""

    async def auto_top_up(self, wallet_id: int) -> AutoTopUp | None: ...

    async def save_auto_top_up(self, auto: AutoTopUp, *, now: dt.datetime) -> bool:
        """Store `auto` unless the wallet's standing order waits for its first payment or one of
        its top-ups is in flight (False then, nothing stored)."""
        ...

    async def turn_off(self, wallet_id: int, *, now: dt.datetime) -> bool:
        """Delete the standing order (a top-up already charging still lands; one not yet sent
        ends); False if there was none."""
        ...

    async def card_saved(
        self, wallet_id: int, customer_id: str, payment_method_id: str, *, now: dt.datetime
    ) -> AutoTopUp | None:
        """The wallet's standing order on that Customer is on with this card; None if it has none."""
        ...

    async def record_top_up(
        self, wallet_id: int, decide: TopUpRule, order: TopUpOrder, *, now: dt.datetime
    ) -> tuple[TopUpDecision, AutoTopUp | None]:
        """Settle a finished in-flight top-up, read the snapshot, `decide`, and insert what it
        says (the top-up row and its order; a duplicate key inserts nothing: NOTHING then)."""
        ...

    async def top_up_charged(self, key: str, payment_intent_id: str, *, now: dt.datetime) -> None: ...

    async def top_up_failed(
        self, key: str, failure: str, payment_intent_id: str | None, *, now: dt.datetime
    ) -> AutoTopUp | None:
        """The charge failed: the top-up ends, its order closes, the standing order pauses."""
        ...

    async def top_up_settled(self, order_id: str, *, now: dt.datetime) -> TopUp | None:
        """The order was paid: its top-up succeeded (returned only by the call that settled it)."""
        ...

    async def due_top_ups(self, *, before: dt.datetime, limit: int = 100) -> list[tuple[TopUp, AutoTopUp]]:
        """Top-ups decided before `before` whose Stripe call never happened (a crash)."""
        ...

    async def charged_top_ups(self, *, before: dt.datetime, limit: int = 100) -> list[TopUp]:
        """Top-ups charged before `before` and still waiting for their webhook."""
        ...


class TopUpNotifier(Protocol):
    """Where a person hears about their automatic top-up (their private chat)."""

    async def top_up_notice(self, identity: str, key: str, values: dict[str, object]) -> None: ...


# --- generation jobs -------------------------------------------------------------


class JobStore(Protocol):
    """Job rows. Every step is a guarded UPDATE (applied only while the row is in one of the
    `source` states), so racing workers, webhooks and pollers apply it once. `create` and
    `conclude` compose the ledger: a job and its hold, or a terminal step and its capture or
    release, are one transaction."""

    async def create(self, job: NewJob, clip: PreparedClip | None, *, now: dt.datetime) -> Created:
        """Insert the job, its input clip (music from a recording; None for the others) and the
        hold of `job.cost` credits (key `hold:<job_id>`).
        A repeated `request_key` returns the existing job with `duplicate=True`.
        Raises `InsufficientCredits` / `WalletFrozen`, leaving nothing behind."""
        ...

    async def get(self, job_id: str) -> Job | None: ...

    async def get_of(self, job_id: str, person_id: int) -> Job | None:
        """The job if it is this person's, also one made before an account link merged its
        person into this one; None otherwise."""
        ...

    async def find_by_request(self, request_key: str) -> Job | None: ...

    async def find_by_prediction(self, prediction_id: str) -> Job | None: ...

    async def awaiting_prediction(self, submission_ref: str) -> list[str]:
        """The ids of the jobs still submitting with this note and no prediction id saved."""
        ...

    async def record_cost(self, job_id: str, cost_micros: int) -> None:
        """What the provider billed for the job (micro-units of money), as it last reported."""

    async def clip(self, job_id: str) -> PreparedClip | None:
        """The job's prepared input, while it is kept (see `purge_inputs`)."""
        ...

    async def claim(
        self,
        *,
        worker_id: str,
        slots: int,
        global_limit: int,
        per_person: int,
        now: dt.datetime,
        lease_until: dt.datetime,
    ) -> list[Job]:
        """Move up to `slots` queued jobs to `submitted` for this worker: oldest first, skipping
        persons already at `per_person` active jobs, never past `global_limit` active jobs."""
        ...

    async def advance(
        self,
        job_id: str,
        source: frozenset[JobState],
        target: JobState,
        *,
        now: dt.datetime,
        worker_id: str,
        lease_until: dt.datetime | None,
        prediction_id: str | None = None,
        output_url: str | None = None,
        submission_ref: str | None = None,
    ) -> Job | None:
        """A non-terminal step (or a note on the current one: `source` holding `target`); None
        when the job was no longer in `source`. Values left None keep what the job had."""
        ...

    async def conclude(
        self,
        job_id: str,
        source: frozenset[JobState],
        target: JobState,
        *,
        now: dt.datetime,
        error: str | None = None,
        error_detail: str | None = None,
        delivery_ref: str | None = None,
        output: bytes | None = None,
    ) -> Concluded | None:
        """A terminal step with its ledger operation (succeeded → capture, else release), in one
        transaction; None when the job was no longer in `source`. A succeeded step keeps `output`
        (the delivered clip, for a later voice tag) in the same transaction."""
        ...

    async def position(self, job: Job) -> int | None:
        """1 + the queued jobs ahead of it; None when it is not queued."""
        ...

    async def queued(self, *, limit: int = 1000) -> list[JobView]:
        """The queue, oldest first, with positions."""
        ...

    async def unfinished_of(self, person_id: int) -> list[JobView]: ...

    async def recent_of(self, person_id: int, *, limit: int = 10) -> list[Job]: ...

    async def adopt(self, *, worker_id: str, now: dt.datetime, lease_until: dt.datetime) -> list[Job]:
        """Take over every started job (submitted, running, delivering) that is this worker's
        from an earlier life or whose worker's lease ran out; return them."""
        ...

    async def renew(self, worker_id: str, *, lease_until: dt.datetime) -> None:
        """Extend the lease of every started job this worker holds."""
        ...

    async def overdue(self, *, now: dt.datetime, states: frozenset[JobState]) -> list[Job]:
        """Jobs in `states` whose deadline passed."""
        ...

    async def with_expired_holds(self) -> list[Job]:
        """Unfinished jobs whose hold the ledger's sweep already expired."""
        ...

    async def output(self, job_id: str) -> bytes | None:
        """The delivered clip `conclude` kept, while it is kept."""
        ...

    async def purge_inputs(self, *, before: dt.datetime) -> int:
        """Forget the input clips of finished jobs, and the kept outputs, created before `before`."""
        ...


class JobNotifier(Protocol):
    """The chat side of a job, on the platform it came from (`Job.platform`). Failures of
    `progress`, `finished` and `failed` are logged and never stop the job."""

    async def progress(self, job: Job, progress: JobProgress) -> None:
        """Queued (with position), started, generating, delivering: edit the status message."""
        ...

    async def deliver(self, job: Job, clip: GeneratedClip) -> bool | Delivered:
        """Send the clip to `job.reply_to`; True (or `Delivered` with the platform's handle on
        the clip) only once the platform accepted it. The hold is captured only then (a crash
        right after may deliver it again, never charge twice)."""
        ...

    async def finished(self, job: Job, charged: int, balance: Balance, offer: Offer | None) -> None:
        """After delivery and capture: "−2 credits · 5 left", plus the offer when low."""
        ...

    async def failed(self, job: Job, error: BotError, balance: Balance) -> None:
        """The job ended without a clip (failed, canceled, expired); its credits were released."""
        ...


# --- rewards, linking, support, stats ---------------------------------------------
# Does this person own this job (a clip they made)? Given by the jobs area.
OwnsJob = Callable[[int, str], Awaitable[bool]]
# A one-line summary of the person's last job for a support ticket, or None.
LastJob = Callable[[int], Awaitable[str | None]]


class CodeSource(Protocol):
    def code(self, length: int, alphabet: str) -> str:
        """A random code (`secrets` in production; predictable in tests)."""
        ...


class BonusStore(Protocol):
    async def grant_bonus(self, identity: str, decide: BonusDecision, *, now: dt.datetime) -> BonusResult:
        """Read the person's `BonusSnapshot` (today is `now`'s UTC day) under their wallet's
        lock, and apply what `decide` says: a grant and its claim, or nothing. One transaction,
        race-safe across processes; the grant's key makes a repeat "already"."""
        ...

    async def bonus_snapshot(self, person_id: int, *, now: dt.datetime) -> BonusSnapshot:
        """The `BonusSnapshot` of the person `person_id` is now (after any account linking), in
        one read-only transaction without the wallet lock: for saying when the daily credit is
        next due, never for paying."""
        ...

    async def person_created_at(self, person_id: int) -> dt.datetime | None: ...


class ReferralStore(Protocol):
    async def referral_code(
        self, identity: str, new_code: Callable[[], str], *, now: dt.datetime
    ) -> ReferralSummary: ...

    async def record_referral(
        self, identity: str, code: str, rules: CreditRules, *, now: dt.datetime
    ) -> ReferralRecord:
        """Record who referred the person behind `identity`, unless `referral_refusal` refuses."""
        ...

    async def has_open_referral(self, person_id: int) -> bool:
        """A referral of `person_id` (the referred one) with a side not yet settled."""
        ...

    async def settle_referral(
        self, person_id: int, decide: ReferralDecision, *, now: dt.datetime
    ) -> ReferralPayout | None:
        """Read the `ReferralSnapshot` of the referral of `person_id` (the referred one) under
        both persons' wallet locks and apply what `decide` says: the qualification, and each
        side paid (grant and claim), capped or left waiting. None when there is no referral to
        settle."""
        ...

    async def due_referrals(self, *, limit: int) -> list[int]:
        """Referred persons whose qualified referral still has a side waiting."""
        ...


class ReferralNoticeStore(Protocol):
    """Bookkeeping of referral payout notices (`core.domain.notices`): one row per payout key."""

    async def due_notices(
        self, *, since: dt.datetime, retry_before: dt.datetime, max_attempts: int, limit: int
    ) -> list[NoticeCandidate]:
        """Paid referral sides since `since` never claimed, and failed ones due for a retry."""
        ...

    async def claim_notices(
        self,
        candidates: list[NoticeCandidate],
        *,
        platforms: frozenset[str],
        retry_before: dt.datetime,
        max_attempts: int,
        now: dt.datetime,
    ) -> list[ReferralNotice]:
        """Commit each candidate as `sending` (first try, or a retry of a failed one) and return
        those this call claimed. A candidate whose receiver has no identity on `platforms` is
        left alone (another process may reach them); one already claimed is skipped."""
        ...

    async def notice_sent(self, key: str, *, now: dt.datetime) -> None: ...

    async def notice_failed(self, key: str, *, now: dt.datetime) -> None: ...


class EmailStore(Protocol):
    async def begin_email(
        self, identity: str, address: str, code: str, rules: CreditRules, *, now: dt.datetime
    ) -> EmailStart:
        """Persist the code's hash and expiry (before anything is sent)."""
        ...

    async def email_send_failed(self, person_id: int) -> None: ...

    async def confirm_email(
        self, identity: str, code: str, bonus: BonusDecision, rules: CreditRules, *, now: dt.datetime
    ) -> EmailConfirmation:
        """Judge the code (`check_email_code`); the right one pays what `bonus` decides and
        claims the address for this person, all or nothing."""
        ...


class LinkStore(Protocol):
    async def create_link_code(
        self, identity: str, code: str, *, expires_at: dt.datetime, now: dt.datetime
    ) -> None: ...

    async def redeem_link(self, identity: str, code: str, *, now: dt.datetime) -> LinkResult: ...


class SupportStore(Protocol):
    async def open_ticket(
        self, identity: str, text: str, last_job: str | None, rules: CreditRules, *, now: dt.datetime
    ) -> Ticket:
        """Store a ticket, unless `ticket_retry_at` says the person has opened too many."""
        ...

    async def mark_forwarded(self, ticket_id: int, *, now: dt.datetime) -> None: ...

    async def open_tickets(self, *, limit: int) -> list[Ticket]: ...

    async def tickets_of(self, person_id: int, *, limit: int) -> list[Ticket]: ...

    async def record_reply(
        self, ticket_id: int, request_id: str, operator: str, text: str, grant: int, *, now: dt.datetime
    ) -> TicketReply: ...

    async def mark_reply_delivered(self, reply_id: int, *, now: dt.datetime) -> None: ...


class StatsStore(Protocol):
    async def window_stats(self, window: Window, *, cheapest_clip: int) -> WindowStats: ...


class OfferStore(Protocol):
    """Pricing experiments, the offer events (shown, clicked, paid) and what the upsell reads.
    A 'paid' event is written by `PaymentStore.apply`, in the grant's transaction."""

    async def start_experiment(self, experiment: Experiment, definition: str) -> None:
        """Store a new running experiment: `ExperimentRunning` while another runs,
        `InvalidExperiment("id_used")` for an id used before; nothing stored then."""
        ...

    async def stop_experiment(self, *, now: dt.datetime) -> str | None:
        """Stop the running experiment; its id, or None when none runs."""
        ...

    async def experiment(self, experiment_id: str | None = None) -> tuple[str, dt.datetime, dt.datetime | None] | None:
        """(definition, started, stopped) of `experiment_id`, or of the running one (None: the
        running one, else the latest)."""
        ...

    async def running_definition(self) -> tuple[str, dt.datetime] | None:
        """(definition, started) of the running experiment: one indexed read."""
        ...

    async def record_event(self, event: OfferEvent) -> None: ...

    async def arm_counts(self, experiment_id: str) -> list[ArmCounts]:
        """The report's figures per arm, from the offer events."""
        ...

    async def buyer_history(self, person_id: int, wallet_id: int, pack_id: str, *, since: dt.datetime) -> BuyerHistory:
        """Paid orders of `pack_id` into the wallet, and credits the wallet spent since `since`."""
        ...


class EmailSender(Protocol):
    async def send_code(self, to: str, code: str, valid_minutes: int, *, language: str | None = None) -> None:
        """Hand the verification code to the mail server, worded in `language` (None: the
        default); `EmailNotSent` when it refuses."""
        ...


class SupportInbox(Protocol):
    """Where tickets go: the operators' channels of the chat platforms."""

    async def forward(self, ticket: Ticket) -> bool:
        """True when at least one operators' channel took it."""
        ...


class SupportReplies(Protocol):
    """Delivers an operator's answer to the person, on the platform of `reply.ticket.identity`
    (raises when it cannot)."""

    async def deliver(self, reply: TicketReply) -> None: ...


class ReferralNotifier(Protocol):
    """The chat platforms' way to tell a person about a referral payout (a DM / private chat)."""

    def reachable(self) -> frozenset[str]:
        """The platforms (of identities) this process can reach."""
        ...

    async def referral_paid(self, identity: str, notice: ReferralNotice) -> None:
        """Raises when the platform refused or cannot reach them."""
        ...


class LanguageStore(Protocol):
    """A person's languages, on the person (every identity linked to them reads the same): the
    one they chose (`/language`) and the one their platform last said."""

    async def languages_of(self, identity: str) -> LanguagePreference:
        """Nothing known (both None) for someone who never chose, or nobody yet."""
        ...

    async def set_language(self, identity: str, language: str) -> None:
        """Their choice. Raises `UnknownIdentity` when nobody has that identity."""
        ...

    async def saw_language(self, identity: str, language: str) -> None:
        """What their platform says they speak (nothing happens for nobody yet)."""


class EconomicsReads(Protocol):
    """What the unit economics read (never write), each in one consistent read."""

    async def snapshot(self, start: dt.datetime, end: dt.datetime, *, recent_since: dt.datetime) -> EconomicsSnapshot:
        """The jobs that ended in [start, end], those since `recent_since`, and what is behind them."""
        ...

    async def wallet_snapshot(self, wallet_id: int) -> EconomicsSnapshot:
        """Every ended job the wallet paid for, and what is behind them."""
        ...


class ProgressStore(Protocol):
    async def award_progress(self, person_id: int, decide: ProgressDecision, *, now: dt.datetime) -> ProgressResult:
        """Read the `ProgressSnapshot` of the person `person_id` is now (after any linking;
        today is `now`'s UTC day) under their wallet's lock and apply what `decide` awards:
        each achievement recorded once per (person, kind), each grant with its bonus claim. One
        transaction, race-safe across processes; an achievement or grant applied before is left
        out of the result, which also names the person's identities."""
        ...

    async def progress_snapshot(self, person_id: int, *, now: dt.datetime) -> ProgressSnapshot:
        """The snapshot in one read-only transaction without the lock: for showing, never for
        paying."""
        ...
