"""Unit economics: what each job cost the operator, what its credits brought in, the margin.

Money here is whole *micro-units* of the operator's currency (1 USD = 1,000,000), never floats:
a provider's cost is its compute seconds times a per-second price; an order's net revenue is
what it charged minus what the provider returned on it and the provider's fee. A credit's
revenue is its purchase's net revenue divided by the credits it gave (free credits bring in
nothing); a job's revenue is the revenue of the credits its capture consumed, found by replaying
the wallet's ledger in order with the same spend rule the ledger applies (`take_from_lots`), so
nothing extra is written on the money path. Shares of a micro-unit are kept exact (`Fraction`)
until a figure is shown.

Assumptions, said once: Stripe amounts are in a currency with cents (two decimals); Telegram
Stars count at a per-Star value from settings (what the operator receives, after Telegram's
share); Discord purchases at their price less Discord's share. Credits moved into a group
wallet lose their purchase (they count as free there).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from core.domain.ledger import LotKind, LotView, Reason, take_from_lots
from core.domain.pricing import Pack

MICROS = 1_000_000
_MICROS_PER_CENT = MICROS // 100
_BASIS = 10_000  # basis points: 2.9 % = 290


def micros(amount: Decimal | str | int) -> int:
    """A money amount in whole units (e.g. `0.0014` dollars) as micro-units, rounded half up."""
    scaled = Decimal(amount) * MICROS
    return int(scaled.to_integral_value(rounding=ROUND_HALF_UP))


def basis_points(percent: Decimal | str | int) -> int:
    """A percentage (`2.9`) as basis points (`290`)."""
    return int((Decimal(percent) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def compute_cost(compute_seconds: float | None, micros_per_second: int) -> int:
    """What a provider's run cost: its reported compute time times the per-second price."""
    if compute_seconds is None or compute_seconds <= 0 or micros_per_second <= 0:
        return 0
    return round(Decimal(str(compute_seconds)) * micros_per_second)


@dataclass(frozen=True)
class Fees:
    """What each payment provider keeps, and what a Telegram Star is worth to the operator."""

    stripe_basis_points: int = 290
    stripe_fixed_cents: int = 30
    star_micros: int = 13_000
    discord_basis_points: int = 1_500

    def net(self, channel: str, amount: int, returned: int = 0) -> int:
        """The operator's net revenue of one order in micro-units: what it charged, less what was
        returned on it (refunds, disputes) and the provider's share. Stripe keeps its fee on a
        refunded charge, so a fully refunded order is a loss of the fee."""
        kept = max(amount - min(returned, amount), 0)
        if channel == "stars":
            return kept * self.star_micros
        if channel == "discord":
            return kept * _MICROS_PER_CENT * (_BASIS - self.discord_basis_points) // _BASIS
        fee = amount * self.stripe_basis_points * _MICROS_PER_CENT // _BASIS
        return (kept - self.stripe_fixed_cents) * _MICROS_PER_CENT - fee

    def pack_net_per_credit(self, pack: Pack) -> Fraction:
        channel = "stars" if pack.currency.upper() == "XTR" else "stripe"
        return Fraction(self.net(channel, pack.price), pack.credits)


# --- the ledger replay --------------------------------------------------------------------
@dataclass(frozen=True)
class LotSeed:
    """A lot a credit to the wallet created."""

    lot_id: int
    kind: LotKind
    granted: int
    expires_at: dt.datetime | None
    order_ref: str | None


@dataclass(frozen=True)
class WalletMove:
    """One posted transfer into or out of a wallet, in ledger order (`transfer_id`)."""

    transfer_id: int
    key: str
    reason: Reason
    amount: int
    incoming: bool
    at: dt.datetime
    lots: tuple[LotSeed, ...] = ()  # incoming: the lots it created (none when it paid off a debt)
    order_ref: str | None = None  # outgoing refund/dispute: the purchase taken back first


@dataclass(frozen=True)
class PaidOrder:
    """A paid order as stored: `amount` and `returned` (refunded + disputed) in minor units."""

    order_ref: str
    pack_id: str
    channel: str
    credits: int
    amount: int
    returned: int = 0


@dataclass(frozen=True)
class Purchase:
    """A paid order as the economics see it: its net revenue, after returns and fees."""

    order_ref: str
    pack_id: str
    channel: str
    credits: int
    net_micros: int

    @classmethod
    def of(cls, order: PaidOrder, fees: Fees) -> Purchase:
        net = fees.net(order.channel, order.amount, order.returned)
        return cls(order.order_ref, order.pack_id, order.channel, order.credits, net)

    @property
    def per_credit(self) -> Fraction:
        return Fraction(self.net_micros, self.credits) if self.credits > 0 else Fraction(0)


