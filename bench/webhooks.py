"""`python -m bench.webhooks`: signed Stripe webhooks through the real web server.

Starts the web server on 127.0.0.1:0 over a fresh SQLite database, creates a few hundred orders
through `PaymentService.buy` (against the loopback fake Stripe, real client), then posts 2,000
signed events (a quarter of them duplicates, shuffled; completed, pending-then-succeeded and
succeeded-before-completed mixed, plus event types we ignore) from 50 concurrent clients, and
checks that every order was granted exactly once and that the books balance.

Last line: `webhooks events_per_s=<n> p50_ms=<n> p99_ms=<n> orders=<n> granted_once=<true|false>
violations=<k>`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text

from adapters.storage.database import Database
from adapters.web import WebServer
from bench.common import peak_rss_mb, scratch_sqlite
from bot.bootstrap import build_app
from bot.config import load_settings
from bot.runtime import freeze_startup_heap
from core.domain.identity import Identity
from core.domain.orders import Order
from core.services.payments import PaymentService
from tests.fakes.stripe_fake import (
    FakeStripe,
    async_payment_succeeded_event,
    checkout_completed_event,
    make_event,
    signed_event,
)


async def create_orders(payments: PaymentService, count: int) -> list[Order]:
    packs = payments.packs()
    semaphore = asyncio.Semaphore(20)

    async def one(i: int) -> Order:
        async with semaphore:
            link = await payments.buy(Identity("console", f"buyer{i}"), packs[i % len(packs)].pack_id, request_id="b1")
        order = await payments.store.get_order(link.order_id)
        assert order is not None
        return order

    return list(await asyncio.gather(*[one(i) for i in range(count)]))


def events_for(fake: FakeStripe, orders: list[Order]) -> list[dict[str, Any]]:
    """Three distinct events per order, as Stripe may send them, in any order."""
    events: list[dict[str, Any]] = []
    for i, order in enumerate(orders):
        sid = order.stripe_session_id
        assert sid is not None
        if i % 2 == 0:  # a delayed method: completed (unpaid), then succeeded, then a paid copy
            pending = fake.complete_session(sid, paid=False)
            succeeded = fake.async_payment_succeeded(sid)
            pi = fake.sessions[sid]["payment_intent"]
            late = checkout_completed_event(
                order.order_id, session_id=sid, payment_intent_id=pi, amount_total=order.amount
            )
            events += [pending, succeeded, late]
        else:  # a card: completed (paid); a stray succeeded for the same session; an ignored type
            completed = fake.complete_session(sid)
            pi = fake.sessions[sid]["payment_intent"]
            stray = async_payment_succeeded_event(
                order.order_id, session_id=sid, payment_intent_id=pi, amount_total=order.amount
            )
            other = make_event("payment_intent.succeeded", {"id": pi, "object": "payment_intent"})
            events += [completed, stray, other]
    return events


async def post_all(
    url: str, signed: list[tuple[bytes, str]], clients: int
) -> tuple[float, list[float], collections.Counter[str]]:
    """Post every event from `clients` concurrent connections; (seconds, latencies, answers)."""
    queue: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()
    for item in signed:
        queue.put_nowait(item)
    latencies: list[float] = []
    answers: collections.Counter[str] = collections.Counter()

    async def client(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body, signature = queue.get_nowait()
            started = time.perf_counter()
            headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
            async with http.post(url, data=body, headers=headers) as response:
                answer = await response.json()
                latencies.append(time.perf_counter() - started)
                answers[f"{response.status} {answer.get('outcome') or answer.get('error')}"] += 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*[client(http) for _ in range(clients)])
        elapsed = time.perf_counter() - started
    return elapsed, latencies, answers


async def post_from_another_process(
    url: str, signed: list[tuple[bytes, str]], clients: int
) -> tuple[float, list[float], collections.Counter[str]]:
    """Run the clients in a child process, as Stripe would be, so that the load generator does
    not share the server's event loop and GIL (on a machine with cores to spare)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.jsonl"
        path.write_text("".join(json.dumps([b.decode(), sig]) + "\n" for b, sig in signed))
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.webhooks",
            "--client",
            url,
            str(path),
            str(clients),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the client process failed ({child.returncode})")
    report = json.loads(out)
    return report["elapsed"], report["latencies"], collections.Counter(report["answers"])


