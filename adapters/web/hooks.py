"""What the web server calls into, injected by the composition root.

Every field is read at request time, so a hook can be plugged in after the server has started
(the Telegram and generation adapters set theirs when they are built). A hook that is not set
answers 404 (503 for Stripe, so Stripe keeps retrying until payments are configured).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from core.domain.economics import Line, LosingPrice, MarginReport
from core.domain.experiments import ArmReport, ExperimentReport
from core.domain.insight import DayRange, Insight
from core.domain.orders import PaymentResult
from core.domain.payments import PaymentEvent
from core.domain.stats import StatsReport, WindowReport
from core.domain.support import Ticket

# A raw webhook: the exact body bytes and the request headers (case-insensitive mapping).
# Raise `core.errors.InvalidWebhook` for an untrusted request (→ 400); any other exception
# → 500, so the sender retries.
RawWebhook = Callable[[bytes, Mapping[str, str]], Awaitable[None]]


class WalletFigures(Protocol):
    @property
    def count(self) -> int: ...
    @property
    def frozen(self) -> int: ...
    @property
    def available(self) -> int: ...
    @property
    def held(self) -> int: ...


class Figures(Protocol):
    """What `GET /metrics` shows from the database, read at scrape time (the storage adapter's
    `DatabaseFigures` has this shape)."""

    @property
    def jobs(self) -> Mapping[str, int]: ...  # job state → jobs
    @property
    def oldest_queued_seconds(self) -> float: ...
    @property
    def orders(self) -> Mapping[tuple[str, str], int]: ...  # (channel, state) → orders
    @property
    def wallets(self) -> Mapping[str, WalletFigures]: ...  # person | server
    @property
    def open_holds(self) -> int: ...
    @property
    def open_tickets(self) -> int: ...


@dataclass(frozen=True)
class Dashboard:
    """What `GET /dashboard` shows, from one read: the stats report (today, 7 and 30 days), the
    figures of `GET /metrics` (jobs, queue wait, wallets, open tickets), the oldest open
    support tickets, oldest first, and the success metrics of the range asked."""

    report: StatsReport
    figures: Figures
    tickets: Sequence[Ticket]
    insight: Insight
    margin: MarginReport | None = None  # the unit economics of the same range
    losing: Sequence[LosingPrice] = ()
    experiment: ExperimentReport | None = None  # the running pricing experiment, else the latest


class DashboardWords(Protocol):
    """The dashboard's words, from the message catalogue (adapters/chat's `RewardRenderer`
    has this shape)."""

    def t(self, key: str, locale: str | None = None, **data: object) -> str: ...

    def window_figures(self, report: WindowReport, locale: str | None = None) -> Mapping[str, object]: ...

    def money(self, amount: int, currency: str) -> str: ...

    def duration(self, span: dt.timedelta | None) -> str: ...

    def insight_lines(self, figures: Insight, locale: str | None = None) -> Mapping[str, str]: ...

    def funnel_steps(self, figures: Insight, locale: str | None = None) -> Sequence[tuple[str, int | None, str]]: ...

    def margin_head(self) -> Sequence[str]: ...

    def margin_row(self, line: Line) -> Sequence[str]: ...

    def losing(self, price: LosingPrice) -> str: ...

    def experiment_title(self, report: ExperimentReport) -> str: ...

    def experiment_head(self) -> Sequence[str]: ...

    def experiment_row(self, arm: ArmReport) -> Sequence[str]: ...


@dataclass
class WebHooks:
    health: Callable[[], Awaitable[bool]]  # True when the database answers
    text: Callable[[str, str | None], str]  # catalogue lookup for the pages' words: (key, locale)
    # Stripe: verify + translate (sync, raises InvalidWebhook / PaymentsNotConfigured), then act.
    parse_stripe: Callable[[bytes, str | None], PaymentEvent] | None = None
    on_stripe_event: Callable[[PaymentEvent], Awaitable[PaymentResult]] | None = None
    on_replicate_webhook: RawWebhook | None = None
    on_telegram_update: RawWebhook | None = None
    # Checked against X-Telegram-Bot-Api-Secret-Token when set (it should be, in production).
    telegram_secret: str | None = None
    # GET /clips/<name> serves clips too big to upload to a chat, while their
    # link is valid: (bytes, content type), or None → 404.
    clip: Callable[[str], Awaitable[tuple[bytes, str] | None]] | None = None
    # GET /metrics: the database's figures (one read), and the bearer token it needs when set.
    metrics: Callable[[], Awaitable[Figures]] | None = None
    metrics_token: str | None = None
    # GET /dashboard: the operators' page for a range of days (one read), its words, and the
    # password HTTP Basic auth asks for. While `dashboard_token` is unset the page does not exist
    # (404). `today` is the UTC date the range picker counts from.
    dashboard: Callable[[DayRange], Awaitable[Dashboard]] | None = None
    dashboard_words: DashboardWords | None = None
    dashboard_token: str | None = None
    today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date()
