"""Account linking's decisions: whether a link code still works, and how two persons become one
(`decide_merge`), from what the store read about both under their wallet locks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.domain.ledger import Balance, LotKind
from core.domain.rewards import LinkRefusal, link_key, platforms_clash
from core.errors import LinkRefused


def link_code_valid(expires_at: dt.datetime | None, used_at: dt.datetime | None, now: dt.datetime) -> bool:
    """A link code works once, until it expires."""
    return used_at is None and expires_at is not None and now < expires_at


@dataclass(frozen=True)
class LinkParty:
    """One of two persons about to be merged, read under both wallet locks."""

    person_id: int
    wallet_id: int
    created_at: dt.datetime
    identities: tuple[str, ...]
    balance: Balance
    unspent: dict[LotKind, int]  # what their lots hold, by kind


@dataclass(frozen=True)
class LinkMove:
    """One `link` movement of the absorbed wallet's credits of one kind (its lots move along)."""

    key: str
    kind: LotKind
    amount: int
    memo: str


@dataclass(frozen=True)
class MergePlan:
    keep: LinkParty
    gone: LinkParty
    moves: tuple[LinkMove, ...]


def decide_merge(issuer: LinkParty, other: LinkParty) -> MergePlan:
    """Two persons become one: the older survives (a stable rule: their code, history and
    creation date stay) and the absorbed wallet's credits move over, one `link` movement per
    kind. Refused (`LinkRefused`) for the same person, a frozen or indebted wallet, open holds
    (running jobs) or two identities on one platform. No credits are created."""
    if issuer.person_id == other.person_id:
        raise LinkRefused(LinkRefusal.SAME_PERSON)
    keep, gone = sorted((issuer, other), key=lambda party: (party.created_at, party.person_id))
    for party in (keep, gone):
        if party.balance.frozen or party.balance.debt:
            raise LinkRefused(LinkRefusal.FROZEN)
        if party.balance.held:
            raise LinkRefused(LinkRefusal.JOBS_RUNNING)
    if platforms_clash(list(keep.identities), list(gone.identities)):
        raise LinkRefused(LinkRefusal.PLATFORM_TAKEN)
    moves = tuple(
        LinkMove(link_key(gone.person_id, kind.value), kind, amount, f"{kind.value} credits of person {gone.person_id}")
        for kind, amount in sorted(gone.unspent.items())
        if amount > 0
    )
    return MergePlan(keep, gone, moves)
