"""The operators' figures in words (`/admin stats`, `python -m bot stats`, the dashboard's cells)."""

from __future__ import annotations

import datetime as dt

from adapters.chat.catalogue import Catalogue
from adapters.chat.economics import ECONOMICS_COLUMNS, EconomicsWords
from adapters.chat.experiments import ExperimentWords
from adapters.chat.words import money_text
from core.domain.economics import Line, LosingPrice
from core.domain.experiments import ArmReport, ExperimentReport
from core.domain.insight import Insight
from core.domain.stats import CurrencyRevenue, StatsReport, WindowReport


class StatsWords:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.economics = EconomicsWords(catalogue)
        self.experiments = ExperimentWords(catalogue)

    def margin_head(self) -> list[str]:
        return [self.t(f"economics.column.{column}") for column in ECONOMICS_COLUMNS]

    def margin_row(self, line: Line) -> list[str]:
        """A unit-economics line as the dashboard's table cells, in `ECONOMICS_COLUMNS` order."""
        figures = self.economics.figures(line.label, line)
        return [str(figures[column]) for column in ECONOMICS_COLUMNS]

    def losing(self, price: LosingPrice) -> str:
        return self.economics.losing(price)

    def experiment_title(self, report: ExperimentReport) -> str:
        return self.experiments.title(report)

    def experiment_head(self) -> list[str]:
        return self.experiments.head()

    def experiment_row(self, arm: ArmReport) -> list[str]:
        return self.experiments.row(arm)

    def t(self, key: str, locale: str | None = None, **data: object) -> str:
        return self.catalogue.text(key, locale, **data)

    def report(self, report: StatsReport, locale: str | None = None) -> str:
        lines = [self.t("stats_header", locale, at=report.at)]
        for window in report.windows:
            name = self.t(f"stats_window.{window.stats.window.name}", locale)
            lines.append(self.t("stats_window", locale, name=name, **self.window_figures(window, locale)))
            lines.extend(self.operation_lines(window, locale))
        return "\n".join(lines)

    def operation_lines(self, report: WindowReport, locale: str | None = None) -> list[str]:
        """A line per operation: jobs, delivered, failed, credits (the dashboard shows the same
        figures from `report.stats.by_operation`)."""
        return [
            self.t(
                "stats_operation",
                locale,
                operation=self.t(f"stats_operation.{o.operation}", locale),
                jobs=o.jobs,
                succeeded=o.succeeded,
                failed=o.failed,
                credits=o.credits,
            )
            for o in report.stats.by_operation
        ]

    def window_figures(self, report: WindowReport, locale: str | None = None) -> dict[str, object]:
        """One window's figures as the `stats_window` words show them (also the operator
        dashboard's cells): new_persons, generations, spent, granted, revenue, conversion,
        first_purchasers, free_base, came_back, came_back_n, ran_out."""
        s = report.stats
        none = self.t("stats_none", locale)
        granted = ", ".join(f"{reason} {total}" for reason, total in sorted(s.granted_by_reason.items())) or none
        revenue = " · ".join(self._revenue(r, locale) for r in report.revenue) or none
        return {
            "new_persons": s.new_persons,
            "generations": s.generations,
            "spent": s.credits_spent,
            "granted": granted,
            "revenue": revenue,
            "conversion": _percent(s.conversion),
            "first_purchasers": s.first_purchasers,
            "free_base": s.free_base,
            "came_back": _percent(s.came_back_share),
            "came_back_n": s.came_back,
            "ran_out": s.ran_out,
        }

    def _revenue(self, revenue: CurrencyRevenue, locale: str | None) -> str:
        packs = ", ".join(
            self.t("stats_revenue_pack", locale, pack=p.pack_id, purchases=p.purchases) for p in revenue.packs
        )
        returned = ""
        if revenue.returned:
            returned = self.t("stats_revenue_returned", locale, money=money_text(revenue.returned, revenue.currency))
        return self.t(
            "stats_revenue",
            locale,
            money=money_text(revenue.amount, revenue.currency),
            packs=packs,
            returned_part=returned,
        )

    # --- the success metrics of a range (the terminal report; the dashboard's lines) -----------

    def money(self, amount: int, currency: str) -> str:
        return money_text(amount, currency)

    def duration(self, span: dt.timedelta | None) -> str:
        if span is None:
            return "–"
        minutes = int(span.total_seconds()) // 60
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"

    def insight_lines(self, figures: Insight, locale: str | None = None) -> dict[str, str]:
        """Each section's line of figures, as both the terminal and the dashboard show them."""
        t = self.t
        none = t("insight.none", locale)
        r = figures.retention
        s = figures.support
        topics = ", ".join(f"{t(f'insight.topic.{topic}', locale)} {n}" for topic, n in s.by_topic) or none
        operations = ", ".join(f"{self._operation(op, locale)} {n}" for op, n in figures.usage) or none
        return {
            "retention": t(
                "insight.retention.line",
                locale,
                ran_out=r.ran_out,
                came_back=r.came_back,
                came_back_share=_percent(r.share(r.came_back)),
                paid=r.paid,
                paid_share=_percent(r.share(r.paid)),
            ),
            "support": t(
                "insight.support.line",
                locale,
                tickets=s.tickets,
                answered=s.answered,
                median=self.duration(s.median_first_reply),
            ),
            "topics": t("insight.support.topics", locale, topics=topics),
            "usage": t("insight.usage.line", locale, operations=operations),
            "providers": self._revenue_by(figures, "provider", locale) or none,
            "packs": self._revenue_by(figures, "pack_id", locale) or none,
        }

    def funnel_steps(self, figures: Insight, locale: str | None = None) -> list[tuple[str, int | None, str]]:
        """(step name, count or None when not recorded, the count in words)."""
        steps: list[tuple[str, int | None, str]] = []
        before: int | None = None
        for step, count in figures.funnel.steps():
            name = self.t(f"insight.funnel.{step}", locale)
            if count is None:
                steps.append((name, None, self.t("insight.funnel.not_recorded", locale)))
                continue
            share = None if before is None or before == 0 else count / before
            words = (
                str(count)
                if before is None
                else self.t("insight.funnel.step", locale, count=count, share=_percent(share))
            )
            steps.append((name, count, words))
            before = count
        return steps

    def insight_report(self, figures: Insight, locale: str | None = None) -> str:
        """`python -m bot stats --days N`: the same figures as the dashboard, as text."""
        t = self.t
        span = figures.range
        lines = self.insight_lines(figures, locale)
        out = [t("insight.header", locale, first=span.first, last=span.last, days=span.days)]
        funnel = " → ".join(f"{name} {words}" for name, _, words in self.funnel_steps(figures, locale))
        out.append(f"{t('insight.funnel', locale)}: {funnel}")
        out.append(f"{t('insight.retention', locale)}: {lines['retention']}")
        out.append(f"{t('insight.support', locale)}: {lines['support']}; {lines['topics']}")
        out.append(f"{t('insight.usage', locale)}: {lines['usage']}")
        out.append(f"{t('insight.revenue.providers', locale)}: {lines['providers']}")
        out.append(f"{t('insight.revenue', locale)}: {lines['packs']}")
        out.append(
            f"{t('insight.daily', locale)}: "
            + " ".join(f"{d.day[5:]}:{d.new_persons}/{d.clips}/{d.tickets}" for d in figures.daily)
            + f"  ({t('insight.series.new_persons', locale)}/{t('insight.series.clips', locale)}/"
            + f"{t('insight.series.tickets', locale)})"
        )
        for row in figures.revenue:
            out.append(f"  {row.day} {row.provider} {row.pack_id} ×{row.orders} {money_text(row.amount, row.currency)}")
        return "\n".join(out)

    def _operation(self, operation: str, locale: str | None) -> str:
        key = f"insight.operation.{operation}"
        return self.t(key, locale) if self.catalogue.has(key) else operation

    def _revenue_by(self, figures: Insight, field: str, locale: str | None) -> str:
        return " · ".join(
            self.t("insight.revenue.item", locale, name=key, money=money_text(amount, currency), orders=orders)
            for key, currency, orders, amount in figures.revenue_by(field)
        )


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"
