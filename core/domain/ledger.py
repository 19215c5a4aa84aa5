"""Value types of the credit ledger.

The ledger is double-entry: every posted movement is one transfer row that debits one account
and credits another, so the books balance by construction. A person's *available* credits are
posted credits − posted debits − pending debits (open holds). Credits sit in *lots* (free or
paid) so that spending takes free credits first and a refund can find the credits of a purchase.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from core.domain.numbers import whole_number
from core.errors import InvalidAmount

# One operation never moves more than this: a typo or an overflow, not a real amount.
MAX_AMOUNT = 1_000_000


def checked_amount(amount: object) -> int:
    """A positive whole number of credits, or `InvalidAmount`."""
    credits = whole_number(amount)
    if credits is None or credits <= 0 or credits > MAX_AMOUNT:
        raise InvalidAmount(amount, MAX_AMOUNT)
    return credits


class LotKind(enum.StrEnum):
    FREE = "free"
    PAID = "paid"


class Reason(enum.StrEnum):
    """Why credits moved; also the name of the system account on the other side."""

    WELCOME = "welcome"
    DAILY = "daily"
    PURCHASE = "purchase"
    GIFT = "gift"
    OPERATOR = "operator"
    REFERRAL = "referral"
    EMAIL = "email"
    SHARE = "share"
    SPEND = "spend"  # a captured hold: credits paid for a delivered clip
    TRANSFER = "transfer"  # person → server wallet
    REFUND = "refund"  # take-back after a refund
    DISPUTE = "dispute"  # take-back after a dispute
    OPERATOR_TAKE = "operator_take"
    EXPIRY = "expiry"
    LINK = "link"  # merging two persons' wallets
    ACHIEVEMENT = "achievement"  # an achievement's credits
    STREAK = "streak"  # the bonus on a streak's 7th day


class HoldState(enum.StrEnum):
    HELD = "held"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Grant:
    """Credits from a system source into a wallet. `key` makes it happen at most once."""

    key: str
    account_id: int
    amount: int
    reason: Reason
    lot_kind: LotKind = LotKind.FREE
    expires_at: dt.datetime | None = None
    pack_id: str | None = None  # purchases: which pack (the plan is the largest one bought)
    order_ref: str | None = None  # purchases: the order, so refunds find these credits
    memo: str = ""


@dataclass(frozen=True)
class Hold:
    key: str
    account_id: int
    amount: int
    state: HoldState
    expires_at: dt.datetime


@dataclass(frozen=True)
class Outcome:
    """The result of a credit operation. `duplicate` means the key was already applied:
    'already done', which is success, never a second movement."""

    key: str
    amount: int
    balance: Balance
    duplicate: bool = False


@dataclass(frozen=True)
class Balance:
    account_id: int
    free: int  # unspent free credits (including those reserved by open holds)
    paid: int
    held: int  # reserved by running jobs
    frozen: bool = False
    debt: int = 0  # credits owed after a dispute took back more than was there

    @property
    def available(self) -> int:
        return self.free + self.paid - self.held - self.debt

    @property
    def total(self) -> int:
        return self.free + self.paid - self.debt


@dataclass(frozen=True)
class Entry:
    """One line of a wallet's history, signed from the wallet's point of view."""

    at: dt.datetime
    amount: int
    reason: str
    key: str
    memo: str = ""


@dataclass(frozen=True)
class AccountStats:
    account_id: int
    packs_bought: tuple[str, ...]  # the plan is the largest of these, or `free` when empty
    lifetime_spent: int
    generations: int


# --- lots: which credits a movement takes, and which it makes ------------------------------


@dataclass(frozen=True)
class LotView:
    """One lot of a wallet, as the spend order and the expiry sweep see it."""

    lot_id: int
    kind: LotKind
    remaining: int
    expires_at: dt.datetime | None
    order_ref: str | None = None  # purchases: the order whose credits these are


@dataclass(frozen=True)
class LotTake:
    """Credits a movement takes from one lot."""

    lot_id: int
    kind: LotKind
    amount: int


# Sorts lots that never expire; they come after every dated one anyway.
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


def spend_order(lots: list[LotView], *, first_order_ref: str | None = None) -> list[LotView]:
    """The order credits are spent in: free credits first, earliest expiry first (those that
    never expire last), then paid credits, oldest first. `first_order_ref` puts that purchase's
    lots ahead of all others (a refund takes back the credits of the purchase refunded)."""
    if len(lots) < 2:  # nothing to order (most wallets have one lot: every capture asks)
        return [lot for lot in lots if lot.remaining > 0]

    def rank(lot: LotView) -> tuple[int, int, int, dt.datetime, int]:
        return (
            0 if first_order_ref is not None and lot.order_ref == first_order_ref else 1,
            0 if lot.kind == LotKind.FREE else 1,
            1 if lot.expires_at is None else 0,
            lot.expires_at or _NEVER,
            lot.lot_id,
        )

    return sorted((lot for lot in lots if lot.remaining > 0), key=rank)


def take_from_lots(lots: list[LotView], amount: int, *, first_order_ref: str | None = None) -> list[LotTake]:
    """Which lots pay for `amount`, in spend order. Takes what there is when the lots hold less
    (a dispute may take a wallet below zero; its lots then end empty)."""
    taken: list[LotTake] = []
    left = amount
    for lot in spend_order(lots, first_order_ref=first_order_ref):
        if left <= 0:
            break
        part = min(left, lot.remaining)
        taken.append(LotTake(lot.lot_id, lot.kind, part))
        left -= part
    return taken


def received_kind(taken: LotKind, reason: Reason) -> LotKind:
    """The kind of credits a wallet receives from another: a gift is free to whoever receives it;
    moving one's own credits (to a server wallet) keeps their kind."""
    return LotKind.FREE if reason == Reason.GIFT else taken


