"""Unit economics in words for operators (`python -m bot economics`, the start-up warning, the
dashboard's section): one row per operation, pack and provider, and the losing prices."""

from __future__ import annotations

from adapters.chat.catalogue import Catalogue
from core.domain.economics import Line, LosingPrice, MarginReport, money_text

# The figures of a line, in the order the dashboard's table shows them.
ECONOMICS_COLUMNS = ("label", "jobs", "credits", "cost", "revenue", "margin", "free_share", "break_even")


class EconomicsWords:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def t(self, key: str, locale: str | None = None, **data: object) -> str:
        return self.catalogue.text(key, locale, **data)

    def report(self, report: MarginReport, losing: list[LosingPrice], locale: str | None = None) -> str:
        lines = [self.t("economics.header", locale, start=report.start, end=report.end)]
        for section, rows in (
            ("operation", report.by_operation),
            ("pack", report.by_pack),
            ("provider", report.by_provider),
        ):
            lines.append(self.t(f"economics.by_{section}", locale))
            lines.extend(self.row(line.label, line, locale) for line in rows)
            if not rows:
                lines.append("  " + self.t("stats_none", locale))
        lines.append(self.t("economics.overall", locale))
        lines.append(self.row(report.overall.label, report.overall, locale))
        lines.extend(self.losing(price, locale) for price in losing)
        return "\n".join(lines)

    def row(self, label: str, line: Line, locale: str | None = None) -> str:
        return self.t("economics.row", locale, **self.figures(label, line))

    @staticmethod
    def figures(label: str, line: Line) -> dict[str, object]:
        """One line's figures as the report and the dashboard's table show them."""
        share = "–" if line.free_cost_share is None else f"{line.free_cost_share:.0%}"
        even = line.break_even_per_credit
        return {
            "label": label,
            "jobs": line.jobs,
            "credits": line.credits,
            "cost": money_text(line.cost),
            "revenue": money_text(line.revenue),
            "margin": money_text(line.margin),
            "free_share": share,
            "break_even": "–" if even is None else money_text(even),
        }

    def losing(self, price: LosingPrice, locale: str | None = None) -> str:
        return self.t(
            "economics.losing",
            locale,
            operation=price.operation,
            credits=price.credits,
            cost=money_text(price.average_cost_micros),
            revenue=money_text(price.revenue_micros),
            loss=money_text(price.loss_micros),
            pack=price.cheapest_pack,
            break_even=money_text(price.break_even_per_credit_micros),
        )
