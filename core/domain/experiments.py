"""Pricing experiments: arms of packs, a stable arm per wallet, and the per-arm report.

An operator defines an experiment as arms, each a list of packs (credits and a card price, and a
Stars price where Stars are sold) with a weight. A wallet's arm is a hash of the experiment id
and the wallet id: the same on every platform the person linked (they share the wallet), in
every process and after every restart, with nothing stored. The first arm is the control.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import math
import re
from dataclasses import dataclass

from core.domain.orders import STARS_CURRENCY
from core.domain.pricing import Pack, PackTable
from core.errors import InvalidExperiment

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")  # fits a button's data and a column
MAX_DEFINITION = 4000  # characters of `definition_text`, as stored


class OfferEventKind(enum.StrEnum):
    SHOWN = "shown"  # packs were shown (an offer, /buy)
    CLICKED = "clicked"  # a pack was chosen: an order was opened
    PAID = "paid"  # a pack's payment was granted


@dataclass(frozen=True)
class Arm:
    name: str
    weight: int
    packs: PackTable  # card prices (cents)
    stars: PackTable  # Stars prices (empty: this arm sells no Stars packs)


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    arms: tuple[Arm, ...]
    started_at: dt.datetime
    stopped_at: dt.datetime | None = None

    @property
    def control(self) -> Arm:
        return self.arms[0]

    @property
    def running(self) -> bool:
        return self.stopped_at is None

    def arm(self, name: str) -> Arm | None:
        return next((arm for arm in self.arms if arm.name == name), None)

    def arm_of(self, wallet_id: int) -> Arm:
        """The wallet's arm: weighted, deterministic (a hash of the experiment and the wallet)."""
        digest = hashlib.sha256(f"{self.experiment_id}:{wallet_id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") % sum(arm.weight for arm in self.arms)
        for arm in self.arms:
            if point < arm.weight:
                return arm
            point -= arm.weight
        raise AssertionError("weights are positive")  # pragma: no cover


@dataclass(frozen=True)
class Terms:
    """The packs a wallet is offered now: the default tables, or its arm's."""

    packs: PackTable
    stars: PackTable
    experiment_id: str | None = None
    arm: str | None = None


@dataclass(frozen=True)
class OfferEvent:
    wallet_id: int
    kind: OfferEventKind
    at: dt.datetime
    pack_id: str | None = None
    experiment_id: str | None = None
    arm: str | None = None
    order_id: str | None = None  # a payment's order (one 'paid' per order)
    amount: int | None = None  # a payment's money, minor units
    currency: str | None = None


# --- the definition ----------------------------------------------------------------------------


def parse_experiment(words: list[str], *, currency: str, now: dt.datetime) -> Experiment:
    """`<id> <arm>[:<weight>]=<pack>:<credits>:<price>[:<stars>],... <arm>...` (the first arm is
    the control), e.g. `dec control=starter:100:500 big:2=starter:150:500:250`. Raises
    `InvalidExperiment` with what is wrong; nothing is half-read."""
    if not words:
        raise InvalidExperiment("no_id", "")
    experiment_id, specs = words[0].strip().lower(), words[1:]
    if not NAME.match(experiment_id):
        raise InvalidExperiment("bad_name", experiment_id)
    if not specs:
        raise InvalidExperiment("no_arms", experiment_id)
    arms = tuple(_arm(spec, currency) for spec in specs)
    names = [arm.name for arm in arms]
    duplicate = next((name for name in names if names.count(name) > 1), None)
    if duplicate is not None:
        raise InvalidExperiment("duplicate_arm", duplicate)
    experiment = Experiment(experiment_id, arms, now)
    if len(definition_text(experiment)) > MAX_DEFINITION:
        raise InvalidExperiment("too_long", str(MAX_DEFINITION))
    return experiment


def stored_experiment(
    definition: str, started_at: dt.datetime, stopped_at: dt.datetime | None, *, currency: str
) -> Experiment:
    """An experiment as stored: its `definition_text` and when it started (and stopped)."""
    experiment = parse_experiment(definition.split(), currency=currency, now=started_at)
    return Experiment(experiment.experiment_id, experiment.arms, started_at, stopped_at)


def card_currency(packs: PackTable) -> str:
    """The currency an experiment's card prices are in: the default packs'."""
    return packs.packs[0].currency if packs.packs else "usd"


