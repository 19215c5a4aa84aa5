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

from core.errors import InvalidAmount

# One operation never moves more than this: a typo or an overflow, not a real amount.
MAX_AMOUNT = 1_000_000


def checked_amount(amount: object) -> int:
    """A positive whole number of credits, or `InvalidAmount`."""
    if isinstance(amount, bool):
        raise InvalidAmount(amount, MAX_AMOUNT)
    if isinstance(amount, str):
        text = amount.strip()
        if not text.isdigit():
            raise InvalidAmount(amount, MAX_AMOUNT)
        amount = int(text)
    if not isinstance(amount, int) or amount <= 0 or amount > MAX_AMOUNT:
        raise InvalidAmount(amount, MAX_AMOUNT)
    return amount


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


# Grants that come out of nothing (a system source account). Free ones count toward the plan
# `free`; purchases make paid lots.
SOURCE_REASONS = frozenset(
    {
        Reason.WELCOME,
        Reason.DAILY,
        Reason.PURCHASE,
        Reason.OPERATOR,
        Reason.REFERRAL,
        Reason.EMAIL,
        Reason.SHARE,
    }
)


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
