"""Pricing experiments in words: the operators' report (`/admin experiment report`, `python -m bot
experiment report`, the dashboard's section) and the refusal of a bad definition."""

from __future__ import annotations

from adapters.chat.catalogue import Catalogue
from adapters.chat.words import money_text
from core.domain.experiments import ArmReport, Experiment, ExperimentReport
from core.errors import InvalidExperiment

TABLE_COLUMNS = ("arm", "weight", "people", "views", "clicks", "payers", "conversion", "revenue", "p")


class ExperimentWords:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def t(self, key: str, locale: str | None = None, **data: object) -> str:
        return self.catalogue.text(key, locale, **data)

    def started(self, experiment: Experiment, locale: str | None = None) -> str:
        arms = ", ".join(f"{arm.name} ({arm.weight})" for arm in experiment.arms)
        return self.t(
            "experiment_started",
            locale,
            experiment=experiment.experiment_id,
            count=len(experiment.arms),
            arms=arms,
        )

    def stopped(self, experiment_id: str, locale: str | None = None) -> str:
        return self.t("experiment_stopped", locale, experiment=experiment_id)

    def refusal(self, error: InvalidExperiment, locale: str | None = None) -> str:
        problem = self.t(f"experiment_problem.{error.problem}", locale, detail=error.detail)
        return self.t("experiment_refused", locale, problem=problem)

    def report(self, report: ExperimentReport, locale: str | None = None) -> str:
        lines = [self.title(report, locale)]
        lines += [self.t("experiment_arm", locale, **self.arm_figures(arm, locale)) for arm in report.arms]
        return "\n".join(lines)

    def title(self, report: ExperimentReport, locale: str | None = None) -> str:
        """ "Experiment dec, running since …" (or when it ran)."""
        if report.stopped_at is None:
            state = self.t("experiment_running_since", locale, start=report.started_at)
        else:
            state = self.t("experiment_ran", locale, start=report.started_at, stop=report.stopped_at)
        return self.t("experiment_header", locale, experiment=report.experiment_id, state=state)

    def head(self, locale: str | None = None) -> list[str]:
        """The dashboard table's column names, in `TABLE_COLUMNS` order."""
        return [self.t(f"dashboard.experiment.{column}", locale) for column in TABLE_COLUMNS]

    def row(self, arm: ArmReport, locale: str | None = None) -> list[str]:
        """One arm as the dashboard table's cells, in `TABLE_COLUMNS` order."""
        figures = self.arm_figures(arm, locale)
        figures["arm"] = f"{figures['arm']}{figures['control_part']}"
        return [str(figures[column]) for column in TABLE_COLUMNS]

    def arm_figures(self, arm: ArmReport, locale: str | None = None) -> dict[str, object]:
        """One arm's figures as `experiment_arm` shows them (also the dashboard's cells)."""
        c = arm.counts
        revenue = " · ".join(money_text(round(per), currency) for currency, per in arm.revenue_per_person)
        confidence = "" if arm.p_value is None else self.t("experiment_confidence", locale, p=f"{arm.p_value:.3f}")
        return {
            "arm": c.arm,
            "control_part": self.t("experiment_control", locale) if arm.control else "",
            "weight": arm.weight,
            "people": c.people,
            "views": c.views,
            "clicks": c.clicks,
            "payers": c.payers,
            "conversion": f"{arm.conversion * 100:.1f}%",
            "revenue": revenue or self.t("experiment_no_revenue", locale),
            "confidence_part": confidence,
            "p": "" if arm.p_value is None else f"{arm.p_value:.3f}",
        }
