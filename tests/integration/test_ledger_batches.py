"""Many ledger requests in one write batch: each gets its own outcome or error, the rest commit;
and on PostgreSQL, a writer's backend terminated mid-batch fails only that batch ("try again"),
half-writes nothing, and the writers carry on with fresh connections."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

import asyncpg
import pytest

from adapters.storage.ledger import SqlLedgerStore
from core.domain.ledger import Grant, HoldState, LotKind, Outcome, Reason
from core.errors import HoldNotFound, InsufficientCredits, InternalError, WalletFrozen

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=20)


async def funded(store: SqlLedgerStore, name: str, credits: int) -> int:
    person = await store.ensure_person(f"console:{name}", welcome=lambda person: None, now=NOW)
    if credits:
        await store.grant(Grant(f"seed:{name}", person.wallet_id, credits, Reason.OPERATOR), now=NOW)
    return person.wallet_id


async def settle(*calls):  # type: ignore[no-untyped-def]
    """Run the calls together (queued before the writer wakes: one batch) and keep errors."""
    return await asyncio.gather(*calls, return_exceptions=True)


async def test_one_batch_of_holds_and_captures_answers_each_request_on_its_own(store):
    ann, ben, cat = await funded(store, "ann", 10), await funded(store, "ben", 0), await funded(store, "cat", 5)
    await store.set_frozen(cat, True)
    held = await settle(
        store.hold("h1", ann, 3, expires_at=LATER, now=NOW),
        store.hold("h2", ann, 3, expires_at=LATER, now=NOW),  # the same wallet twice in a batch
        store.hold("h3", ben, 1, expires_at=LATER, now=NOW),  # cannot afford it
        store.hold("h4", cat, 1, expires_at=LATER, now=NOW),  # frozen
        store.hold("h1", ann, 3, expires_at=LATER, now=NOW),  # a repeat
        store.hold("h5", ann, 5, expires_at=LATER, now=NOW),  # more than is left after h1, h2
    )
    assert [type(r).__name__ for r in held] == [
        "Outcome",
        "Outcome",
        "InsufficientCredits",
        "WalletFrozen",
        "Outcome",
        "InsufficientCredits",
    ]
    assert isinstance(held[2], InsufficientCredits) and isinstance(held[3], WalletFrozen)
    assert [(r.key, r.amount, r.duplicate) for r in held[:2]] == [("h1", 3, False), ("h2", 3, False)]
    assert held[4].duplicate and held[4].amount == 3
    assert await store.get_hold("h3") is None and await store.get_hold("h5") is None

    captured = await settle(
        store.capture("h1", now=NOW),
        store.capture("h2", now=NOW),
        store.capture("h1", now=NOW),  # a repeat in the same batch
        store.capture("nope", now=NOW),
    )
    assert [(r.key, r.amount, r.duplicate) for r in captured[:3]] == [  # type: ignore[union-attr]
        ("spend:h1", 3, False),
        ("spend:h2", 3, False),
        ("spend:h1", 3, True),
    ]
    assert isinstance(captured[3], HoldNotFound)
    balance = await store.balance(ann)
    assert (balance.available, balance.held, balance.free + balance.paid) == (4, 0, 4)
    assert (await store.stats(ann)).generations == 2
    assert [(await store.get_hold(k)).state for k in ("h1", "h2")] == [HoldState.CAPTURED] * 2  # type: ignore[union-attr]
    assert await store.audit() == []


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_writer_backend_terminated_mid_batch_fails_that_batch_only_and_writers_reconnect(
    store, db_url, backend
):
    wallets = [await funded(store, f"p{i}", 1_000) for i in range(16)]
    errors: list[BaseException] = []
    done = 0
    stop = asyncio.Event()

    async def client(i: int) -> None:
        nonlocal done
        n = 0
        while not stop.is_set():
            key = f"t{i}:{n}"
            n += 1
            try:
                await store.hold(key, wallets[i], 1, expires_at=LATER, now=NOW)
                await store.capture(key, now=NOW)
                done += 1
            except InternalError as error:  # "try again": the caller may repeat the request
                errors.append(error)

    admin = await asyncpg.connect(db_url.replace("+asyncpg", ""))
    try:
        clients = [asyncio.create_task(client(i)) for i in range(len(wallets))]
        for _ in range(5):
            await asyncio.sleep(0.15)
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*clients)
    finally:
        await admin.close()
    assert errors and all("connection" in str(e) or "unreachable" in str(e) for e in errors)
    before = done
    # The writers carry on: every wallet still takes a hold and a capture.
    for i, wallet in enumerate(wallets):
        await store.hold(f"after:{i}", wallet, 1, expires_at=LATER, now=NOW)
        await store.capture(f"after:{i}", now=NOW)
    assert done == before
    assert await store.audit() == []  # nothing half-written: holds, totals and lots all agree


@pytest.mark.postgres
async def test_holds_placed_by_another_process_are_captured_in_one_batch_with_this_ones(postgres_url):
    """A capture names only its hold. This process remembers the wallet of the holds it placed
    and locks that wallet; a hold placed by another process is looked up in SQL. Both kinds in
    one batch: each charged once, on its own wallet."""
    from adapters.storage.database import Database

    async with Database(postgres_url) as here, Database(postgres_url) as elsewhere:
        ours, theirs = SqlLedgerStore(here), SqlLedgerStore(elsewhere)
        for store in (ours, theirs):
            await store.prepare()
        wallets = [await funded(ours, f"p{i}", 10) for i in range(8)]
        await settle(*(ours.hold(f"ours{i}", w, 2, expires_at=LATER, now=NOW) for i, w in enumerate(wallets)))
        await settle(*(theirs.hold(f"theirs{i}", w, 3, expires_at=LATER, now=NOW) for i, w in enumerate(wallets)))

        captured = await settle(
            *(ours.capture(f"ours{i}", now=NOW) for i in range(8)),
            *(ours.capture(f"theirs{i}", now=NOW) for i in range(8)),
        )

        assert all(not isinstance(c, BaseException) for c in captured), captured
        assert [(c.key, c.amount) for c in captured] == [(f"spend:ours{i}", 2) for i in range(8)] + [
            (f"spend:theirs{i}", 3) for i in range(8)
        ]
        for wallet in wallets:
            balance = await ours.balance(wallet)
            assert (balance.available, balance.held) == (5, 0)
        assert await ours.audit() == []


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
async def test_reads_after_every_connection_was_terminated_answer_on_fresh_connections(store, db_url, backend):
    """Reads keep pooled connections without a ping: after the server cut them all, the next
    reads still answer (each broken connection is dropped and the read runs once more)."""
    wallets = [await funded(store, f"r{i}", 7) for i in range(6)]
    assert [b.available for b in await asyncio.gather(*(store.balance(w) for w in wallets))] == [7] * 6

    admin = await asyncpg.connect(db_url.replace("+asyncpg", ""))
    try:
        cut = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert cut >= 2  # the pooled readers (and the writers) were cut

    assert [b.available for b in await asyncio.gather(*(store.balance(w) for w in wallets))] == [7] * 6
    assert [b.available for b in await asyncio.gather(*(store.balance(w) for w in wallets))] == [7] * 6


def _seen(result: object) -> tuple[object, ...]:
    """What a caller sees of a result, apart from the wallet's id and the key's prefix."""
    if not isinstance(result, Outcome):
        return (type(result).__name__,)
    b = result.balance
    return (result.key.split(":", 2)[-1], result.amount, result.duplicate, b.free, b.paid, b.held, b.frozen, b.debt)


async def test_a_batch_of_holds_and_captures_ends_as_the_same_requests_one_at_a_time(store):
    """The batched forms of holds and captures (set-based statements) give each request the
    outcome, and leave the wallets, lots and books, exactly as the requests run one by one."""
    soon, later = NOW + dt.timedelta(days=2), NOW + dt.timedelta(days=9)

    async def wallets(side: str) -> list[int]:
        made = []
        for i, (free, paid) in enumerate([(5, 0), (0, 4), (2, 3), (1, 1), (3, 0), (0, 6)]):
            wallet = await funded(store, f"{side}{i}", 0)
            if free:  # two lots of free credits: the one expiring first is spent first
                await store.grant(Grant(f"{side}{i}:f1", wallet, free, Reason.DAILY, expires_at=later), now=NOW)
                await store.grant(Grant(f"{side}{i}:f2", wallet, 1, Reason.DAILY, expires_at=soon), now=NOW)
            if paid:
                order = f"{side}{i}:o"
                await store.grant(
                    Grant(order, wallet, paid, Reason.PURCHASE, LotKind.PAID, pack_id="p", order_ref=order), now=NOW
                )
            made.append(wallet)
        return made

    batched, alone = await wallets("a"), await wallets("b")

    def holds(side: str, wallet_ids: list[int]) -> list[tuple[str, int, int]]:
        asked = [(f"{side}:h{i}", wallet, 1 + i % 3) for i, wallet in enumerate(wallet_ids)]
        asked.append((f"{side}:h0", wallet_ids[0], 1))  # a repeat
        asked.append((f"{side}:x2", wallet_ids[2], 1))  # a second hold on one wallet
        return asked

    def captures(side: str) -> list[str]:
        return [f"{side}:h{i}" for i in range(6)] + [f"{side}:x2", f"{side}:h3"]  # h3 twice

    held = await settle(*(store.hold(k, w, n, expires_at=LATER, now=NOW) for k, w, n in holds("a", batched)))
    captured = await settle(*(store.capture(k, now=NOW) for k in captures("a")))
    held_alone = [await store.hold(k, w, n, expires_at=LATER, now=NOW) for k, w, n in holds("b", alone)]
    captured_alone = [await store.capture(k, now=NOW) for k in captures("b")]

    # Sorted: of two requests with one key sent together, either may be the repeat.
    assert sorted(map(_seen, held)) == sorted(map(_seen, held_alone))
    assert sorted(map(_seen, captured)) == sorted(map(_seen, captured_alone))
    assert all(isinstance(r, Outcome) for r in held + captured)
    for a, b in zip(batched, alone, strict=True):
        assert _seen(Outcome("", 0, await store.balance(a))) == _seen(Outcome("", 0, await store.balance(b)))
        assert await store.stats(a) == replace(await store.stats(b), account_id=a)
    assert await store.audit() == []
