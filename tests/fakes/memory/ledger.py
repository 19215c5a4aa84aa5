"""The ledger in memory: `LedgerStore` and `ExpiryStore`, with the same contracts as SQL.

A repeated key is "already done" (`duplicate=True`), a guarded debit never takes a wallet below
zero, a hold resolves once, and the lots always sum to max(posted balance, 0). Which lots pay,
what a take-back takes and what expires are asked of the same `core.domain.ledger` functions
the SQL store asks. The functions here are the ledger operations other fakes compose, as the
SQL areas compose `adapters.storage.ledger`.
"""

from __future__ import annotations

import datetime as dt

from adapters.storage.ledger import MAX_MEMO
from core.domain.identity import Person
from core.domain.ledger import (
    AccountStats,
    Balance,
    Entry,
    ExpiredPart,
    ExpirySweep,
    Grant,
    Hold,
    HoldState,
    LotKind,
    LotTake,
    LotView,
    Outcome,
    Reason,
    expirable_parts,
    freezes_wallet,
    may_unfreeze,
    received_kind,
    spendable_part,
    take_back_amount,
    take_from_lots,
)
from core.errors import (
    HoldAlreadyResolved,
    HoldNotFound,
    InsufficientCredits,
    InternalError,
    OperationFailed,
    WalletFrozen,
)
from core.ports import WelcomeDecision
from tests.fakes.memory.world import HoldRow, LotRow, TransferRow, World


def system_account(world: World, reason: Reason) -> int:
    return world.ensure_account("system", f"system:{reason.value}")


def balance(world: World, account_id: int) -> Balance:
    account = world.accounts.get(account_id)
    if account is None:
        raise OperationFailed("unknown_account")
    lots = [lot for lot in world.lots.values() if lot.account_id == account_id]
    return Balance(
        account_id,
        free=sum(lot.remaining for lot in lots if lot.kind == LotKind.FREE),
        paid=sum(lot.remaining for lot in lots if lot.kind == LotKind.PAID),
        held=account.debits_pending,
        frozen=account.frozen,
        debt=max(0, -account.posted),
    )


def _refuse_debit(world: World, account_id: int, amount: int) -> None:
    current = balance(world, account_id)
    if current.frozen:
        raise WalletFrozen(account_id)
    raise InsufficientCredits(required=amount, available=max(0, current.available))


def record_transfer(
    world: World,
    key: str,
    debit: int,
    credit: int,
    amount: int,
    reason: Reason,
    now: dt.datetime,
    *,
    order_ref: str | None = None,
    memo: str = "",
) -> bool:
    """The movement under its unique key; False when the key was applied before."""
    if key in world.transfers:
        return False
    world.transfers[key] = TransferRow(
        world.next_id(), key, debit, credit, amount, reason, now, order_ref, memo[:MAX_MEMO]
    )
    return True


def move(
    world: World,
    key: str,
    debit: int,
    credit: int,
    amount: int,
    reason: Reason,
    now: dt.datetime,
    *,
    guarded: bool,
    system_side: str | None = None,
    order_ref: str | None = None,
    memo: str = "",
) -> bool:
    """As the SQL `move`: system accounts keep no running totals."""
    if not record_transfer(world, key, debit, credit, amount, reason, now, order_ref=order_ref, memo=memo):
        return False
    if system_side != "debit":
        source = world.accounts[debit]
        if guarded and (source.frozen or source.available < amount):
            _refuse_debit(world, debit, amount)
        source.debits_posted += amount
    if system_side != "credit":
        world.accounts[credit].credits_posted += amount
    return True


def _duplicate(world: World, key: str, account_id: int) -> Outcome:
    found = world.transfers.get(key)
    return Outcome(key, 0 if found is None else found.amount, balance(world, account_id), duplicate=True)


def add_lot(
    world: World,
    account_id: int,
    amount: int,
    kind: LotKind,
    now: dt.datetime,
    *,
    pack_id: str | None = None,
    order_ref: str | None = None,
    expires_at: dt.datetime | None = None,
) -> None:
    posted = world.accounts[account_id].posted
    lot_id = world.next_id()
    world.lots[lot_id] = LotRow(
        lot_id, account_id, kind, amount, spendable_part(amount, posted), now, pack_id, order_ref, expires_at
    )


def lots_of(world: World, account_id: int) -> list[LotView]:
    return [
        LotView(lot.id, lot.kind, lot.remaining, lot.expires_at, lot.order_ref)
        for lot in world.lots.values()
        if lot.account_id == account_id and lot.remaining > 0
    ]


