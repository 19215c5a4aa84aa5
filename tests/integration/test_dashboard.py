"""GET /dashboard: the bot as `bot.bootstrap` builds it, a delivered clip, queued and canceled
jobs, a Stars purchase, a frozen wallet and support tickets in SQLite and PostgreSQL, read
through the real web server on loopback with HTTP Basic auth; one read, no writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.web import WebServer
from bot.bootstrap import App, build_app
from bot.config import Settings, load_settings, web_enabled, web_public
from core.domain.identity import Identity
from core.domain.jobs import JobState
from tests.audio_samples import A4, C5, hum_clip

TOKEN = "d4shboard-t0ken-for-operators"
ANN = Identity("console", "ann")
BOB = Identity("console", "bob")
CAROL = Identity("console", "carol")
HUM = hum_clip([(A4, 0.75), (C5, 0.75)])


def app_settings(db_url: str, tmp_path: Path, **values: Any) -> Settings:
    return load_settings(
        _env_file=None,
        database_url=db_url,
        data_dir=str(tmp_path),
        intake_processes=0,
        replicate_api_token=None,
        telegram_bot_token=None,
        discord_bot_token=None,
        web_port=0,
        **values,
    )


@dataclass
class Browser:
    app: App
    server: WebServer
    http: aiohttp.ClientSession

    async def get(self, path: str = "/dashboard", password: str | None = TOKEN, **headers: str) -> Page:
        auth = None if password is None else aiohttp.BasicAuth("operator", password)
        async with self.http.get(f"{self.server.base_url}{path}", auth=auth, headers=headers) as response:
            return Page(response.status, dict(response.headers), await response.text())


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    body: str

    def tables(self) -> dict[str, list[list[str]]]:
        """Each section's table as rows of cell texts, by the section's heading."""
        reader = _Tables()
        reader.feed(self.body)
        return reader.tables

    def paragraphs(self) -> list[str]:
        reader = _Tables()
        reader.feed(self.body)
        return reader.paragraphs


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.paragraphs: list[str] = []
        self.heading = ""
        self.text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables[self.heading] = []
        elif tag == "tr":
            self.tables[self.heading].append([])
        elif tag in ("h2", "td", "th", "p"):
            self.text = []

    def handle_endtag(self, tag: str) -> None:
        if self.text is None:
            return
        text = "".join(self.text)
        if tag == "h2":
            self.heading = text
        elif tag in ("td", "th"):
            self.tables[self.heading][-1].append(text)
        elif tag == "p":
            self.paragraphs.append(text)
        self.text = None

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)


@pytest.fixture
async def browser(db_url: str, tmp_path: Path) -> AsyncIterator[Browser]:
    app = await build_app(app_settings(db_url, tmp_path, dashboard_token=TOKEN))
    try:
        async with WebServer(app.web_hooks, "127.0.0.1", 0) as server, aiohttp.ClientSession() as http:
            yield Browser(app, server, http)
    finally:
        await app.close()


async def deliver_one_clip(app: App, identity: Identity) -> str:
    """A real job through the local synthesizer, delivered (by the console platform the app
    registers, into DATA_DIR/clips) and charged; the workers stop after."""
    await app.generation.start()
    try:
        accepted = await app.generation.submit(
            identity, HUM, "piano", 5, platform="console", reply_to={}, request_id="j0"
        )
        for _ in range(400):
            view = await app.generation.job(accepted.job_id)
            if view is not None and view.job.state.finished:
                break
            await asyncio.sleep(0.05)
        assert view is not None and view.job.state == JobState.SUCCEEDED
    finally:
        await app.generation.stop(0)
    return accepted.job_id


async def test_operators_see_the_day_jobs_wallets_and_tickets_as_the_database_holds_them(browser: Browser):
    app = browser.app
    await deliver_one_clip(app, ANN)  # 1 credit captured
    # Then two jobs stay queued (the workers are stopped): their credits are held.
    await app.generation.submit(ANN, HUM, "piano", 10, platform="console", reply_to={}, request_id="j1")
    await app.generation.submit(ANN, HUM, "piano", 5, platform="console", reply_to={}, request_id="j2")
    bobs = await app.generation.submit(BOB, HUM, "guitar", 10, platform="console", reply_to={}, request_id="j3")
    await app.generation.cancel(BOB, bobs.job_id)
    # A Telegram Stars purchase (starter: 100 credits for 250 Stars).
    invoice = await app.payments.stars_invoice(ANN, "starter", request_id="i1")
    await app.payments.stars_paid(invoice.payload, "charge-1", invoice.amount, ANN)
    # Carol's wallet is frozen (as a dispute leaves it).
    carol = await app.wallets.person(CAROL)
    await app.ledger.set_frozen(carol.wallet_id, True)
    # Two tickets: Bob's first.
    await app.rewards.support.open_ticket(BOB, "where is my clip?")
    await app.rewards.support.open_ticket(ANN, "thanks!\nall good")

    page = await browser.get()

    assert page.status == 200, page.body
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'none': no script
    tables = page.tables()
    usage = {row[0]: row[1:] for row in tables["Usage"]}
    assert usage[""] == ["today", "last 7 days", "last 30 days"]
    assert usage["New persons"] == ["3", "3", "3"]
    assert usage["Generations"] == ["1", "1", "1"]
    assert usage["Credits spent"] == ["1", "1", "1"]
    assert usage["Credits granted"] == ["purchase 100, welcome 30"] * 3
    assert usage["Revenue"] == ["XTR 250 ⭐ (starter ×1)"] * 3
    assert usage["Free → paid"] == ["33% (1/3)"] * 3

    jobs = {state: int(count) for state, count in tables["Jobs right now"][1:]}
    assert jobs == {
        "queued": 2,
        "starting": 0,
        "generating": 0,
        "uploading": 0,
        "done": 1,
        "failed": 0,
        "canceled": 1,
        "timed out": 0,
    }
    assert any(p.startswith("The oldest queued job has waited 0 min ") for p in page.paragraphs())

    wallets = {row[0]: row[1:] for row in tables["Wallets"]}
    assert wallets["Wallets of"] == ["Wallets", "Frozen", "Credits available", "Credits held"]
    # Ann: 10 welcome − 1 spent + 100 bought − 3 held; Bob 10 (his hold released); Carol 10.
    assert wallets["persons"] == ["3", "1", str(106 + 10 + 10), "3"]
    assert wallets["servers"] == ["0", "0", "0", "0"]
    assert "Frozen wallets: 1 · credits held: 3 · open holds: 2" in page.paragraphs()

    tickets = tables["Open support tickets (2)"]
    assert tickets[0] == ["Ticket", "Opened", "From", "Credits then", "Text", "Last job"]
    assert [row[0] for row in tickets[1:]] == ["#1", "#2"]  # oldest first
    first, second = tickets[1], tickets[2]
    assert first[2:5] == ["console:bob (person 2)", "10", "where is my clip?"]
    assert bobs.job_id in first[5] and "canceled" in first[5]
    assert second[4] == "thanks!\nall good" and "succeeded" not in second[5]
    assert second[3] == "106"  # Ann's balance when she wrote
    assert await app.ledger.audit() == []


async def test_a_page_load_is_one_read_and_writes_nothing(browser: Browser, monkeypatch: pytest.MonkeyPatch):
    app = browser.app
    await app.generation.submit(ANN, HUM, "piano", 10, platform="console", reply_to={}, request_id="j1")
    await app.rewards.support.open_ticket(ANN, "hello")
    database = app.database
    reads: list[object] = []
    real_read = database.read

    async def counted(work: Any) -> Any:
        reads.append(work)
        return await real_read(work)

    monkeypatch.setattr(database, "read", counted)
    monkeypatch.setattr(database, "read_point", counted)
    writes = database.operations

    page = await browser.get()

    assert page.status == 200, page.body
    assert len(reads) == 1
    assert database.operations == writes  # a page load writes nothing


async def test_a_ticket_text_is_shown_as_text_never_as_markup(browser: Browser):
    app = browser.app
    text = '<script>alert("hi")</script> & <img src=x onerror=alert(1)> "quoted"'
    await app.rewards.support.open_ticket(Identity("console", "<b>mallory</b>"), text)

    page = await browser.get()

    assert page.status == 200
    assert "<script" not in page.body and "<img" not in page.body and "<b>" not in page.body
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt; &amp; &lt;img" in page.body
    row = page.tables()["Open support tickets (1)"][1]
    assert row[4] == text  # the operator reads exactly what was written
    assert row[2].startswith("console:<b>mallory</b>")


async def test_without_the_password_the_page_asks_for_it_and_shows_nothing(browser: Browser):
    await browser.app.rewards.support.open_ticket(ANN, "a secret problem")
    for password in (None, "wrong", TOKEN + "x", ""):
        page = await browser.get(password=password)
        assert page.status == 401, password
        assert page.headers["WWW-Authenticate"].startswith('Basic realm="operators"')
        assert "secret" not in page.body and "Operator" not in page.body
    for header in (f"Bearer {TOKEN}", "Basic not-base64!", f"Basic {TOKEN}"):
        page = await browser.get(password=None, Authorization=header)
        assert page.status == 401, header
    page = await browser.get(password=TOKEN)
    assert page.status == 200 and "a secret problem" in page.body


async def test_a_closed_database_is_a_short_503(browser: Browser):
    await browser.app.database.close()  # the database goes away

    page = await browser.get()

    assert page.status == 503
    assert page.body == "The database is not answering. Try again in a minute."
    assert "Traceback" not in page.body


async def test_without_a_dashboard_token_there_is_no_dashboard(db_url: str, tmp_path: Path):
    app = await build_app(app_settings(db_url, tmp_path))
    try:
        assert app.web_hooks.dashboard is not None and app.web_hooks.dashboard_token is None
        async with WebServer(app.web_hooks, "127.0.0.1", 0) as server, aiohttp.ClientSession() as http:
            browser = Browser(app, server, http)
            page = await browser.get()
            unknown = await browser.get("/nowhere")
    finally:
        await app.close()
    assert page.status == 404
    assert (page.status, page.body) == (unknown.status, unknown.body)  # like any unknown path
    assert "WWW-Authenticate" not in page.headers


def test_an_operator_token_alone_starts_the_web_server_but_makes_no_public_links():
    def settings(**values: object) -> Settings:
        return Settings(_env_file=None, **values)  # type: ignore[arg-type]

    assert not web_enabled(settings())
    for values in ({"dashboard_token": TOKEN}, {"metrics_token": TOKEN}):
        assert web_enabled(settings(**values)), values
        assert not web_public(settings(**values)), values  # no clip links to a private server
    assert web_public(settings(public_base_url="https://bot.example"))


async def test_the_bot_serves_the_dashboard_with_only_its_token_set(sqlite_url: str, tmp_path: Path):
    settings = app_settings(sqlite_url, tmp_path, dashboard_token=TOKEN)
    assert settings.dashboard_token is not None and TOKEN not in repr(settings)
    app = await build_app(settings)
    server = app.web
    assert server is not None
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            browser = Browser(app, server, http)
            assert (await browser.get(password="nope")).status == 401
            page = await browser.get()
            assert page.status == 200 and "Operator dashboard" in page.body
            assert "No open tickets." in page.paragraphs()
            assert "No job is queued." in page.paragraphs()
    finally:
        await server.stop()
        await app.close()
