"""GET /metrics: Prometheus text format (OpenMetrics when the scraper asks for it).

What it shows, all read at scrape time:
- from the database (one read transaction, no writes, `hooks.metrics`): jobs by state, how long
  the head of the queue has waited, wallets, credits available and held, frozen wallets, open
  holds, orders by channel and state, open support tickets; `musicgen_database_up` is 0 when
  that read fails or is slow (the rest is still served, so the scrape itself does not fail);
- from this process: webhook requests answered by sender and status, and the usual
  `process_*` / `python_*` series of prometheus-client.

With `hooks.metrics_token` set, a scrape needs `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from adapters.web.hooks import Figures
from adapters.web.webhooks import HOOKS

logger = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 5.0
WEBHOOK_SOURCES = frozenset({"stripe", "replicate", "telegram"})


class ProcessMetrics:
    """This web server's own series, in a registry of its own (several servers may share one
    process, as in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.webhooks = Counter(
            "musicgen_webhook_requests",
            "Webhook requests answered, by sender and HTTP status.",
            ["source", "status"],
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)


PROCESS_METRICS: web.AppKey[ProcessMetrics] = web.AppKey("process_metrics", ProcessMetrics)


@web.middleware
async def count_webhooks(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Counts every answer of POST /webhooks/<sender> by status (errors included)."""
    source = request.path.removeprefix("/webhooks/") if request.path.startswith("/webhooks/") else ""
    if source not in WEBHOOK_SOURCES:
        return await handler(request)
    counter = request.app[PROCESS_METRICS].webhooks
    try:
        response = await handler(request)
    except web.HTTPException as error:  # 405, 413, ...
        counter.labels(source, str(error.status)).inc()
        raise
    except Exception:
        counter.labels(source, "500").inc()
        raise
    counter.labels(source, str(response.status)).inc()
    return response


class _Scrape:
    """One scrape: this process's registry, then the database's figures."""

    def __init__(self, registry: CollectorRegistry, figures: Figures | None, read_seconds: float, read: bool) -> None:
        self.registry = registry
        self.figures = figures
        self.read_seconds = read_seconds
        self.read = read

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()
        if not self.read:
            return
        yield GaugeMetricFamily(
            "musicgen_database_up", "1 when the database answered this scrape's read.", int(self.figures is not None)
        )
        yield GaugeMetricFamily(
            "musicgen_metrics_read_seconds", "How long this scrape's database read took.", self.read_seconds
        )
        if self.figures is not None:
            yield from database_families(self.figures)


def database_families(figures: Figures) -> Iterator[Metric]:
    jobs = GaugeMetricFamily("musicgen_jobs", "Generation jobs by state.", labels=["state"])
    for state, count in sorted(figures.jobs.items()):
        jobs.add_metric([state], count)
    yield jobs
    yield GaugeMetricFamily(
        "musicgen_job_queue_oldest_seconds",
        "How long the oldest queued job has waited (0 when none is queued).",
        figures.oldest_queued_seconds,
    )
    wallets = GaugeMetricFamily("musicgen_wallets", "Wallets by kind.", labels=["kind"])
    frozen = GaugeMetricFamily("musicgen_wallets_frozen", "Wallets frozen by a dispute, by kind.", labels=["kind"])
    available = GaugeMetricFamily(
        "musicgen_credits_available", "Credits their owners can spend now, by wallet kind.", labels=["kind"]
    )
    held = GaugeMetricFamily(
        "musicgen_credits_held", "Credits held for unfinished jobs, by wallet kind.", labels=["kind"]
    )
    for kind, totals in sorted(figures.wallets.items()):
        wallets.add_metric([kind], totals.count)
        frozen.add_metric([kind], totals.frozen)
        available.add_metric([kind], totals.available)
        held.add_metric([kind], totals.held)
    yield from (wallets, frozen, available, held)
    yield GaugeMetricFamily("musicgen_holds_open", "Holds not yet captured or released.", figures.open_holds)
    orders = GaugeMetricFamily("musicgen_orders", "Orders by payment channel and state.", labels=["channel", "state"])
    for (channel, state), count in sorted(figures.orders.items()):
        orders.add_metric([channel, state], count)
    yield orders
    yield GaugeMetricFamily("musicgen_support_tickets_open", "Support tickets not answered yet.", figures.open_tickets)


async def metrics(request: web.Request) -> web.Response:
    hooks = request.app[HOOKS]
    if hooks.metrics_token and not _authorized(request, hooks.metrics_token):
        return web.Response(status=401, text="metrics need a bearer token\n", headers={"WWW-Authenticate": "Bearer"})
    figures: Figures | None = None
    started = time.perf_counter()
    if hooks.metrics is not None:
        try:
            figures = await asyncio.wait_for(hooks.metrics(), READ_TIMEOUT_SECONDS)
        except Exception as error:  # a slow or dead database shows as musicgen_database_up 0
            logger.warning("metrics: the database read failed: %r", error)
    scrape = _Scrape(
        request.app[PROCESS_METRICS].registry, figures, time.perf_counter() - started, hooks.metrics is not None
    )
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(body=encode(scrape), headers={"Content-Type": content_type, "Cache-Control": "no-store"})


def _authorized(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