def take_lots(world: World, account_id: int, amount: int, *, first_order_ref: str | None = None) -> list[LotTake]:
    taken = take_from_lots(lots_of(world, account_id), amount, first_order_ref=first_order_ref)
    for part in taken:
        world.lots[part.lot_id].remaining -= part.amount
    return taken


def post_grant(world: World, grant: Grant, now: dt.datetime) -> Outcome:
    source = system_account(world, grant.reason)
    if not move(
        world,
        grant.key,
        source,
        grant.account_id,
        grant.amount,
        grant.reason,
        now,
        guarded=False,
        system_side="debit",
        order_ref=grant.order_ref,
        memo=grant.memo,
    ):
        return _duplicate(world, grant.key, grant.account_id)
    add_lot(
        world,
        grant.account_id,
        grant.amount,
        grant.lot_kind,
        now,
        pack_id=grant.pack_id,
        order_ref=grant.order_ref,
        expires_at=grant.expires_at,
    )
    return Outcome(grant.key, grant.amount, balance(world, grant.account_id))


def open_person(world: World, identity: str, welcome: WelcomeDecision, now: dt.datetime) -> Person:
    found = world.find_person(identity)
    if found is not None:
        return found
    person_id = world.next_id()
    world.persons[person_id] = now
    world.identities[identity] = person_id
    person = Person(person_id, world.ensure_account("person", f"person:{person_id}"), created=True)
    grant = welcome(person)
    if grant is not None and grant.amount > 0:
        post_grant(world, grant, now)
    return person


def place_hold(
    world: World, key: str, account_id: int, amount: int, expires_at: dt.datetime, now: dt.datetime
) -> Outcome:
    existing = world.holds.get(key)
    if existing is not None:
        return Outcome(key, existing.amount, balance(world, existing.account_id), duplicate=True)
    account = world.accounts[account_id]
    if account.frozen or account.available < amount:
        _refuse_debit(world, account_id, amount)
    account.debits_pending += amount
    world.holds[key] = HoldRow(key, account_id, amount, HoldState.HELD, expires_at)
    return Outcome(key, amount, balance(world, account_id))


def get_hold(world: World, key: str) -> Hold | None:
    row = world.holds.get(key)
    return None if row is None else Hold(row.key, row.account_id, row.amount, row.state, row.expires_at)


def capture_hold(world: World, key: str, now: dt.datetime) -> Outcome:
    spend_key = f"spend:{key}"
    hold = world.holds.get(key)
    if hold is None:
        raise HoldNotFound(key)
    account = world.accounts[hold.account_id]
    if hold.state == HoldState.HELD:
        hold.state = HoldState.CAPTURED
        account.debits_pending -= hold.amount
        account.debits_posted += hold.amount
        record_transfer(
            world, spend_key, hold.account_id, system_account(world, Reason.SPEND), hold.amount, Reason.SPEND, now
        )
        take_lots(world, hold.account_id, hold.amount)
        return Outcome(spend_key, hold.amount, balance(world, hold.account_id))
    if hold.state == HoldState.CAPTURED or spend_key in world.transfers:
        return _duplicate(world, spend_key, hold.account_id)
    if hold.state == HoldState.RELEASED:
        raise HoldAlreadyResolved(key, hold.state.value)
    # Expired before the clip was delivered: charged only if the balance still allows.
    if account.frozen or account.available < hold.amount:
        return Outcome(spend_key, 0, balance(world, hold.account_id))
    sink = system_account(world, Reason.SPEND)
    move(world, spend_key, hold.account_id, sink, hold.amount, Reason.SPEND, now, guarded=True, system_side="credit")
    take_lots(world, hold.account_id, hold.amount)
    return Outcome(spend_key, hold.amount, balance(world, hold.account_id))


def release_hold(world: World, key: str, now: dt.datetime, *, state: HoldState = HoldState.RELEASED) -> Outcome:
    hold = world.holds.get(key)
    if hold is None:
        raise HoldNotFound(key)
    if hold.state == HoldState.HELD:
        hold.state = state
        world.accounts[hold.account_id].debits_pending -= hold.amount
        return Outcome(key, hold.amount, balance(world, hold.account_id))
    if hold.state == HoldState.CAPTURED:
        raise HoldAlreadyResolved(key, hold.state.value)
    return Outcome(key, hold.amount, balance(world, hold.account_id), duplicate=True)


