"""GET /dashboard: the operators' daily page, read-only plain HTML (no script, no outside asset).

What it shows, from one read transaction per page load (`hooks.dashboard`, no writes): the
stats report (today, 7 and 30 days), jobs by state and the queue head's wait, wallets (frozen,
credits available and held) and the oldest open support tickets. Every word comes from the
catalogue (`hooks.dashboard_words`); every value is escaped.

Access: the page exists only while `hooks.dashboard_token` is set (else 404, like any unknown
path). Then it asks for HTTP Basic auth: any user name, the token as the password; a wrong or
missing one gets 401 and nothing else. A dead or slow database is 503 with one sentence.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
from collections.abc import Iterable, Sequence

from aiohttp import BasicAuth, hdrs, web

from adapters.web.hooks import Dashboard, DashboardWords
from adapters.web.webhooks import HOOKS
from core.domain.jobs import JobState

logger = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 10.0
REALM = "operators"
STATS_ROWS = ("new_persons", "generations", "spent", "granted", "revenue", "conversion", "came_back")
WALLET_KINDS = ("person", "server")

# Nothing may load, run or frame this page; inline styles only.
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.4}}
table{{border-collapse:collapse;margin:.5rem 0 1rem}}
th,td{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}}
th{{background:#f3f3f3}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}}
td.text{{white-space:pre-wrap;max-width:32rem}}
p.at{{color:#555}}
</style>
</head><body>
<h1>{title}</h1>
{body}
</body></html>
"""


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
        data = await asyncio.wait_for(read(), READ_TIMEOUT_SECONDS)
    except Exception as error:  # a slow or dead database: one sentence, no traceback
        logger.warning("dashboard: the database read failed: %r", error)
        return web.Response(status=503, text=words.t("dashboard.unavailable"), headers=_HEADERS)
    return web.Response(text=page(data, words), content_type="text/html", headers=_HEADERS)


def _authorized(request: web.Request, token: str) -> bool:
    """HTTP Basic: any user name, the token as the password (compared in constant time)."""
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    try:
        given = BasicAuth.decode(header, encoding="utf-8").password
    except ValueError:  # missing, not Basic, not base64, not UTF-8
        return False
    return hmac.compare_digest(given.encode(), token.encode())


def page(data: Dashboard, words: DashboardWords) -> str:
    """The whole page; every value goes through `html.escape`."""
    t = words.t
    body = [
        f'<p class="at">{_e(t("stats_header", at=data.report.at))}</p>',
        _stats(data, words),
        _jobs(data, words),
        _wallets(data, words),
        _tickets(data, words),
    ]
    return _PAGE.format(title=_e(t("dashboard.title")), body="\n".join(body))


def _stats(data: Dashboard, words: DashboardWords) -> str:
    t = words.t
    windows = data.report.windows
    figures = [words.window_figures(w) for w in windows]
    head = [""] + [t(f"stats_window.{w.stats.window.name}") for w in windows]
    rows = [
        [t(f"dashboard.stats.{row}")] + [t(f"dashboard.stats.{row}.value", None, **f) for f in figures]
        for row in STATS_ROWS
    ]
    return _section(t("dashboard.usage"), _table(head, rows))


def _jobs(data: Dashboard, words: DashboardWords) -> str:
    t = words.t
    jobs = data.figures.jobs
    known = [state.value for state in JobState]
    states = known + sorted(set(jobs) - set(known))
    rows = [[t(f"job_state.{state}"), jobs.get(state, 0)] for state in states]
    waited = int(data.figures.oldest_queued_seconds)
    if jobs.get(JobState.QUEUED.value, 0):
        minutes, seconds = divmod(waited, 60)
        wait = t("dashboard.queue_wait", minutes=minutes, seconds=seconds)
    else:
        wait = t("dashboard.queue_empty")
    table = _table([t("dashboard.jobs.state"), t("dashboard.jobs.count")], rows)
    return _section(t("dashboard.jobs"), f"{table}\n<p>{_e(wait)}</p>")


def _wallets(data: Dashboard, words: DashboardWords) -> str:
    t = words.t
    wallets = data.figures.wallets
    kinds = [k for k in WALLET_KINDS if k in wallets] + sorted(set(wallets) - set(WALLET_KINDS))
    rows: list[list[object]] = [
        [t(f"dashboard.wallets.{kind}"), w.count, w.frozen, w.available, w.held]
        for kind, w in ((kind, wallets[kind]) for kind in kinds)
    ]
    frozen = sum(w.frozen for w in wallets.values())
    held = sum(w.held for w in wallets.values())
    rows.append(
        [
            t("dashboard.wallets.total"),
            sum(w.count for w in wallets.values()),
            frozen,
            sum(w.available for w in wallets.values()),
            held,
        ]
    )
    head = [t(f"dashboard.wallets.{column}") for column in ("kind", "count", "frozen", "available", "held")]
    summary = t("dashboard.wallets.summary", frozen=frozen, held=held, holds=data.figures.open_holds)
    return _section(t("dashboard.wallets"), f"<p>{_e(summary)}</p>\n{_table(head, rows)}")


def _tickets(data: Dashboard, words: DashboardWords) -> str:
    t = words.t
    count = max(data.figures.open_tickets, len(data.tickets))
    title = t("dashboard.tickets", count=count)
    if not data.tickets:
        return _section(title, f"<p>{_e(t('tickets_none'))}</p>")
    head = [t(f"dashboard.ticket.{column}") for column in ("id", "opened", "who", "balance", "text", "last_job")]
    rows = [
        [
            f"#{ticket.ticket_id}",
            t("dashboard.ticket.opened_at", at=ticket.created_at),
            t("dashboard.ticket.who.value", identity=ticket.identity, person=ticket.person_id),
            ticket.available,
            _Text(ticket.text),
            ticket.last_job or t("ticket_no_job"),
        ]
        for ticket in data.tickets
    ]
    notes = [t("dashboard.tickets.reply")]
    if count > len(data.tickets):
        notes.insert(0, t("dashboard.tickets.more", shown=len(data.tickets), count=count))
    paragraphs = "\n".join(f"<p>{_e(note)}</p>" for note in notes)
    return _section(title, f"{_table(head, rows)}\n{paragraphs}")


class _Text(str):
    """A cell of free text (kept as written: line breaks shown)."""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _section(title: str, content: str) -> str:
    return f"<section>\n<h2>{_e(title)}</h2>\n{content}\n</section>"


def _table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["<table>", "<tr>" + "".join(f"<th>{_e(cell)}</th>" for cell in head) + "</tr>"]
    for row in rows:
        lines.append("<tr>" + "".join(_cell(cell) for cell in row) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, _Text):
        return f'<td class="text">{_e(value)}</td>'
    if isinstance(value, int):
        return f'<td class="n">{_e(value)}</td>'
    return f"<td>{_e(value)}</td>"