@dataclass
class CreditMix:
    """Where the credits of one spend came from: free ones, and paid ones per purchase."""

    free: int = 0
    paid: dict[str, int] = field(default_factory=dict)  # order ref -> credits

    @property
    def paid_credits(self) -> int:
        return sum(self.paid.values())


def replay_spends(moves: Iterable[WalletMove]) -> dict[str, CreditMix]:
    """The credit mix of every spend in one wallet's history, keyed by the spend's ledger key.

    Lots are rebuilt from the credits and taken in the ledger's own order: a spend, a transfer
    out or a take-back in spend order (a refund's own purchase first); an expiry only from free
    lots already expired, earliest first."""
    lots: dict[int, LotView] = {}
    mixes: dict[str, CreditMix] = {}
    for move in sorted(moves, key=lambda m: m.transfer_id):
        if move.incoming:
            for seed in move.lots:
                lots[seed.lot_id] = LotView(seed.lot_id, seed.kind, seed.granted, seed.expires_at, seed.order_ref)
            continue
        if move.reason == Reason.EXPIRY:
            expired = [
                lot
                for lot in lots.values()
                if lot.kind == LotKind.FREE and lot.expires_at is not None and lot.expires_at <= move.at
            ]
            taken = take_from_lots(expired, move.amount)
        else:
            first = move.order_ref if move.reason in (Reason.REFUND, Reason.DISPUTE) else None
            taken = take_from_lots(list(lots.values()), move.amount, first_order_ref=first)
        mix = CreditMix()
        for part in taken:
            lot = lots[part.lot_id]
            lots[part.lot_id] = dataclasses.replace(lot, remaining=lot.remaining - part.amount)
            if lot.kind == LotKind.PAID and lot.order_ref is not None:
                mix.paid[lot.order_ref] = mix.paid.get(lot.order_ref, 0) + part.amount
            else:
                mix.free += part.amount
        if move.reason == Reason.SPEND:
            mixes[move.key] = mix
    return mixes


# --- the report ----------------------------------------------------------------------------
@dataclass(frozen=True)
class JobCost:
    """One job as the economics see it: what it cost the operator and which credits paid it."""

    job_id: str
    operation: str
    seconds: int
    priced: int  # the credits it was priced at
    charged: int  # credits captured (0: failed, canceled, not charged)
    cost_micros: int  # what the provider billed for it (0 for local providers)
    spend_key: str  # the ledger key of its capture
    wallet_id: int


@dataclass(frozen=True)
class EconomicsSnapshot:
    """What the unit economics of a window read, from one consistent read: the jobs that ended
    in it, the jobs of the recent days the losing-price warning averages, the ledger history
    of every wallet that paid for them, and the paid orders behind their lots."""

    jobs: tuple[JobCost, ...]
    recent: tuple[JobCost, ...]
    histories: Mapping[int, list[WalletMove]]
    orders: Mapping[str, PaidOrder]


@dataclass
class Line:
    """One row of the margin report."""

    label: str
    jobs: int = 0
    credits: int = 0
    free_credits: int = 0
    cost: Fraction = Fraction(0)
    free_cost: Fraction = Fraction(0)  # the part of `cost` paid for with free credits
    revenue: Fraction = Fraction(0)

    @property
    def margin(self) -> Fraction:
        return self.revenue - self.cost

    @property
    def free_cost_share(self) -> float | None:
        return None if self.cost == 0 else float(self.free_cost / self.cost)

    @property
    def break_even_per_credit(self) -> Fraction | None:
        """The price per credit at which these jobs' credits would cover their cost."""
        return None if self.credits == 0 else self.cost / self.credits

    def add(self, jobs: int, credits: int, free: int, cost: Fraction, free_cost: Fraction, revenue: Fraction) -> None:
        self.jobs += jobs
        self.credits += credits
        self.free_credits += free
        self.cost += cost
        self.free_cost += free_cost
        self.revenue += revenue


@dataclass(frozen=True)
class MarginReport:
    start: dt.datetime
    end: dt.datetime
    overall: Line
    by_operation: tuple[Line, ...]  # "music 10 s", "speech", ...
    by_pack: tuple[Line, ...]  # the credits of each pack (and "free"), the cost share they paid
    by_provider: tuple[Line, ...]  # stripe, stars, discord, free