def taken_for_order(world: World, account_id: int, order_ref: str) -> int:
    return sum(
        t.amount
        for t in world.transfers.values()
        if t.order_ref == order_ref and t.debit == account_id and t.reason in (Reason.REFUND, Reason.DISPUTE)
    )


def take_back(
    world: World,
    key: str,
    account_id: int,
    order_ref: str,
    target_total: int,
    reason: Reason,
    now: dt.datetime,
) -> Outcome:
    if key in world.transfers:
        return _duplicate(world, key, account_id)
    if freezes_wallet(reason):
        world.accounts[account_id].frozen = True
    already = taken_for_order(world, account_id, order_ref)
    unspent = sum(
        lot.remaining for lot in world.lots.values() if lot.account_id == account_id and lot.order_ref == order_ref
    )
    amount = take_back_amount(
        reason,
        target_total=target_total,
        already=already,
        unspent=unspent,
        available=world.accounts[account_id].available,
    )
    if amount <= 0:
        return Outcome(key, 0, balance(world, account_id))
    sink = system_account(world, reason)
    move(world, key, account_id, sink, amount, reason, now, guarded=False, system_side="credit", order_ref=order_ref)
    take_lots(world, account_id, amount, first_order_ref=order_ref)
    return Outcome(key, amount, balance(world, account_id))


def packs_bought(world: World, account_id: int) -> tuple[str, ...]:
    return tuple(
        sorted({lot.pack_id for lot in world.lots.values() if lot.account_id == account_id and lot.pack_id is not None})
    )


def stats(world: World, account_id: int) -> AccountStats:
    spends = [t for t in world.transfers.values() if t.debit == account_id and t.reason == Reason.SPEND]
    return AccountStats(account_id, packs_bought(world, account_id), sum(t.amount for t in spends), len(spends))


def _expire_batch(world: World, now: dt.datetime, after_account: int, limit: int) -> ExpirySweep:
    candidates = {
        lot.account_id
        for lot in world.lots.values()
        if lot.remaining > 0
        and lot.kind == LotKind.FREE
        and lot.expires_at is not None
        and lot.expires_at <= now
        and lot.account_id > after_account
    }
    wallets = sorted(candidates)[:limit]
    expired: list[tuple[int, ExpiredPart]] = []
    sink = system_account(world, Reason.EXPIRY)
    for wallet in wallets:
        account = world.accounts[wallet]
        for part in expirable_parts(lots_of(world, wallet), account.debits_pending, now):
            memo = f"free credits of lot {part.lot_id}"
            if not record_transfer(world, part.key, wallet, sink, part.amount, Reason.EXPIRY, now, memo=memo):
                continue
            if account.available < part.amount:
                raise InternalError(f"expiry of lot {part.lot_id} would overdraw wallet {wallet}")
            account.debits_posted += part.amount
            world.lots[part.lot_id].remaining -= part.amount
            expired.append((wallet, part))
    return ExpirySweep(tuple(expired), wallets[-1] if wallets else after_account, more=len(wallets) == limit)


def audit(world: World) -> list[str]:
    """The SQL auditor's checks (`adapters.storage.audit`), on the rows in memory."""
    problems: list[str] = []
    for account in world.accounts.values():
        if account.kind == "system":
            continue
        credited = sum(t.amount for t in world.transfers.values() if t.credit == account.id)
        debited = sum(t.amount for t in world.transfers.values() if t.debit == account.id)
        held = sum(h.amount for h in world.holds.values() if h.account_id == account.id and h.state == HoldState.HELD)
        lots = sum(lot.remaining for lot in world.lots.values() if lot.account_id == account.id)
        if (account.credits_posted, account.debits_posted, account.debits_pending) != (credited, debited, held):
            problems.append(f"account {account.id}: running totals differ from its transfers and holds")
        if account.available < 0 and not account.frozen:
            problems.append(f"account {account.id} is below zero: {account.available}")
        if lots != max(account.posted, 0):
            problems.append(f"account {account.id}: lots {lots} != posted balance {max(account.posted, 0)}")
    for hold in world.holds.values():
        charged = f"spend:{hold.key}" in world.transfers
        if hold.state == HoldState.CAPTURED and not charged:
            problems.append(f"hold {hold.key} captured without a spend")
        if hold.state in (HoldState.RELEASED, HoldState.HELD) and charged:
            problems.append(f"hold {hold.key} is {hold.state} but was charged")
    return problems