def spendable_part(amount: int, posted_after: int) -> int:
    """How much of `amount` credited to a wallet becomes spendable (a lot's `remaining`): credits
    that pay off a dispute's debt first do not, so the lots always sum to max(posted balance, 0)."""
    return min(amount, max(posted_after, 0))


def take_back_amount(reason: Reason, *, target_total: int, already: int, unspent: int, available: int) -> int:
    """What a refund or dispute of one purchase takes now, to bring what was taken back for it
    (`already`) up to `target_total`. A dispute takes all of it (the wallet may go below zero: it
    is frozen until an operator clears it); a refund takes only that purchase's unspent credits
    and never takes the wallet below zero."""
    wanted = target_total - already
    if wanted <= 0:
        return 0
    if reason == Reason.DISPUTE:
        return wanted
    return max(min(wanted, unspent, available), 0)


def freezes_wallet(reason: Reason) -> bool:
    """A dispute freezes the wallet, whatever it takes."""
    return reason == Reason.DISPUTE


def may_unfreeze(available: int) -> bool:
    """An operator may clear a frozen wallet only once it owes nothing."""
    return available >= 0


# --- expiry of free credits ---------------------------------------------------------------


@dataclass(frozen=True)
class ExpiredPart:
    """Credits of one lot that expire now. `key` is the movement's idempotency key."""

    lot_id: int
    remaining: int  # the lot's remainder before this expiry
    amount: int

    @property
    def key(self) -> str:
        return expiry_key(self.lot_id, self.remaining)


def expiry_key(lot_id: int, remaining: int) -> str:
    """`expiry:<lot>:<remainder before>`. A lot's remainder only ever goes down, so each step of
    one lot has its own key, and two sweeps that see the same state make the same key (the
    second is "already done"). Usually a lot expires in one step; a second one happens only
    when credits that were held at the first sweep are released later."""
    return f"expiry:{lot_id}:{remaining}"


def is_expired(lot: LotView, now: dt.datetime) -> bool:
    """Free credits expire at their `expires_at`; paid credits never do."""
    return lot.kind == LotKind.FREE and lot.expires_at is not None and lot.expires_at <= now


def expirable_parts(lots: list[LotView], held: int, now: dt.datetime) -> list[ExpiredPart]:
    """What may expire in one wallet now: the free lots whose `expires_at` has passed, minus
    what the wallet's open holds will take from them.

    Holds reserve an amount, not particular lots; a capture takes its credits from the lots in
    spend order (`spend_order`). So the held amount is laid over the lots in that same order and
    only the rest of each expired free lot goes: a running job is always paid from the credits
    it was accepted with, and paid credits never cover for free credits that expired under a
    hold. Credits released later by a failed job expire at the next sweep."""
    parts: list[ExpiredPart] = []
    reserved = max(held, 0)
    for lot in spend_order(lots):
        held_here = min(reserved, lot.remaining)
        reserved -= held_here
        if not is_expired(lot, now):
            continue
        amount = lot.remaining - held_here
        if amount > 0:
            parts.append(ExpiredPart(lot.lot_id, lot.remaining, amount))
    return parts


@dataclass(frozen=True)
class ExpirySweep:
    """One batch of the expiry sweep (one transaction): what expired, in which wallets, and
    where the next batch starts (`more` when this one was full)."""

    expired: tuple[tuple[int, ExpiredPart], ...]  # (wallet, part)
    last_account_id: int
    more: bool

    @property
    def credits(self) -> int:
        return sum(part.amount for _wallet, part in self.expired)