def client_main(url: str, path: str, clients: int) -> None:
    signed = [(body.encode(), sig) for body, sig in map(json.loads, Path(path).read_text().splitlines())]
    elapsed, latencies, answers = asyncio.run(post_all(url, signed, clients))
    print(json.dumps({"elapsed": elapsed, "latencies": latencies, "answers": answers}))


async def granted_exactly_once(db: Database, orders: list[Order]) -> list[str]:
    """Every order: one purchase transfer of its credits, state paid, its wallet's paid lots."""

    def check(conn: Any) -> list[str]:
        problems = []
        grants = dict(
            conn.execute(
                text("SELECT order_ref, COUNT(*) FROM transfers WHERE reason = 'purchase' GROUP BY order_ref")
            ).all()
        )
        paid = dict(
            conn.execute(
                text("SELECT account_id, SUM(granted) FROM lots WHERE kind = 'paid' GROUP BY account_id")
            ).all()
        )
        states = dict(conn.execute(text("SELECT id, state FROM orders")).all())
        for order in orders:
            if grants.get(order.order_id) != 1:
                problems.append(f"order {order.order_id}: {grants.get(order.order_id, 0)} grants")
            if paid.get(order.wallet_id) != order.credits:
                problems.append(f"order {order.order_id}: wallet has {paid.get(order.wallet_id)} paid credits")
            if states.get(order.order_id) != "paid":
                problems.append(f"order {order.order_id}: state {states.get(order.order_id)}")
        return problems

    return await db.read(check)


async def main(events: int, clients: int, orders_count: int, seed: int, client_process: bool = False) -> None:
    rng = random.Random(seed)
    async with scratch_sqlite() as url, FakeStripe() as fake:
        settings = load_settings(
            _env_file=None,
            database_url=url,
            data_dir=str(Path(url.rsplit("///", 1)[-1]).parent),
            intake_processes=0,
            telegram_bot_token=None,
            discord_bot_token=None,
            replicate_api_token=None,
            stripe_secret_key=fake.api_key,
            stripe_webhook_secret=fake.webhook_secret,
            stripe_api_base=fake.base_url,
            public_base_url="https://bench.example",
        )
        app = await build_app(settings)  # the bot as it runs: its payments and its web hooks
        freeze_startup_heap()  # as `python -m bot` does once it is up
        assert app.database is not None
        db, ledger = app.database, app.ledger
        try:
            started = time.perf_counter()
            orders = await create_orders(app.payments, orders_count)
            print(
                f"{len(orders)} orders created through PaymentService.buy in {time.perf_counter() - started:.1f} s",
                flush=True,
            )

            unique = events_for(fake, orders)
            duplicates = max(0, events - len(unique))
            batch = unique + [rng.choice(unique) for _ in range(duplicates)]
            rng.shuffle(batch)
            signed = [signed_event(e, fake.webhook_secret) for e in batch]
            print(
                f"{len(signed)} events: {len(unique)} distinct + {duplicates} duplicates, {clients} clients",
                flush=True,
            )

            async with WebServer(app.web_hooks, "127.0.0.1", 0) as server:
                writes_before = (db.batches, db.operations)
                post = post_from_another_process if client_process else post_all
                elapsed, latencies, answers = await post(f"{server.base_url}/webhooks/stripe", signed, clients)
                batches, operations = (
                    db.batches - writes_before[0],
                    db.operations - writes_before[1],
                )
            for answer, count in sorted(answers.items()):
                print(f"  {answer}: {count}")
            print(f"{operations} write units in {batches} transactions; peak RSS {peak_rss_mb():.0f} MB")

            problems = await granted_exactly_once(db, orders)
            all_ok = all(answer.startswith("200 ") for answer in answers) and answers["200 granted"] == len(orders)
            for problem in problems[:10]:
                print(f"not granted once: {problem}")
            violations = await ledger.audit()
            for violation in violations:
                print(f"violation: {violation}")
        finally:
            await app.close()

    ms = sorted(x * 1000 for x in latencies)
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    granted_once = all_ok and not problems
    print(
        f"webhooks events_per_s={len(ms) / elapsed:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f} "
        f"orders={len(orders)} granted_once={str(granted_once).lower()}"
        f" violations={len(violations)}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--client-process",
        action="store_true",
        help="run the 50 clients in a child process instead of on the server's own event loop",
    )
    parser.add_argument("--client", nargs=3, metavar=("URL", "EVENTS_FILE", "CLIENTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args.client[0], args.client[1], int(args.client[2]))
    else:
        asyncio.run(main(args.events, args.clients, args.orders, args.seed, args.client_process))
