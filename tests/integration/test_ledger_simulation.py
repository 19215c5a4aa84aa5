"""A seeded simulation: random interleaved ledger operations with duplicates, restarts (a fresh
store over the same database) and hold expiries, audited after every step.

A failing run names its seed; replay it with `SIM_SEED=<seed> pytest -k simulation`.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from dataclasses import dataclass, field

import pytest

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from core.domain.ledger import Grant, HoldState, LotKind, Reason
from core.errors import BotError, HoldAlreadyResolved, InsufficientCredits, WalletFrozen

START = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
SEEDS = [int(os.environ["SIM_SEED"])] if "SIM_SEED" in os.environ else [11, 2024, 777]


@dataclass
class Model:
    """What we expect each wallet's available balance to be."""

    available: dict[int, int] = field(default_factory=dict)
    holds: dict[str, tuple[int, int, dt.datetime]] = field(default_factory=dict)  # open: account, amount, expiry
    resolved: set[str] = field(default_factory=set)
    expired: dict[str, tuple[int, int]] = field(default_factory=dict)
    frozen: set[int] = field(default_factory=set)
    done: list[tuple[str, tuple]] = field(default_factory=list)  # operations that may be replayed


class Simulation:
    def __init__(self, url: str, seed: int) -> None:
        self.url = url
        self.rng = random.Random(seed)
        self.now = START
        self.model = Model()
        self.db: Database | None = None
        self.store: SqlLedgerStore | None = None
        self.wallets: list[int] = []
        self.server = 0
        self.counter = 0
        self.orders: dict[str, tuple[int, int]] = {}  # order -> wallet, credits

    async def open(self) -> None:
        self.db = Database(self.url)
        await self.db.start()
        self.store = SqlLedgerStore(self.db)

    async def restart(self) -> None:
        assert self.db is not None
        await self.db.close()
        await self.open()

    def key(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}:{self.counter}"

    async def setup(self) -> None:
        await self.open()
        assert self.store is not None
        for i in range(4):
            person = await self.store.ensure_person(
                f"console:p{i}",
                welcome=lambda person: Grant(f"welcome:{person.person_id}", person.wallet_id, 10, Reason.WELCOME),
                now=self.now,
            )
            self.wallets.append(person.wallet_id)
            self.model.available[person.wallet_id] = 10
        self.server = await self.store.ensure_server_wallet("discord_guild:9", now=self.now)
        self.model.available[self.server] = 0

    async def step(self) -> str:
        store, rng, m = self.store, self.rng, self.model
        assert store is not None
        action = rng.choice(
            [
                "grant",
                "purchase",
                "hold",
                "hold",
                "capture",
                "capture",
                "release",
                "expire",
                "transfer",
                "gift",
                "take",
                "refund",
                "dispute",
                "unfreeze",
                "replay",
                "restart",
            ]
        )
        wallet = rng.choice(self.wallets)
        try:
            if action == "grant":
                amount = rng.randint(1, 5)
                await store.grant(Grant(self.key("daily"), wallet, amount, Reason.DAILY), now=self.now)
                m.available[wallet] += amount
            elif action == "purchase":
                order = self.key("order")
                out = await store.grant(
                    Grant(
                        f"purchase:{order}",
                        wallet,
                        20,
                        Reason.PURCHASE,
                        LotKind.PAID,
                        pack_id="starter",
                        order_ref=order,
                    ),
                    now=self.now,
                )
                assert not out.duplicate
                self.orders[order] = (wallet, 20)
                m.available[wallet] += 20
                m.done.append(
                    (
                        "grant",
                        (
                            Grant(
                                f"purchase:{order}",
                                wallet,
                                20,
                                Reason.PURCHASE,
                                LotKind.PAID,
                                pack_id="starter",
                                order_ref=order,
                            ),
                        ),
                    )
                )
            elif action == "hold":
                key, amount = self.key("hold"), rng.randint(1, 6)
                expiry = self.now + dt.timedelta(minutes=rng.randint(1, 30))
                try:
                    await store.hold(key, wallet, amount, expires_at=expiry, now=self.now)
                except (InsufficientCredits, WalletFrozen):
                    assert m.available[wallet] < amount or wallet in m.frozen
                    return action
                m.available[wallet] -= amount
                m.holds[key] = (wallet, amount, expiry)
                m.done.append(("hold", (key, wallet, amount, expiry)))
            elif action in ("capture", "release"):
                candidates = list(m.holds) + list(m.expired)
                if not candidates:
                    return action
                key = rng.choice(candidates)
                if action == "capture":
                    out = await store.capture(key, now=self.now)
                    if key in m.holds:
                        m.holds.pop(key)
                    else:  # late success after expiry: charged only if the balance allowed
                        account, amount = m.expired.pop(key)
                        assert out.amount in (0, amount)
                        m.available[account] -= out.amount
                    m.resolved.add(key)
                    m.done.append(("capture", (key,)))
                else:
                    if key in m.expired:
                        out = await store.release(key, now=self.now)
                        assert out.duplicate
                        return action
                    account, amount, _ = m.holds.pop(key)
                    await store.release(key, now=self.now)
                    m.available[account] += amount
                    m.resolved.add(key)
                    m.done.append(("release", (key,)))
            elif action == "expire":
                self.now += dt.timedelta(minutes=rng.randint(1, 20))
                swept = await store.sweep_expired_holds(now=self.now)
                due = [k for k, (_, _, exp) in m.holds.items() if exp < self.now]
                assert swept == len(due)
                for k in due:
                    account, amount, _ = m.holds.pop(k)
                    m.available[account] += amount
                    m.expired[k] = (account, amount)
            elif action in ("transfer", "gift", "take"):
                amount = rng.randint(1, 8)
                source = self.server if action == "gift" else wallet
                try:
                    if action == "take":
                        await store.take(self.key("take"), source, amount, Reason.OPERATOR_TAKE, now=self.now)
                    else:
                        target = wallet if action == "gift" else self.server
                        reason = Reason.GIFT if action == "gift" else Reason.TRANSFER
                        await store.transfer(self.key(action), source, target, amount, reason, now=self.now)
                        m.available[target] += amount
                except (InsufficientCredits, WalletFrozen):
                    assert m.available[source] < amount or source in m.frozen
                    return action
                m.available[source] -= amount
            elif action in ("refund", "dispute"):
                if not self.orders:
                    return action
                order = rng.choice(list(self.orders))
                account, credits = self.orders[order]
                target = rng.choice([credits // 2, credits])
                reason = Reason.REFUND if action == "refund" else Reason.DISPUTE
                out = await store.take_back(
                    f"{action}:{order}:{target}",
                    account,
                    order_ref=order,
                    target_total=target,
                    reason=reason,
                    now=self.now,
                )
                if not out.duplicate:
                    m.available[account] -= out.amount
                if action == "dispute":
                    m.frozen.add(account)
            elif action == "unfreeze":
                for account in list(m.frozen):
                    try:
                        await store.set_frozen(account, False)
                        m.frozen.discard(account)
                    except BotError:
                        assert m.available[account] < 0
            elif action == "replay" and m.done:
                kind, args = rng.choice(m.done)
                before = {w: (await store.balance(w)).available for w in self.model.available}
                if kind == "grant":
                    out = await store.grant(*args, now=self.now)
                elif kind == "hold":
                    key, account, amount, expiry = args
                    out = await store.hold(key, account, amount, expires_at=expiry, now=self.now)
                elif kind == "capture":
                    out = await store.capture(*args, now=self.now)
                else:
                    try:
                        out = await store.release(*args, now=self.now)
                    except HoldAlreadyResolved:
                        return action
                assert out.duplicate, f"replayed {kind}{args} was applied again"
                after = {w: (await store.balance(w)).available for w in self.model.available}
                assert before == after
            elif action == "restart":
                await self.restart()
        except HoldAlreadyResolved:
            raise AssertionError(f"unexpected HoldAlreadyResolved in {action}") from None
        return action

    async def check(self) -> None:
        assert self.store is not None
        assert await self.store.audit() == []
        for account, expected in self.model.available.items():
            assert (await self.store.balance(account)).available == expected, f"account {account}"
        for key in self.model.resolved:
            hold = await self.store.get_hold(key)
            assert hold is not None and hold.state != HoldState.HELD


@pytest.mark.parametrize("seed", SEEDS)
async def test_simulation_keeps_the_books_sound_after_every_step(db_url, backend, seed):
    steps = 160 if backend == "sqlite" else 80
    sim = Simulation(db_url, seed)
    await sim.setup()
    history: list[str] = []
    try:
        for _ in range(steps):
            history.append(await sim.step())
            await sim.check()
    except AssertionError as error:
        raise AssertionError(f"seed {seed} failed after steps {history[-8:]}: {error}") from error
    finally:
        if sim.db is not None:
            await sim.db.close()
    assert {"hold", "capture"} <= set(history)
