"""Buying credit packs: Stripe Checkout and Telegram Stars, fulfilment, refunds, disputes.

The chat adapters call `buy` (a Checkout link), `stars_invoice` / `pre_checkout` /
`stars_paid` / `refund_stars` (Telegram Stars); the web server calls `handle_stripe_event`
with a verified event; `python -m bot reconcile-payments` calls `reconcile`.

Rules kept here:
- price and credits come from the server's pack tables, never from the client;
- the order row is written first, then the provider is called (no network call inside a
  database transaction); the order id is the provider's idempotency key;
- credits are granted only from a verified payment event, once per Checkout session
  (`purchase:<session id>`) or Stars charge (`stars:<telegram_payment_charge_id>`), in the same
  transaction that records the event id, so redeliveries change nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from core.domain.experiments import OfferEventKind, Terms
from core.domain.identity import Identity, Person
from core.domain.orders import (
    STARS_CURRENCY,
    Channel,
    CheckoutLink,
    Effect,
    Order,
    PaymentOutcome,
    PaymentResult,
    PreCheckout,
    ReconcileReport,
    StarsInvoice,
    StarsRefund,
    on_checkout_closed,
    on_checkout_paid,
    on_checkout_pending,
    on_dispute,
    on_intent_succeeded,
    on_refund,
    on_session_record,
    on_stars_paid,
    on_stars_refund,
    open_order,
    pre_checkout_refusal,
)
from core.domain.payments import (
    CardSaved,
    ChargeRefunded,
    CheckoutClosed,
    CheckoutPaid,
    CheckoutPending,
    CheckoutRequest,
    DisputeOpened,
    IgnoredEvent,
    IntentSucceeded,
    PaymentEvent,
)
from core.domain.pricing import Pack, PackTable
from core.domain.rules import CreditRules
from core.domain.upsell import Upsell
from core.errors import NotPermitted, OperationFailed, PaymentsNotConfigured
from core.ports import Clock, PaymentGateway, PaymentStore
from core.services.experiments import ExperimentService
from core.services.offers import OfferService
from core.services.wallets import WalletService

logger = logging.getLogger(__name__)

_ALREADY = (PaymentOutcome.ALREADY_DONE, PaymentOutcome.DUPLICATE)


@dataclass(frozen=True)
class CheckoutUrls:
    """Where Stripe sends the buyer back: our web server's `/checkout/success` and `/cancel`."""

    success: str
    cancel: str


def new_order_id() -> str:
    return f"ord_{uuid.uuid4().hex[:24]}"


