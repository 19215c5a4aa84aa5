"""The operators' figures in words (`/admin stats`, `python -m bot stats`, the dashboard's cells)."""

from __future__ import annotations

from adapters.chat.catalogue import Catalogue
from adapters.chat.words import money_text
from core.domain.stats import CurrencyRevenue, StatsReport, WindowReport


class StatsWords:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

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


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"
