"""Automatic top-up: the person's standing order ("buy the Pro pack when I drop below 50") and the
pure rule that decides, after a capture, whether to charge their saved card now.

The standing order (`AutoTopUp`) is on only once a first purchase through Stripe Checkout saved
the card (`setup_future_usage=off_session` on a Customer). Each charge (`TopUp`) is keyed by the
wallet and the ledger entry that crossed the line (`topup:<wallet>:<entry>`, unique): two
captures that both cross it, in one process or two, make one payment, because at most one top-up
of a wallet is in flight (its `in_flight` marker is unique) and the decision is taken under the
wallet's standing-order lock. Credits still come only from the verified webhook.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from core.domain.pricing import Pack


class AutoState(enum.StrEnum):
    SETUP = "setup"  # waiting for the first payment through Checkout, which saves the card
    ON = "on"
    PAUSED = "paused"  # a charge needed the person (authentication) or was declined


class TopUpState(enum.StrEnum):
    DUE = "due"  # decided; Stripe not yet asked (a crash here is retried by the sweep)
    CHARGED = "charged"  # Stripe accepted the payment intent; credits wait for the webhook
    SUCCEEDED = "succeeded"  # the webhook granted the pack
    FAILED = "failed"  # the card was declined or needs the person
    CAPPED = "capped"  # a limit stopped it (recorded once a day, for the one message)

    @property
    def in_flight(self) -> bool:
        return self in (TopUpState.DUE, TopUpState.CHARGED)


class Failure(enum.StrEnum):
    """Why an off-session charge did not go through (catalogue: `top_up_paused.<value>`)."""

    AUTHENTICATION_REQUIRED = "authentication_required"
    DECLINED = "card_declined"


@dataclass(frozen=True)
class AutoTopUp:
    wallet_id: int
    person_id: int
    identity: str  # who set it up: where receipts and pauses are said
    pack_id: str
    threshold: int
    state: AutoState
    customer_id: str | None = None
    payment_method_id: str | None = None
    paused_reason: str | None = None
    setup_order_id: str | None = None  # the Checkout order that saves the card
    setup_expires_at: dt.datetime | None = None

    def setup_pending(self, now: dt.datetime) -> bool:
        """Waiting for its first payment (an abandoned Checkout stops counting when it expires)."""
        return self.state == AutoState.SETUP and (self.setup_expires_at is None or now < self.setup_expires_at)


@dataclass(frozen=True)
class TopUp:
    key: str
    wallet_id: int
    pack_id: str
    amount: int  # minor units
    currency: str
    state: TopUpState
    created_at: dt.datetime
    order_id: str | None = None
    payment_intent_id: str | None = None
    failure: str | None = None


@dataclass(frozen=True)
class TopUpLimits:
    """Hard caps from settings: charges per UTC day, and money per UTC month, per wallet."""

    per_day: int
    per_month: int  # minor units
    max_threshold: int


@dataclass(frozen=True)
class TopUpSnapshot:
    """What the decision reads, inside the transaction that applies it."""

    auto: AutoTopUp | None
    available: int
    in_flight: TopUp | None
    charges_today: int
    amount_this_month: int
    capped_today: bool  # the "limit reached" message was already recorded today


class Verdict(enum.StrEnum):
    CHARGE = "charge"
    CAPPED = "capped"  # tell the person once today
    NOTHING = "nothing"


@dataclass(frozen=True)
class TopUpDecision:
    verdict: Verdict
    reason: str = ""  # for NOTHING and CAPPED: why (logs, tests)
    top_up: TopUp | None = None  # for CHARGE and CAPPED: the row to insert


def top_up_key(wallet_id: int, entry: str) -> str:
    """The idempotency key of a top-up: the wallet and the ledger entry that crossed the line."""
    return f"topup:{wallet_id}:{entry}"[:200]


def capped_key(wallet_id: int, now: dt.datetime) -> str:
    return f"topup-capped:{wallet_id}:{now.date().isoformat()}"


def day_start(now: dt.datetime) -> dt.datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: dt.datetime) -> dt.datetime:
    return day_start(now).replace(day=1)


def decide_top_up(
    snapshot: TopUpSnapshot, pack: Pack | None, limits: TopUpLimits, entry: str, now: dt.datetime
) -> TopUpDecision:
    """After a capture (`entry` names it): charge the saved card for the pack when the wallet is
    below the line, nothing is in flight and the caps allow; else say why not."""
    auto = snapshot.auto
    if auto is None or auto.state != AutoState.ON or auto.payment_method_id is None or auto.customer_id is None:
        return TopUpDecision(Verdict.NOTHING, "not_on")
    if snapshot.available >= auto.threshold:
        return TopUpDecision(Verdict.NOTHING, "above_threshold")
    if snapshot.in_flight is not None:
        return TopUpDecision(Verdict.NOTHING, "in_flight")
    if pack is None:
        return TopUpDecision(Verdict.NOTHING, "pack_gone")
    capped = _capped(snapshot, pack, limits)
    if capped is not None:
        if snapshot.capped_today:
            return TopUpDecision(Verdict.NOTHING, capped)
        row = TopUp(
            capped_key(auto.wallet_id, now),
            auto.wallet_id,
            pack.pack_id,
            0,
            pack.currency,
            TopUpState.CAPPED,
            now,
            failure=capped,
        )
        return TopUpDecision(Verdict.CAPPED, capped, row)
    row = TopUp(
        top_up_key(auto.wallet_id, entry), auto.wallet_id, pack.pack_id, pack.price, pack.currency, TopUpState.DUE, now
    )
    return TopUpDecision(Verdict.CHARGE, top_up=row)


def _capped(snapshot: TopUpSnapshot, pack: Pack, limits: TopUpLimits) -> str | None:
    if snapshot.charges_today >= limits.per_day:
        return "daily_cap"
    if snapshot.amount_this_month + pack.price > limits.per_month:
        return "monthly_cap"
    return None


def parse_threshold(text: str, maximum: int) -> int | None:
    """`below 50`, `50` → 50; None unless a whole number from 1 to `maximum`."""
    words = text.strip().lower().split()
    if words and words[0] == "below":
        words = words[1:]
    if len(words) != 1 or not words[0].isdecimal():
        return None
    value = int(words[0])
    return value if 1 <= value <= maximum else None
