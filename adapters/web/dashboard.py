"""GET /dashboard: the operators' page, server-rendered HTML from Jinja2 templates shipped in the
package (`adapters/web/templates`, auto-escaping on), with inline SVG charts: no script, no
outside asset, readable on a phone.

What it shows, from one read transaction per page load (`hooks.dashboard`, no writes): the
success metrics of a range of UTC days (a chart per day of new persons, clips and tickets; the
funnel; retention after running out; support; clips by operation; revenue by pack, provider and
day), the stats report (today, 7 and 30 days), jobs by state and the queue head's wait,
wallets and the oldest open support tickets. Every word comes from the catalogue.

The range: `?from=YYYY-MM-DD&to=YYYY-MM-DD` (the form), or `?days=N` (the quick links); none →
the last 30 days. A last day in the future is clamped to today; a malformed, reversed or
longer-than-a-year range is a 400 page saying why.

Access: the page exists only while `hooks.dashboard_token` is set (else 404, like any unknown
path). Then it asks for HTTP Basic auth: any user name, the token as the password; a wrong or
missing one gets 401 and nothing else. A dead or slow database is 503 with one sentence.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
from collections.abc import Mapping, Sequence

import jinja2
from aiohttp import BasicAuth, hdrs, web

from adapters.web.charts import Bars, bars, time_series
from adapters.web.hooks import Dashboard, DashboardWords
from adapters.web.webhooks import HOOKS
from core.domain.insight import MAX_RANGE_DAYS, DayRange, Insight, RangeProblem, last_days, parse_range
from core.domain.jobs import JobState

logger = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 10.0
REALM = "operators"
STATS_ROWS = ("new_persons", "generations", "spent", "granted", "revenue", "conversion", "came_back")
WALLET_KINDS = ("person", "server")
QUICK_RANGES = (7, 30, 90, 365)
SERIES = ("new_persons", "clips", "tickets")

# Nothing may load, run or frame this page; inline styles only.
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("adapters.web", "templates"),
    autoescape=True,  # every value, whatever the template's name
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
)


async def dashboard(request: web.Request) -> web.Response:
    hooks = request.app[HOOKS]
    token, read, words = hooks.dashboard_token, hooks.dashboard, hooks.dashboard_words
    if not token or read is None or words is None:
        raise web.HTTPNotFound()  # off: the same answer as any unknown path
    if not _authorized(request, token):
        return web.Response(
            status=401,
            text="401: Unauthorized",
            headers={**_HEADERS, "WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
        )
    try:
        span = range_asked(request.query, hooks.today())
    except RangeProblem as problem:
        message = words.t("insight.range.bad", reason=words.t(f"insight.range.{problem.reason}"))
        body = TEMPLATES.get_template("bad_request.html").render(
            title=words.t("insight.bad_request"), message=message, t=words.t
        )
        return web.Response(status=400, text=body, content_type="text/html", headers=_HEADERS)
    try:
        data = await asyncio.wait_for(read(span), READ_TIMEOUT_SECONDS)
    except Exception as error:  # a slow or dead database: one sentence, no traceback
        logger.warning("dashboard: the database read failed: %r", error)
        return web.Response(status=503, text=words.t("dashboard.unavailable"), headers=_HEADERS)
    body = page(data, words, str(hooks.today()))
    return web.Response(text=body, content_type="text/html", headers=_HEADERS)


def range_asked(query: Mapping[str, str], today: dt.date) -> DayRange:
    """The range of the query string: `days`, else `from`/`to` (see the module's words)."""
    days = query.get("days")
    if days is not None:
        if not days.isdigit() or not 1 <= int(days) <= MAX_RANGE_DAYS:
            raise RangeProblem("days")
        return last_days(int(days), today)
    return parse_range(query.get("from") or None, query.get("to") or None, today)


def _authorized(request: web.Request, token: str) -> bool:
    """HTTP Basic: any user name, the token as the password (compared in constant time)."""
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    try:
        given = BasicAuth.decode(header, encoding="utf-8").password
    except ValueError:  # missing, not Basic, not base64, not UTF-8
        return False
    return hmac.compare_digest(given.encode(), token.encode())


def page(data: Dashboard, words: DashboardWords, today: str) -> str:
    """The whole page; the template escapes every value."""
    t = words.t
    figures = data.insight
    span = figures.range
    return TEMPLATES.get_template("dashboard.html").render(
        t=t,
        title=t("dashboard.title"),
        at=t("stats_header", at=data.report.at),
        today=today,
        span=span,
        quick=QUICK_RANGES,
        insight_title=t("insight.header", first=span.first, last=span.last, days=span.days),
        daily=_daily_chart(figures, words),
        funnel=bars([(name, count or 0, text) for name, count, text in words.funnel_steps(figures)]),
        lines=words.insight_lines(figures),
        packs=_pack_charts(figures, words),
        revenue_head=[t(f"insight.revenue.{c}") for c in ("day", "provider", "pack", "orders", "amount")],
        revenue_rows=[
            [("", r.day), ("", r.provider), ("", r.pack_id), ("n", r.orders), ("n", words.money(r.amount, r.currency))]
            for r in figures.revenue
        ],
        **_stats(data, words),
        **_jobs(data, words),
        **_wallets(data, words),
        **_tickets(data, words),
        **_economics(data, words),
        **_experiment(data, words),
    )


ECONOMICS_SECTIONS = ("by_operation", "by_pack", "by_provider")


def _economics(data: Dashboard, words: DashboardWords) -> dict[str, object]:
    """The unit economics of the range: a table per section, the overall line, the losing prices."""
    margin = data.margin
    if margin is None:
        return {"economics": None}
    head = words.margin_head()
    tables = [
        (words.t(f"economics.{section}"), [_cells(words.margin_row(line)) for line in getattr(margin, section)])
        for section in ECONOMICS_SECTIONS
    ]
    tables.append((words.t("economics.overall"), [_cells(words.margin_row(margin.overall))]))
    return {
        "economics": {
            "head": head,
            "tables": tables,
            "losing": [words.losing(price) for price in data.losing],
        }
    }


def _experiment(data: Dashboard, words: DashboardWords) -> dict[str, object]:
    """The pricing experiment running (else the latest): a row per arm."""
    report = data.experiment
    if report is None:
        return {"experiment": None}
    return {
        "experiment": {
            "title": words.experiment_title(report),
            "head": words.experiment_head(),
            "rows": [_cells(words.experiment_row(arm)) for arm in report.arms],
        }
    }


def _cells(values: Sequence[str]) -> list[tuple[str, str]]:
    return [("", values[0]), *(("n", value) for value in values[1:])]


def _daily_chart(figures: Insight, words: DashboardWords) -> object:
    days = [d.day for d in figures.daily]
    series = [(words.t(f"insight.series.{name}"), name, [getattr(d, name) for d in figures.daily]) for name in SERIES]
    return time_series(days, series)


def _pack_charts(figures: Insight, words: DashboardWords) -> list[tuple[str, Bars]]:
    """One bar chart per currency (amounts in two currencies are never on one scale)."""
    charts: list[tuple[str, Bars]] = []
    for currency in figures.currencies():
        items = [
            (pack, amount, f"{words.money(amount, cur)} ×{orders}")
            for pack, cur, orders, amount in figures.revenue_by("pack_id")
            if cur == currency
        ]
        charts.append((currency, bars(items)))
    return charts


def _n(value: object) -> tuple[str, object]:
    return ("n", value)


def _stats(data: Dashboard, words: DashboardWords) -> dict[str, object]:
    t = words.t
    windows = data.report.windows
    figures = [words.window_figures(w) for w in windows]
    head = [""] + [t(f"stats_window.{w.stats.window.name}") for w in windows]
    rows = [
        [("", t(f"dashboard.stats.{row}"))] + [("", t(f"dashboard.stats.{row}.value", None, **f)) for f in figures]
        for row in STATS_ROWS
    ]
    return {"stats_head": head, "stats_rows": rows}


def _jobs(data: Dashboard, words: DashboardWords) -> dict[str, object]:
    t = words.t
    jobs = data.figures.jobs
    known = [state.value for state in JobState]
    states = known + sorted(set(jobs) - set(known))
    rows = [[("", t(f"job_state.{state}")), _n(jobs.get(state, 0))] for state in states]
    waited = int(data.figures.oldest_queued_seconds)
    if jobs.get(JobState.QUEUED.value, 0):
        minutes, seconds = divmod(waited, 60)
        wait = t("dashboard.queue_wait", minutes=minutes, seconds=seconds)
    else:
        wait = t("dashboard.queue_empty")
    return {"jobs_head": [t("dashboard.jobs.state"), t("dashboard.jobs.count")], "jobs_rows": rows, "queue": wait}


def _wallets(data: Dashboard, words: DashboardWords) -> dict[str, object]:
    t = words.t
    wallets = data.figures.wallets
    kinds = [k for k in WALLET_KINDS if k in wallets] + sorted(set(wallets) - set(WALLET_KINDS))
    rows = [
        [("", t(f"dashboard.wallets.{kind}")), _n(w.count), _n(w.frozen), _n(w.available), _n(w.held)]
        for kind, w in ((kind, wallets[kind]) for kind in kinds)
    ]
    frozen = sum(w.frozen for w in wallets.values())
    held = sum(w.held for w in wallets.values())
    total = [sum(w.count for w in wallets.values()), frozen, sum(w.available for w in wallets.values()), held]
    rows.append([("", t("dashboard.wallets.total"))] + [_n(v) for v in total])
    return {
        "wallets_head": [t(f"dashboard.wallets.{c}") for c in ("kind", "count", "frozen", "available", "held")],
        "wallets_rows": rows,
        "wallets_summary": t("dashboard.wallets.summary", frozen=frozen, held=held, holds=data.figures.open_holds),
    }


def _tickets(data: Dashboard, words: DashboardWords) -> dict[str, object]:
    t = words.t
    count = max(data.figures.open_tickets, len(data.tickets))
    rows = [
        [
            ("", f"#{ticket.ticket_id}"),
            ("", t("dashboard.ticket.opened_at", at=ticket.created_at)),
            ("", t("dashboard.ticket.who.value", identity=ticket.identity, person=ticket.person_id)),
            _n(ticket.available),
            ("text", ticket.text),  # kept as written: line breaks shown
            ("", ticket.last_job or t("ticket_no_job")),
        ]
        for ticket in data.tickets
    ]
    notes = [t("dashboard.tickets.reply")]
    if count > len(data.tickets):
        notes.insert(0, t("dashboard.tickets.more", shown=len(data.tickets), count=count))
    return {
        "tickets_title": t("dashboard.tickets", count=count),
        "tickets_head": [t(f"dashboard.ticket.{c}") for c in ("id", "opened", "who", "balance", "text", "last_job")],
        "tickets_rows": rows,
        "tickets_notes": notes,
    }