class PaymentService:
    def __init__(
        self,
        store: PaymentStore,
        wallets: WalletService,
        rules: CreditRules,
        clock: Clock,
        *,
        gateway: PaymentGateway | None = None,
        urls: CheckoutUrls | None = None,
        stars_packs: PackTable | None = None,
        offers: OfferService | None = None,
        new_id: Callable[[], str] = new_order_id,
        checkout_ttl: dt.timedelta = dt.timedelta(hours=1),
        experiments: ExperimentService | None = None,
    ) -> None:
        self.store = store
        self.wallets = wallets
        self.rules = rules
        self.clock = clock
        self.gateway = gateway
        self.urls = urls or CheckoutUrls(
            "http://127.0.0.1:8080/checkout/success", "http://127.0.0.1:8080/checkout/cancel"
        )
        self.stars_packs = stars_packs or PackTable(())
        self.offers = offers or OfferService(rules, stars_packs=self.stars_packs)
        self.new_id = new_id
        self.checkout_ttl = checkout_ttl  # Stripe accepts 30 min to 24 h
        self.experiments = experiments

    # --- what is on sale ----------------------------------------------------------------------

    @property
    def stripe_enabled(self) -> bool:
        return self.gateway is not None and self.gateway.configured

    @property
    def stars_enabled(self) -> bool:
        return bool(self.stars_packs.packs)

    def packs(self) -> tuple[Pack, ...]:
        """The default Stripe packs (price in cents)."""
        return self.rules.packs.packs

    async def terms_for(self, wallet_id: int | None) -> Terms:
        """The packs `wallet_id` is sold (its experiment arm's, else the default; None: the
        default, as for a group's wallet)."""
        if self.experiments is None or wallet_id is None:
            return Terms(self.rules.packs, self.stars_packs)
        return await self.experiments.terms_for(wallet_id)

    async def terms_of(self, identity: Identity, *, shown: bool = True) -> Terms:
        """The packs `identity` is sold, recorded as shown to them (/buy, /pricing, the packs
        after a refusal) unless `shown` is False (`/buy <pack>` goes straight to the pack: that
        is a click, recorded with its order)."""
        person = await self.wallets.person(identity)
        if self.experiments is None or not shown:
            return await self.terms_for(person.wallet_id)
        return await self.experiments.shown_to(person.wallet_id)

    async def upsell(self, identity: Identity, pack: Pack) -> Upsell | None:
        """The bigger pack to show beside `pack`, just chosen (see `core.domain.upsell`)."""
        person = await self.wallets.person(identity)
        terms = await self.terms_for(person.wallet_id)
        table = terms.stars if pack.currency == STARS_CURRENCY else terms.packs
        return await self.offers.upsell(person.person_id, person.wallet_id, pack, table)

    # --- Stripe Checkout ----------------------------------------------------------------------

    async def buy(
        self,
        identity: Identity,
        pack_id: str,
        *,
        request_id: str,
        wallet_id: int | None = None,
        save_card_for: str | None = None,
    ) -> CheckoutLink:
        """A Checkout link for `pack_id`. The same `request_id` (e.g. the interaction id) gives
        the same order and session. `wallet_id` sends the credits to another wallet (a server
        wallet); the caller checks who may do that. `save_card_for` (a Stripe Customer) also
        saves the card for automatic top-up. Raises `PaymentsNotConfigured`, `UnknownPack`,
        `OperationFailed("payment_provider_unavailable")`."""
        gateway = self.gateway
        if gateway is None or not gateway.configured:
            raise PaymentsNotConfigured()
        person = await self.wallets.person(identity)
        terms = await self.terms_for(person.wallet_id if wallet_id is None else None)
        pack = terms.packs.get(pack_id)
        now = self.clock.now()
        order = await self._open(
            self._new_order(
                identity,
                person,
                pack,
                Channel.STRIPE,
                request_id,
                now,
                wallet_id,
                now + self.checkout_ttl,
                terms,
            ),
            terms,
        )
        if order.checkout_url is not None:
            return _link(order)
        assert order.expires_at is not None
        session = await gateway.create_checkout(
            CheckoutRequest(
                order_id=order.order_id,
                pack_id=order.pack_id,
                pack_name=order.pack_id,
                credits=order.credits,
                amount_cents=order.amount,
                currency=order.currency,
                success_url=self.urls.success,
                cancel_url=self.urls.cancel,
                # From the row, not the clock: a retry must send identical parameters.
                expires_at_unix=int(order.expires_at.timestamp()),
                customer_ref=f"person:{order.person_id}",
                save_card_for=save_card_for,
            )
        )
        order = await self.store.set_checkout(order.order_id, session.session_id, session.url, now=self.clock.now())
        return _link(order)

    async def handle_stripe_event(self, event: PaymentEvent) -> PaymentResult:
        """Apply one verified Stripe event exactly once (by event id, and by session for
        grants). Unknown orders and mismatched amounts are acknowledged and ignored (a retry
        cannot help); errors propagate so the web server answers 500 and Stripe retries."""
        key = f"stripe:{event.event_id}"
        kind = type(event).__name__
        decide: Callable[[Order | None], Effect]
        order_id: str | None
        match event:
            case CheckoutPaid():
                order_id, decide = event.order_id, lambda o: on_checkout_paid(o, event)
            case CheckoutPending():
                order_id, decide = event.order_id, lambda o: on_checkout_pending(o, event)
            case CheckoutClosed():
                order_id, decide = event.order_id, lambda o: on_checkout_closed(o, event)
            case ChargeRefunded():
                order_id, decide = await self._order_of(event, key), lambda o: on_refund(o, event)
            case DisputeOpened():
                order_id, decide = await self._order_of(event, key), lambda o: on_dispute(o, event)
            case IntentSucceeded():
                order_id, decide = event.order_id, lambda o: on_intent_succeeded(o, event)
            case CardSaved():
                # The standing order's part (`TopUpService`); its purchase is the session's.
                order_id, decide = event.order_id, lambda o: Effect(PaymentOutcome.NOTED, "card_saved")
            case IgnoredEvent():
                kind = event.type
                order_id, decide = None, lambda o: Effect(PaymentOutcome.IGNORED, event.reason)
            case _:
                raise TypeError(f"not a payment event: {event!r}")
        result = await self.store.apply(order_id, decide, event_key=key, event_type=kind, now=self.clock.now())
        _log_result(
            f"stripe {kind} {event.event_id}",
            order_id,
            result,
            money_in=isinstance(event, CheckoutPaid | IntentSucceeded),
            event_id=event.event_id,
        )
        return result

    async def reconcile(self, since: dt.datetime) -> ReconcileReport:
        """Fulfil every paid session created since `since` whose webhook was missed, and close
        expired ones. Safe to run any time: fulfilment is keyed by session."""
        gateway = self.gateway
        if gateway is None or not gateway.configured:
            raise PaymentsNotConfigured()
        records = await gateway.list_recent_sessions(int(since.timestamp()))
        fulfilled: list[str] = []
        closed: list[str] = []
        ignored: list[tuple[str, str]] = []
        already = 0
        for record in records:
            if record.order_id is None:
                ignored.append((record.session_id, "no_order_id"))
                continue
            if not record.is_paid and record.status != "expired":
                continue  # still open, or a delayed payment still processing
            result = await self.store.apply(
                record.order_id,
                lambda o, r=record: on_session_record(o, r),  # type: ignore[misc]
                event_key=None,
                event_type="reconcile",
                now=self.clock.now(),
            )
            _log_result(
                f"reconcile {record.session_id}",
                record.order_id,
                result,
                money_in=record.is_paid,
                event_id=f"reconcile:{record.session_id}",
            )
            if result.outcome == PaymentOutcome.GRANTED:
                fulfilled.append(record.order_id)
            elif result.outcome == PaymentOutcome.CLOSED:
                closed.append(record.order_id)
            elif result.outcome == PaymentOutcome.ALREADY_DONE:
                already += 1
            elif result.outcome == PaymentOutcome.IGNORED:
                ignored.append((record.session_id, result.detail))
        return ReconcileReport(len(records), tuple(fulfilled), tuple(closed), already, tuple(ignored))

    # --- Telegram Stars -----------------------------------------------------------------------

    async def stars_invoice(
        self, identity: Identity, pack_id: str, *, request_id: str, wallet_id: int | None = None
    ) -> StarsInvoice:
        """An order for a Stars pack; send `sendInvoice` with `payload=invoice.payload`,
        currency XTR and one price of `invoice.amount`. `wallet_id` sends the credits to another
        wallet (a group's wallet); the caller checks who may do that."""
        if not self.stars_enabled:
            raise PaymentsNotConfigured()
        person = await self.wallets.person(identity)
        terms = await self.terms_for(person.wallet_id if wallet_id is None else None)
        pack = terms.stars.get(pack_id)
        now = self.clock.now()
        order = await self._open(
            self._new_order(identity, person, pack, Channel.STARS, request_id, now, wallet_id, None, terms), terms
        )
        return StarsInvoice(
            payload=order.order_id,
            pack=_pack_of(order),
            amount=order.amount,
            currency=order.currency,
        )

    async def pre_checkout(self, payload: str, amount: int, currency: str, identity: Identity) -> PreCheckout:
        """Answer Telegram's `pre_checkout_query` (within 10 s; this is two indexed reads)."""
        order, payer, frozen = await self.store.pre_checkout_facts(payload, identity.key)
        refusal = pre_checkout_refusal(order, amount, currency, payer, frozen)
        if refusal is not None:
            logger.info("stars pre-checkout for %s refused: %s", payload[:64], refusal.value)
        return PreCheckout(ok=refusal is None, refusal=refusal)

    async def stars_paid(
        self,
        payload: str,
        telegram_payment_charge_id: str,
        amount: int,
        identity: Identity,
        currency: str = STARS_CURRENCY,
    ) -> PaymentResult:
        """Telegram `successful_payment`: grant the pack once per charge id. The result carries
        the new balance (and an offer if it is still low) for the thank-you message; IGNORED
        means money came in that we could not grant: tell the user to use /paysupport."""
        charge = telegram_payment_charge_id
        result = await self.store.apply(
            payload,
            lambda o: on_stars_paid(o, charge, amount, currency),
            event_key=f"telegram:payment:{charge}",
            event_type="successful_payment",
            now=self.clock.now(),
        )
        _log_result(
            f"stars payment {charge} from {identity.key}",
            payload,
            result,
            money_in=True,
            event_id=charge,
            identity=identity.key,
        )
        if result.balance is None and result.order is not None and result.outcome in _ALREADY:
            # A repeated delivery moved nothing; the reply still says what the wallet holds.
            result = replace(result, balance=await self.wallets.store.balance(result.order.wallet_id))
        if result.balance is not None and result.order is not None:
            result = replace(result, offer=await self.offers.after(result.balance, result.order.person_id))
        return result

    async def refund_stars(self, operator: Identity, charge_id: str) -> StarsRefund:
        """An operator refunds a Stars payment: take its unspent credits back now; the Telegram
        adapter then calls `refundStarPayment` with what this returns (retry-safe)."""
        if not self.rules.is_operator(operator.key):
            raise NotPermitted("refund")
        order = await self.store.order_by_telegram_charge(charge_id.strip())
        if order is None:
            raise OperationFailed("unknown_payment")
        result = await self.store.apply(
            order.order_id,
            on_stars_refund,
            event_key=f"telegram:refund:{order.telegram_charge_id}",
            event_type="stars_refund",
            now=self.clock.now(),
        )
        _log_result(f"stars refund {charge_id} by {operator.key}", order.order_id, result, event_id=charge_id)
        if result.outcome == PaymentOutcome.IGNORED:
            raise OperationFailed("not_refundable")
        return StarsRefund(
            order_id=order.order_id,
            payer=order.identity,
            telegram_payment_charge_id=charge_id.strip(),
            credits_taken=result.credits,
            balance=result.balance,
            already=result.outcome in (PaymentOutcome.DUPLICATE, PaymentOutcome.ALREADY_DONE),
        )

    # --- helpers ------------------------------------------------------------------------------

    def _new_order(
        self,
        identity: Identity,
        person: Person,
        pack: Pack,
        channel: Channel,
        request_id: str,
        now: dt.datetime,
        wallet_id: int | None,
        expires_at: dt.datetime | None,
        terms: Terms,
    ) -> Order:
        return open_order(
            self.new_id(),
            f"{channel.value}:{identity.key}:{request_id}",
            person_id=person.person_id,
            wallet_id=wallet_id if wallet_id is not None else person.wallet_id,
            identity=identity.key,
            channel=channel,
            pack=pack,
            now=now,
            expires_at=expires_at,
            experiment_id=terms.experiment_id,
            arm=terms.arm,
        )

    async def _open(self, new: Order, terms: Terms) -> Order:
        """Store the order (or find the one the same request made) and record the pack as
        chosen, once per order."""
        order = await self.store.create_order(new)
        if self.experiments is not None and order.order_id == new.order_id:
            await self.experiments.record(OfferEventKind.CLICKED, order.wallet_id, terms, order.pack_id)
        return order

    async def _order_of(self, event: ChargeRefunded | DisputeOpened, key: str) -> str | None:
        """Which order a refund/dispute is about: its metadata, else the payment intent recorded
        at fulfilment, else ask Stripe (outside any transaction; a failure means 500, retry)."""
        if event.order_id is not None:
            return event.order_id
        if await self.store.event_seen(key):
            return None  # a redelivery: `apply` reports the duplicate without a network call
        if event.payment_intent_id is not None:
            order = await self.store.order_by_payment_intent(event.payment_intent_id)
            if order is not None:
                return order.order_id
        if self.gateway is not None and self.gateway.configured:
            resolved = await self.gateway.resolve_order_id(event)
            if isinstance(resolved, ChargeRefunded | DisputeOpened):
                return resolved.order_id
        return None


