"""Texts Telegram composes from several results (each part comes from the shared renderers)."""

from __future__ import annotations

import datetime as dt

from adapters.chat.render import when_text
from adapters.telegram.deps import Deps
from core.domain.jobs import JobView
from core.services.wallets import BalanceView


def balance_text(
    deps: Deps,
    view: BalanceView,
    jobs: list[JobView],
    next_daily: dt.datetime | None,
    locale: str | None,
) -> str:
    """/balance: the wallet, when the next daily credit is due, and the jobs running."""
    lines = [deps.render.balance(view, locale)]
    if next_daily is not None:
        due_now = next_daily <= deps.services.clock.now()  # the rewards service says "now" so
        when = deps.t("tg.now", locale) if due_now else when_text(next_daily)
        lines.append(deps.t("tg.next_daily", locale, when=when))
    if jobs:
        lines.append(deps.generation_text.jobs(jobs, locale))
    return "\n".join(lines)
