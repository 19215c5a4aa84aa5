"""What offers cost once each is recorded: low-balance offers per second (the running
experiment's read plus the 'shown' event's write) without and with an experiment, and the
experiment report's time over 100,000 offer events, on SQLite and PostgreSQL.

Functions return numbers; only `__main__` prints. Run: `.venv/bin/python -m bench.offers`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.offers import SqlOfferStore
from adapters.storage.tables_offers import offer_events
from bench.common import scratch_postgres, scratch_sqlite
from core.clock import SystemClock
from core.domain.ledger import Balance
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rules import CreditRules
from core.services.experiments import ExperimentService
from core.services.offers import OfferService

CLIENTS = 16
WALLETS = 200
RULES = CreditRules(
    pricing=Pricing({5: 1}),
    packs=PackTable((Pack("starter", 100, 500), Pack("popular", 400, 1500), Pack("pro", 1000, 3500))),
)
STARS = PackTable((Pack("starter", 100, 250, "XTR"),))
DEFINITION = "bench control=starter:100:500,popular:400:1500 cheap:2=starter:120:500,popular:450:1400"


async def offers_per_s(db: Database, wallets: list[int], seconds: float) -> float:
    """Low-balance offers made (and recorded as shown) per second by `CLIENTS` clients."""
    store = SqlOfferStore(db)
    experiments = ExperimentService(store, RULES, SystemClock(), stars_packs=STARS)
    offers = OfferService(RULES, stars_packs=STARS, experiments=experiments, history=store)
    stop_at = time.perf_counter() + seconds
    counts = [0] * CLIENTS

    async def client(i: int) -> None:
        n = 0
        while time.perf_counter() < stop_at:
            wallet = wallets[(i * 7 + n) % len(wallets)]
            assert await offers.of(Balance(wallet, free=1, paid=0, held=0), None) is not None
            n += 1
        counts[i] = n

    start = time.perf_counter()
    await asyncio.gather(*[client(i) for i in range(CLIENTS)])
    return sum(counts) / (time.perf_counter() - start)


async def report_ms(db: Database, wallets: list[int], events: int, runs: int = 5) -> float:
    """Median wall time (ms) of the experiment report over `events` recorded events."""
    now = dt.datetime.now(dt.UTC)
    kinds = ["shown"] * 8 + ["clicked", "paid"]
    rows = [
        {
            "account_id": wallets[n % len(wallets)],
            "kind": kinds[n % len(kinds)],
            "pack_id": "starter",
            "experiment": "bench",
            "arm": "control" if n % 3 == 0 else "cheap",
            "order_id": f"o{n}" if kinds[n % len(kinds)] == "paid" else None,
            "amount": 500 if kinds[n % len(kinds)] == "paid" else None,
            "currency": "usd" if kinds[n % len(kinds)] == "paid" else None,
            "created_at": now,
        }
        for n in range(events)
    ]
    for chunk in range(0, len(rows), 10_000):
        await db.write(lambda c, part=rows[chunk : chunk + 10_000]: c.execute(offer_events.insert(), part))
    experiments = ExperimentService(SqlOfferStore(db), RULES, SystemClock(), stars_packs=STARS)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        report = await experiments.report(None, "bench")
        times.append(time.perf_counter() - start)
    assert sum(arm.counts.views for arm in report.arms) >= events * 8 // 10
    return statistics.median(times) * 1000


async def figures(url: str, seconds: float, events: int) -> tuple[float, float, float]:
    async with Database(url) as db:
        ledger = SqlLedgerStore(db)
        await ledger.prepare()
        now = dt.datetime.now(dt.UTC)
        wallets = [
            (await ledger.ensure_person(f"console:b{n}", welcome=lambda p: None, now=now)).wallet_id
            for n in range(WALLETS)
        ]
        plain = await offers_per_s(db, wallets, seconds)
        await ExperimentService(SqlOfferStore(db), RULES, SystemClock(), stars_packs=STARS).start(
            None, DEFINITION.split()
        )
        in_experiment = await offers_per_s(db, wallets, seconds)
        return plain, in_experiment, await report_ms(db, wallets, events)


async def main(seconds: float, events: int) -> None:
    results = {}
    for name, scratch in (("sqlite", scratch_sqlite), ("postgres", scratch_postgres)):
        async with scratch() as url:
            plain, experiment, report = await figures(url, seconds, events)
        print(
            f"{name}: {plain:,.0f} offers/s, {experiment:,.0f} offers/s in an experiment, "
            f"report over {events:,} events in {report:,.1f} ms",
            flush=True,
        )
        results[name] = (plain, experiment, report)
    print(
        "offers "
        + " ".join(
            f"{name}_offers_per_s={p:.0f} {name}_experiment_offers_per_s={e:.0f} {name}_report_ms={r:.1f}"
            for name, (p, e, r) in results.items()
        )
        + f" events={events}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.events))
