"""Pricing experiments and the offer events: which packs a wallet is offered, what it was shown,
chose and paid, and the per-arm report.

- `terms_for(wallet)`: the running experiment's arm for that wallet (one indexed read), else the
  default packs. Orders copy the terms they were made under, so a payment after the experiment
  stopped still grants what was sold.
- `record(...)`: one 'shown' or 'clicked' event (for everyone, experiment or not); a failure to
  record is logged and never stops a sale. 'paid' is written with the grant (`PaymentStore`).
- `start` / `stop` / `report`: the operators' (`/admin experiment`, `python -m bot experiment`).
"""

from __future__ import annotations

import datetime as dt
import logging

from core.domain.experiments import (
    Experiment,
    ExperimentReport,
    OfferEvent,
    OfferEventKind,
    Terms,
    card_currency,
    definition_text,
    experiment_report,
    parse_experiment,
    stored_experiment,
)
from core.domain.identity import Identity
from core.domain.pricing import PackTable
from core.domain.rules import CreditRules
from core.errors import NoExperiment, NotPermitted
from core.ports import Clock, OfferStore

logger = logging.getLogger(__name__)


class ExperimentService:
    def __init__(self, store: OfferStore, rules: CreditRules, clock: Clock, *, stars_packs: PackTable) -> None:
        self.store = store
        self.rules = rules
        self.clock = clock
        self.default = Terms(rules.packs, stars_packs)
        self.currency = card_currency(rules.packs)
        self._parsed_last: tuple[str, Experiment] | None = None  # the running one, read per offer

    # --- what a wallet is offered -----------------------------------------------------------

    async def terms_for(self, wallet_id: int | None) -> Terms:
        """The packs `wallet_id` is offered now (None: a wallet outside experiments, e.g. a
        group's: the default packs)."""
        if wallet_id is None:
            return self.default
        running = await self.running()
        if running is None:
            return self.default
        arm = running.arm_of(wallet_id)
        return Terms(arm.packs, arm.stars, running.experiment_id, arm.name)

    async def running(self) -> Experiment | None:
        found = await self.store.running_definition()
        if found is None:
            return None
        definition, started = found
        if self._parsed_last is None or self._parsed_last[0] != definition:
            self._parsed_last = (definition, self._parsed(definition, started, None))
        return self._parsed_last[1]

    async def record(self, kind: OfferEventKind, wallet_id: int, terms: Terms, pack_id: str | None = None) -> None:
        """Note that `wallet_id` was shown packs or chose `pack_id` under `terms`. Best effort:
        the sale matters more than its statistics."""
        event = OfferEvent(wallet_id, kind, self.clock.now(), pack_id, terms.experiment_id, terms.arm)
        try:
            await self.store.record_event(event)
        except Exception:  # noqa: BLE001
            logger.exception("offer event %s of wallet %s not recorded", kind.value, wallet_id)

    async def shown_to(self, wallet_id: int) -> Terms:
        """The wallet's terms, recorded as shown."""
        terms = await self.terms_for(wallet_id)
        await self.record(OfferEventKind.SHOWN, wallet_id, terms)
        return terms

    # --- the operators' ----------------------------------------------------------------------

    async def start(self, actor: Identity | None, words: list[str]) -> Experiment:
        """Start the experiment the words define (`core.domain.experiments.parse_experiment`).
        Refused with nothing stored: a bad definition, another running, an id used before."""
        self._operator(actor)
        experiment = parse_experiment(words, currency=self.currency, now=self.clock.now())
        await self.store.start_experiment(experiment, definition_text(experiment))
        logger.info("experiment %s started by %s", experiment.experiment_id, actor.key if actor else "the cli")
        return experiment

    async def stop(self, actor: Identity | None) -> str:
        """Stop the running experiment: everyone is offered the default packs again; orders
        made under an arm are still paid out on that arm's terms."""
        self._operator(actor)
        stopped = await self.store.stop_experiment(now=self.clock.now())
        if stopped is None:
            raise NoExperiment()
        logger.info("experiment %s stopped by %s", stopped, actor.key if actor else "the cli")
        return stopped

    async def report(self, actor: Identity | None, experiment_id: str | None = None) -> ExperimentReport:
        """Per arm: people, views, payers, conversion, revenue per person, p-value against the
        control. Without an id: the running experiment, else the latest."""
        self._operator(actor)
        wanted = experiment_id.strip().lower() if experiment_id else None
        found = await self.store.experiment(wanted)
        if found is None:
            raise NoExperiment()
        definition, started, stopped = found
        experiment = self._parsed(definition, started, stopped)
        return experiment_report(experiment, await self.store.arm_counts(experiment.experiment_id))

    def _parsed(self, definition: str, started: dt.datetime, stopped: dt.datetime | None) -> Experiment:
        return stored_experiment(definition, started, stopped, currency=self.currency)

    def _operator(self, actor: Identity | None) -> None:
        if actor is not None and not self.rules.is_operator(actor.key):
            raise NotPermitted("operator")
