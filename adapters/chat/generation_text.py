"""Generation results as words (the same on every platform): the quote before a job, its
progress, the charge after it, the failure that says the credits were not charged, /jobs."""

from __future__ import annotations

from adapters.chat.catalogue import plural
from adapters.chat.render import Renderer
from core.domain.jobs import Job, JobProgress, JobState, JobView, Stage
from core.domain.ledger import Balance
from core.domain.offers import Offer
from core.errors import BotError
from core.services.generation import Accepted, Canceled, Quote


class GenerationText:
    def __init__(self, render: Renderer) -> None:
        self.render = render

    def quote(self, quote: Quote, locale: str | None = None) -> str:
        """'10 s clip: 2 credits · you have 7'."""
        return self.render.t(
            "gen_quote",
            locale,
            seconds=quote.seconds,
            cost=quote.cost,
            plural=plural(quote.cost),
            available=quote.available,
        )

    def accepted(self, accepted: Accepted, locale: str | None = None) -> str:
        job = accepted.job
        if accepted.duplicate:
            return self.render.t("gen_duplicate", locale, job_id=job.job_id)
        text = self.render.t(
            "gen_accepted",
            locale,
            job_id=job.job_id,
            cost=accepted.cost,
            plural=plural(accepted.cost),
            available=max(accepted.balance.available, 0),
        )
        if accepted.queue_position is not None and accepted.queue_position > 1:
            text += " " + self.render.t(
                "gen_accepted_queued", locale, job_id=job.job_id, position=accepted.queue_position
            )
        return text

    def progress(self, job: Job, progress: JobProgress, locale: str | None = None) -> str:
        if progress.stage == Stage.QUEUED:
            eta = ""
            if progress.eta_seconds is not None:
                eta = self.render.t("gen_eta_part", locale, minutes=max(1, round(progress.eta_seconds / 60)))
            return self.render.t("gen_progress.queued", locale, position=progress.position or 1, eta_part=eta)
        return self.render.t(f"gen_progress.{progress.stage.value}", locale, seconds=job.seconds, style=job.style)

    def charged(self, charged: int, balance: Balance, offer: Offer | None, locale: str | None = None) -> str:
        """'−2 credits · 5 left', and the offer when the balance is low."""
        available = max(balance.available, 0)
        if charged:
            text = self.render.t("gen_charged", locale, charged=charged, plural=plural(charged), available=available)
        else:
            text = self.render.t("gen_charged_nothing", locale, available=available)
        if offer is not None:
            text += "\n" + self.render.offer(offer, locale)
        return text

    def failed(self, job: Job, error: BotError, locale: str | None = None) -> str:
        """What went wrong, in plain words, and that the credits were not charged."""
        return f"{self.render.catalogue.error(error, locale)} {self.not_charged(job.cost, locale)}"

    def not_charged(self, cost: int, locale: str | None = None) -> str:
        return self.render.t("gen_not_charged_one" if cost == 1 else "gen_not_charged", locale, cost=cost)

    def canceled(self, canceled: Canceled, locale: str | None = None) -> str:
        job = canceled.job
        head = self.render.t("gen_canceled", locale, job_id=job.job_id)
        return f"{head} {self.not_charged(job.cost, locale)}"

    def jobs(self, views: list[JobView], locale: str | None = None, *, header: str = "jobs_header") -> str:
        """One line per job with its state and what it costs ("2 credits held", "−2 credits",
        "not charged"); `header` is the catalogue key of the first line (`recent_jobs` for
        /history)."""
        if not views:
            return self.render.t("jobs_empty", locale)
        lines = [self.render.t(header, locale)]
        for view in views:
            job = view.job
            state = self.render.t(f"job_state.{job.state.value}", locale)
            if view.position is not None:
                state += self.render.t("jobs_position_part", locale, position=view.position)
            lines.append(
                self.render.t(
                    "jobs_line",
                    locale,
                    job_id=job.job_id,
                    seconds=job.seconds,
                    style=job.style,
                    state=state,
                    charge=self.job_charge(job, locale),
                )
            )
        return "\n".join(lines)

    def job_charge(self, job: Job, locale: str | None = None) -> str:
        """What a job costs the person: held while it runs, charged once delivered, else nothing."""
        if not job.state.finished:
            key = "job_charge.held"
        elif job.state == JobState.SUCCEEDED:
            key = "job_charge.charged"
        else:
            key = "job_charge.not_charged"
        return self.render.t(key, locale, cost=job.cost, plural=plural(job.cost))