# Operations priced by length are told apart by it ("music 10 s"); the others by name alone.
_BY_LENGTH = ("music", "prompt")


def operation_label(job: JobCost) -> str:
    return f"{job.operation} {job.seconds} s" if job.operation in _BY_LENGTH else job.operation


def margin_report(
    start: dt.datetime,
    end: dt.datetime,
    jobs: Iterable[JobCost],
    mixes: Mapping[str, CreditMix],
    purchases: Mapping[str, Purchase],
) -> MarginReport:
    """Cost, revenue and margin per operation, pack, provider and overall. A job's cost is split
    over the credits that paid it (a failed job's cost is all on "not charged")."""
    overall = Line("overall")
    operations: dict[str, Line] = {}
    packs: dict[str, Line] = {}
    providers: dict[str, Line] = {}
    for job in jobs:
        cost = Fraction(job.cost_micros)
        mix = mixes.get(job.spend_key) if job.charged else None
        paid_parts = [(purchases.get(ref), credits) for ref, credits in (mix.paid.items() if mix else ())]
        free = (mix.free if mix else 0) + sum(c for p, c in paid_parts if p is None)
        revenue = sum((p.per_credit * c for p, c in paid_parts if p is not None), Fraction(0))
        credits = job.charged
        free_cost = cost if credits == 0 else cost * free / credits
        overall.add(1, credits, free, cost, free_cost, revenue)
        operations.setdefault(operation_label(job), Line(operation_label(job))).add(
            1, credits, free, cost, free_cost, revenue
        )
        if credits == 0:
            packs.setdefault("not charged", Line("not charged")).add(1, 0, 0, cost, cost, Fraction(0))
            providers.setdefault("not charged", Line("not charged")).add(1, 0, 0, cost, cost, Fraction(0))
            continue
        if free:
            share = cost * free / credits
            packs.setdefault("free", Line("free")).add(0, free, free, share, share, Fraction(0))
            providers.setdefault("free", Line("free")).add(0, free, free, share, share, Fraction(0))
        for purchase, part in paid_parts:
            if purchase is None:
                continue
            share = cost * part / credits
            gained = purchase.per_credit * part
            packs.setdefault(purchase.pack_id, Line(purchase.pack_id)).add(0, part, 0, share, Fraction(0), gained)
            providers.setdefault(purchase.channel, Line(purchase.channel)).add(0, part, 0, share, Fraction(0), gained)
    return MarginReport(
        start,
        end,
        overall,
        tuple(operations[k] for k in sorted(operations)),
        tuple(packs[k] for k in sorted(packs)),
        tuple(providers[k] for k in sorted(providers)),
    )


# --- the warning -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LosingPrice:
    """An operation whose recent average cost is more than its credits bring in at the cheapest
    pack: by how much (per job), and the price per credit that would break even."""

    operation: str
    credits: int  # what the operation is priced at
    average_cost_micros: int
    revenue_micros: int  # its credits at the cheapest pack's net price per credit
    cheapest_pack: str
    break_even_per_credit_micros: int

    @property
    def loss_micros(self) -> int:
        return self.average_cost_micros - self.revenue_micros


def losing_prices(averages: Mapping[str, tuple[int, Fraction]], packs: Iterable[Pack], fees: Fees) -> list[LosingPrice]:
    """`averages`: operation label → (its price in credits, its average cost per job). Compared
    with the cheapest net price per credit among `packs`; nothing when there is no pack."""
    priced = [(fees.pack_net_per_credit(pack), pack.pack_id) for pack in packs if pack.credits > 0]
    if not priced:
        return []
    cheapest, pack_id = min(priced)
    losing: list[LosingPrice] = []
    for label in sorted(averages):
        credits, average = averages[label]
        if credits <= 0:
            continue
        brings = cheapest * credits
        if average > brings:
            losing.append(
                LosingPrice(
                    operation=label,
                    credits=credits,
                    average_cost_micros=math.ceil(average),
                    revenue_micros=math.floor(brings),
                    cheapest_pack=pack_id,
                    break_even_per_credit_micros=math.ceil(average / credits),
                )
            )
    return losing


def money_text(amount: Fraction | int, currency: str = "$") -> str:
    """Micro-units as money for an operator: `$0.0900`, `-$1.2345` (four decimals: a clip's
    cost is often a few cents)."""
    value = Fraction(amount) / MICROS
    sign = "-" if value < 0 else ""
    return f"{sign}{currency}{abs(float(value)):,.4f}"
