"""The rows the in-memory stores share, as plain Python objects, and one transaction at a time.

A fake store method runs its whole unit of work inside `World.transaction()`: nothing in it
awaits, so on one event loop it is atomic, and an error rolls every row back to where it was, as
the SQL stores' SAVEPOINT does. Row shapes follow the tables (`adapters/storage/tables*.py`).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from core.domain.experiments import OfferEvent
from core.domain.generation import PreparedClip
from core.domain.identity import Person
from core.domain.jobs import Job
from core.domain.ledger import HoldState, LotKind, Reason
from core.domain.notices import NoticeState
from core.domain.orders import Order
from core.domain.rewards import BonusKind
from core.domain.top_ups import AutoTopUp, TopUp
from core.errors import OperationFailed, UnknownIdentity


@dataclass
class AccountRow:
    id: int
    kind: str  # person | server | system
    owner_key: str
    credits_posted: int = 0
    debits_posted: int = 0
    debits_pending: int = 0
    frozen: bool = False

    @property
    def posted(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        return self.posted - self.debits_pending


@dataclass
class TransferRow:
    id: int
    key: str
    debit: int
    credit: int
    amount: int
    reason: Reason
    created_at: dt.datetime
    order_ref: str | None = None
    memo: str = ""


@dataclass
class HoldRow:
    key: str
    account_id: int
    amount: int
    state: HoldState
    expires_at: dt.datetime


@dataclass
class LotRow:
    id: int
    account_id: int
    kind: LotKind
    granted: int
    remaining: int
    created_at: dt.datetime
    pack_id: str | None = None
    order_ref: str | None = None
    expires_at: dt.datetime | None = None


@dataclass
class ClaimRow:
    key: str
    person_id: int
    kind: BonusKind
    day: str
    amount: int


@dataclass
class ReferralRow:
    referred: int
    referrer: int
    code: str
    qualified_at: dt.datetime | None = None
    referred_state: str | None = None
    referred_settled_at: dt.datetime | None = None
    referrer_state: str | None = None
    referrer_settled_at: dt.datetime | None = None


@dataclass
class EmailCodeRow:
    address: str
    code_digest: str | None
    expires_at: dt.datetime | None
    sent_at: dt.datetime | None
    failed_attempts: int = 0
    locked_until: dt.datetime | None = None


@dataclass
class LinkCodeRow:
    person_id: int
    expires_at: dt.datetime
    used_at: dt.datetime | None = None


@dataclass
class TicketRow:
    id: int
    person_id: int
    identity: str
    text: str
    available: int
    last_job: str | None
    created_at: dt.datetime
    status: str = "open"
    forwarded_at: dt.datetime | None = None


@dataclass
class ReplyRow:
    id: int
    ticket_id: int
    request_id: str
    operator: str
    text: str
    granted: int
    delivered_at: dt.datetime | None = None


@dataclass
class NoticeRow:
    key: str
    person_id: int
    state: NoticeState
    attempts: int
    claimed_at: dt.datetime
    sent_at: dt.datetime | None = None


@dataclass
class JobRow:
    seq: int
    job: Job


@dataclass
class EventRow:
    key: str
    order_id: str | None
    outcome: str = "applying"
    detail: str = ""


@dataclass
class TopUpRow:
    top_up: TopUp
    in_flight: int | None  # the wallet while due or charged (unique), else None


@dataclass
class World:
    """Every row of every area; `transaction()` makes a unit of work all or nothing."""

    persons: dict[int, dt.datetime] = field(default_factory=dict)  # person id -> created at
    identities: dict[str, int] = field(default_factory=dict)  # in creation order
    person_links: dict[int, int] = field(default_factory=dict)  # absorbed -> survivor (kept flat)
    accounts: dict[int, AccountRow] = field(default_factory=dict)
    transfers: dict[str, TransferRow] = field(default_factory=dict)  # by key, in creation order
    holds: dict[str, HoldRow] = field(default_factory=dict)
    lots: dict[int, LotRow] = field(default_factory=dict)
    claims: dict[str, ClaimRow] = field(default_factory=dict)
    referral_codes: dict[str, tuple[int, dt.datetime]] = field(default_factory=dict)  # code -> person, made
    referrals: dict[int, ReferralRow] = field(default_factory=dict)  # by referred person
    email_codes: dict[int, EmailCodeRow] = field(default_factory=dict)  # by person
    verified_emails: dict[str, int] = field(default_factory=dict)  # canonical address -> person
    link_codes: dict[str, LinkCodeRow] = field(default_factory=dict)  # by digest
    tickets: dict[int, TicketRow] = field(default_factory=dict)
    replies: dict[tuple[int, str], ReplyRow] = field(default_factory=dict)
    notices: dict[str, NoticeRow] = field(default_factory=dict)
    jobs: dict[str, JobRow] = field(default_factory=dict)
    job_inputs: dict[str, tuple[PreparedClip, dt.datetime]] = field(default_factory=dict)
    job_outputs: dict[str, tuple[bytes, dt.datetime]] = field(default_factory=dict)
    job_costs: dict[str, int] = field(default_factory=dict)  # job id -> provider cost, micro-units
    orders: dict[str, Order] = field(default_factory=dict)
    events: dict[str, EventRow] = field(default_factory=dict)
    languages: dict[int, str] = field(default_factory=dict)  # person id -> the language they chose
    seen_languages: dict[int, str] = field(default_factory=dict)  # person id -> their platform's, last said
    # experiment id -> (definition, started, stopped), in start order
    experiments: dict[str, tuple[str, dt.datetime, dt.datetime | None]] = field(default_factory=dict)
    offer_events: list[OfferEvent] = field(default_factory=list)
    auto_top_ups: dict[int, AutoTopUp] = field(default_factory=dict)  # by wallet
    top_ups: dict[str, TopUpRow] = field(default_factory=dict)  # by key, in creation order
    achievements: dict[tuple[int, str], int] = field(default_factory=dict)  # (person, kind) -> credits
    ids: Any = field(default_factory=lambda: itertools.count(1))  # one sequence for every row id

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        saved = {name: copy.deepcopy(value) for name, value in vars(self).items() if name != "ids"}
        try:
            yield
        except BaseException:
            for name, value in saved.items():
                setattr(self, name, value)
            raise

    def next_id(self) -> int:
        return next(self.ids)  # type: ignore[no-any-return]

    # --- persons ----------------------------------------------------------------------------

    def account_of(self, owner_key: str) -> int | None:
        return next((a.id for a in self.accounts.values() if a.owner_key == owner_key), None)

    def ensure_account(self, kind: str, owner_key: str) -> int:
        found = self.account_of(owner_key)
        if found is None:
            found = self.next_id()
            self.accounts[found] = AccountRow(found, kind, owner_key)
        return found

    def find_person(self, identity: str) -> Person | None:
        person_id = self.identities.get(identity)
        if person_id is None:
            return None
        return Person(person_id, self.wallet_of(person_id), created=False)

    def require_person(self, identity: str) -> Person:
        found = self.find_person(identity)
        if found is None:
            raise UnknownIdentity(identity)
        return found

    def survivor(self, person_id: int) -> int:
        return self.person_links.get(person_id, person_id)

    def wallet_of(self, person_id: int) -> int:
        wallet = self.account_of(f"person:{person_id}")
        if wallet is None:
            raise OperationFailed("unknown_account")
        return wallet

    def created_at(self, person_id: int) -> dt.datetime:
        if person_id not in self.persons:
            raise OperationFailed("unknown_account")
        return self.persons[person_id]

    def identities_of(self, person_id: int) -> list[str]:
        return [key for key, owner in self.identities.items() if owner == person_id]