class FakeLedgerStore:
    """`LedgerStore` and `ExpiryStore` over a `World`."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def ensure_person(self, identity: str, *, welcome: WelcomeDecision, now: dt.datetime) -> Person:
        with self.world.transaction():
            return open_person(self.world, identity, welcome, now)

    async def open_wallet(self, identity: str, *, welcome: WelcomeDecision, now: dt.datetime) -> tuple[Person, Balance]:
        with self.world.transaction():
            person = open_person(self.world, identity, welcome, now)
            return person, balance(self.world, person.wallet_id)

    async def find_person(self, identity: str) -> Person | None:
        return self.world.find_person(identity)

    async def find_wallet(self, identity: str) -> tuple[Person, Balance] | None:
        found = self.world.find_person(identity)
        return None if found is None else (found, balance(self.world, found.wallet_id))

    async def ensure_server_wallet(self, server_key: str, *, now: dt.datetime) -> int:
        with self.world.transaction():
            return self.world.ensure_account("server", server_key)

    async def grant(self, grant: Grant, *, now: dt.datetime) -> Outcome:
        with self.world.transaction():
            return post_grant(self.world, grant, now)

    async def hold(
        self, key: str, account_id: int, amount: int, *, expires_at: dt.datetime, now: dt.datetime
    ) -> Outcome:
        with self.world.transaction():
            return place_hold(self.world, key, account_id, amount, expires_at, now)

    async def capture(self, key: str, *, now: dt.datetime) -> Outcome:
        with self.world.transaction():
            return capture_hold(self.world, key, now)

    async def release(self, key: str, *, now: dt.datetime) -> Outcome:
        with self.world.transaction():
            return release_hold(self.world, key, now)

    async def sweep_expired_holds(self, *, now: dt.datetime, limit: int = 500) -> int:
        with self.world.transaction():
            due = sorted(
                (h for h in self.world.holds.values() if h.state == HoldState.HELD and h.expires_at < now),
                key=lambda h: h.expires_at,
            )[:limit]
            return sum(1 for h in due if not release_hold(self.world, h.key, now, state=HoldState.EXPIRED).duplicate)

    async def expire_free_credits(self, *, now: dt.datetime, after_account: int = 0, limit: int = 100) -> ExpirySweep:
        with self.world.transaction():
            return _expire_batch(self.world, now, after_account, limit)

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
    ) -> Outcome:
        if from_account == to_account:
            raise OperationFailed("same_account")
        with self.world.transaction():
            if not move(self.world, key, from_account, to_account, amount, reason, now, guarded=True, memo=memo):
                return _duplicate(self.world, key, from_account)
            for part in take_lots(self.world, from_account, amount):
                add_lot(self.world, to_account, part.amount, received_kind(part.kind, reason), now)
            return Outcome(key, amount, balance(self.world, from_account))

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
        with self.world.transaction():
            return take_back(self.world, key, account_id, order_ref, target_total, reason, now)

    async def take(
        self, key: str, account_id: int, amount: int, reason: Reason, *, now: dt.datetime, memo: str = ""
    ) -> Outcome:
        with self.world.transaction():
            sink = system_account(self.world, reason)
            if not move(
                self.world, key, account_id, sink, amount, reason, now, guarded=True, system_side="credit", memo=memo
            ):
                return _duplicate(self.world, key, account_id)
            take_lots(self.world, account_id, amount)
            return Outcome(key, amount, balance(self.world, account_id))

    async def set_frozen(self, account_id: int, frozen: bool) -> Balance:
        with self.world.transaction():
            account = self.world.accounts.get(account_id)
            if account is None:
                raise OperationFailed("unknown_account")
            if not frozen and not may_unfreeze(account.available):
                raise OperationFailed("wallet_in_debt")
            account.frozen = frozen
            return balance(self.world, account_id)

    async def balance(self, account_id: int) -> Balance:
        return balance(self.world, account_id)

    async def stats(self, account_id: int) -> AccountStats:
        return stats(self.world, account_id)

    async def history(self, account_id: int, *, limit: int = 10) -> list[Entry]:
        mine = [t for t in self.world.transfers.values() if account_id in (t.debit, t.credit)]
        newest = sorted(mine, key=lambda t: t.id, reverse=True)[:limit]
        return [
            Entry(t.created_at, t.amount if t.credit == account_id else -t.amount, str(t.reason), t.key, t.memo)
            for t in newest
        ]

    async def get_hold(self, key: str) -> Hold | None:
        return get_hold(self.world, key)

    async def audit(self) -> list[str]:
        return audit(self.world)