def _pack_of(order: Order) -> Pack:
    return Pack(order.pack_id, order.credits, order.amount, order.currency)


def _link(order: Order) -> CheckoutLink:
    assert order.checkout_url is not None
    return CheckoutLink(order.checkout_url, _pack_of(order), order.order_id, order.expires_at)


def _log_result(
    what: str,
    order_id: str | None,
    result: PaymentResult,
    *,
    money_in: bool = False,
    event_id: str,
    identity: str | None = None,
) -> None:
    """One event per payment, with its fields (for LOG_FORMAT=json): the event, the order, whose
    it is, what it did."""
    fields = {
        "event_id": event_id,
        "order_id": order_id,
        "identity": identity or (result.order.identity if result.order is not None else None),
        "outcome": result.outcome.value,
        "credits": result.credits,
    }
    if result.outcome == PaymentOutcome.IGNORED and money_in:
        # Money came in that we did not grant: an operator must look (and refund or grant).
        logger.error("%s for order %s ignored: %s", what, order_id, result.detail, extra=fields)
    elif result.outcome == PaymentOutcome.IGNORED and result.detail != "unhandled_type":
        logger.warning("%s for order %s ignored: %s", what, order_id, result.detail, extra=fields)
    elif result.outcome in (PaymentOutcome.IGNORED, PaymentOutcome.DUPLICATE):
        logger.debug("%s for order %s: %s %s", what, order_id, result.outcome.value, result.detail, extra=fields)
    else:
        logger.info(
            "%s for order %s: %s %s (%d credits)",
            what,
            order_id,
            result.outcome.value,
            result.detail,
            result.credits,
            extra=fields,
        )