def _arm(spec: str, currency: str) -> Arm:
    head, sep, body = spec.strip().partition("=")
    if not sep or not body:
        raise InvalidExperiment("malformed", spec)
    name, _, weight_text = head.strip().lower().partition(":")
    if not NAME.match(name):
        raise InvalidExperiment("bad_name", name)
    weight = _number(weight_text or "1", spec)
    if weight <= 0:
        raise InvalidExperiment("bad_weight", spec)
    cards: list[Pack] = []
    stars: list[Pack] = []
    for item in body.split(","):
        parts = [part.strip() for part in item.split(":")]
        if len(parts) not in (3, 4) or not NAME.match(parts[0].lower()):
            raise InvalidExperiment("malformed", item)
        pack_id = parts[0].lower()
        credits, price = _number(parts[1], item), _number(parts[2], item)
        star_price = _number(parts[3], item) if len(parts) == 4 else None
        if credits <= 0:
            raise InvalidExperiment("bad_credits", item)
        if price <= 0 or (star_price is not None and star_price <= 0):
            raise InvalidExperiment("bad_price", item)
        if any(pack.pack_id == pack_id for pack in cards):
            raise InvalidExperiment("duplicate_pack", item)
        cards.append(Pack(pack_id, credits, price, currency))
        if star_price is not None:
            stars.append(Pack(pack_id, credits, star_price, STARS_CURRENCY))
    return Arm(name, weight, PackTable(tuple(cards)), PackTable(tuple(stars)))


def _number(text: str, where: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidExperiment("malformed", where) from None


def definition_text(experiment: Experiment) -> str:
    """The definition as `parse_experiment` reads it (stored, and shown to operators)."""
    return " ".join([experiment.experiment_id, *(_arm_text(arm) for arm in experiment.arms)])


def _arm_text(arm: Arm) -> str:
    stars = {pack.pack_id: pack.price for pack in arm.stars.packs}
    items = [
        ":".join(str(v) for v in (p.pack_id, p.credits, p.price, *([stars[p.pack_id]] if p.pack_id in stars else [])))
        for p in arm.packs.packs
    ]
    return f"{arm.name}:{arm.weight}=" + ",".join(items)


# --- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArmCounts:
    """What the recorded offer events say of one arm (the storage query's row)."""

    arm: str
    people: int  # wallets with any event under the arm
    views: int  # 'shown' events
    clicks: int  # 'clicked' events
    payers: int  # wallets with a 'paid' event
    revenue: tuple[tuple[str, int], ...] = ()  # (currency, minor units), from 'paid' events


@dataclass(frozen=True)
class ArmReport:
    counts: ArmCounts
    weight: int
    control: bool
    conversion: float  # payers / people
    revenue_per_person: tuple[tuple[str, float], ...]  # (currency, minor units per person)
    p_value: float | None  # against the control (two-sided two-proportion z-test); None for it


@dataclass(frozen=True)
class ExperimentReport:
    experiment_id: str
    started_at: dt.datetime
    stopped_at: dt.datetime | None
    arms: tuple[ArmReport, ...]


def experiment_report(experiment: Experiment, counts: list[ArmCounts]) -> ExperimentReport:
    """Each arm's figures in the definition's order (an arm nobody reached shows zeros)."""
    found = {c.arm: c for c in counts}
    control = found.get(experiment.control.name, ArmCounts(experiment.control.name, 0, 0, 0, 0))
    arms = []
    for arm in experiment.arms:
        c = found.get(arm.name, ArmCounts(arm.name, 0, 0, 0, 0))
        is_control = arm.name == experiment.control.name
        arms.append(
            ArmReport(
                counts=c,
                weight=arm.weight,
                control=is_control,
                conversion=c.payers / c.people if c.people else 0.0,
                revenue_per_person=tuple((cur, amount / c.people if c.people else 0.0) for cur, amount in c.revenue),
                p_value=None
                if is_control
                else two_proportion_p_value(control.payers, control.people, c.payers, c.people),
            )
        )
    return ExperimentReport(experiment.experiment_id, experiment.started_at, experiment.stopped_at, tuple(arms))


def two_proportion_p_value(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> float | None:
    """The two-sided p-value of a pooled two-proportion z-test (is b's rate different from a's?).
    None when a side has no trials; 1.0 when nobody (or everybody) converted on both sides."""
    if trials_a <= 0 or trials_b <= 0:
        return None
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    spread = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if spread <= 0:
        return 1.0
    z = (successes_b / trials_b - successes_a / trials_a) / math.sqrt(spread)
    return math.erfc(abs(z) / math.sqrt(2))
