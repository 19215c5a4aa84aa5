"""Unit economics arithmetic: provider cost, net revenue after fees, the ledger replay that says
which credits paid each spend, the margin report and the losing-price warning."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from core.domain.economics import (
    CreditMix,
    Fees,
    JobCost,
    LotSeed,
    PaidOrder,
    Purchase,
    WalletMove,
    basis_points,
    compute_cost,
    losing_prices,
    margin_report,
    micros,
    money_text,
    replay_spends,
)
from core.domain.ledger import LotKind, Reason
from core.domain.pricing import Pack

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_settings_in_decimal_become_whole_micro_units_and_basis_points():
    assert micros("0.0014") == 1_400
    assert micros("0.013") == 13_000
    assert basis_points("2.9") == 290
    assert basis_points("15") == 1_500


def test_a_run_costs_its_compute_seconds_times_the_price_and_nothing_without_them():
    assert compute_cost(64.3, 1_400) == 90_020
    assert compute_cost(None, 1_400) == 0
    assert compute_cost(12.0, 0) == 0  # a local provider


def test_net_revenue_after_each_providers_share():
    fees = Fees(stripe_basis_points=290, stripe_fixed_cents=30, star_micros=13_000, discord_basis_points=1_500)
    # $5.00 by card: 5,000,000 − 2.9 % (145,000) − 30 cents (300,000)
    assert fees.net("stripe", 500) == 4_555_000
    # refunded $2 of it: the fee stays with Stripe
    assert fees.net("stripe", 500, returned=200) == 2_555_000
    assert fees.net("stripe", 500, returned=900) == -445_000  # fully refunded: the fee is lost
    assert fees.net("stars", 250) == 3_250_000
    assert fees.net("discord", 500) == 4_250_000
    assert fees.pack_net_per_credit(Pack("starter", 100, 500)) == Fraction(45_550)
    assert fees.pack_net_per_credit(Pack("starter", 100, 250, "XTR")) == Fraction(32_500)


def _credit(transfer_id: int, key: str, amount: int, kind: LotKind, *, order: str | None = None, expires=None):
    seed = LotSeed(transfer_id * 10, kind, amount, expires, order)
    reason = Reason.PURCHASE if kind == LotKind.PAID else Reason.WELCOME
    return WalletMove(transfer_id, key, reason, amount, True, at(transfer_id), (seed,))


def _debit(transfer_id: int, key: str, amount: int, reason: Reason = Reason.SPEND, order: str | None = None):
    return WalletMove(transfer_id, key, reason, amount, False, at(transfer_id), order_ref=order)


def test_spends_take_free_credits_first_then_paid_ones_oldest_purchase_first():
    moves = [
        _credit(1, "welcome", 10, LotKind.FREE),
        _credit(2, "purchase:a", 100, LotKind.PAID, order="a"),
        _credit(3, "purchase:b", 100, LotKind.PAID, order="b"),
        _debit(4, "spend:hold:1", 4),
        _debit(5, "spend:hold:2", 8),
        _debit(6, "spend:hold:3", 100),
    ]
    mixes = replay_spends(reversed(moves))  # ledger order comes from the transfer ids
    assert mixes["spend:hold:1"] == CreditMix(4, {})
    assert mixes["spend:hold:2"] == CreditMix(6, {"a": 2})
    assert mixes["spend:hold:3"] == CreditMix(0, {"a": 98, "b": 2})


def test_a_refund_takes_its_own_purchase_first_and_expiry_only_expired_free_credits():
    moves = [
        _credit(1, "daily", 5, LotKind.FREE, expires=at(100)),
        _credit(2, "welcome", 5, LotKind.FREE),
        _credit(3, "purchase:a", 10, LotKind.PAID, order="a"),
        _credit(4, "purchase:b", 10, LotKind.PAID, order="b"),
        _debit(5, "refund:a", 10, Reason.REFUND, order="a"),
        WalletMove(200, "expiry:1", Reason.EXPIRY, 5, False, at(150)),
        _debit(201, "spend:hold:x", 7),
    ]
    # the refund emptied purchase a; the expiry took the dated free lot; the spend takes the
    # undated free lot, then purchase b
    assert replay_spends(moves)["spend:hold:x"] == CreditMix(5, {"b": 2})


def _job(job_id: str, charged: int, cost: int, seconds: int = 10, wallet: int = 1) -> JobCost:
    return JobCost(job_id, "music", seconds, max(charged, 2), charged, cost, f"spend:hold:{job_id}", wallet)


def test_margin_report_splits_each_jobs_cost_over_the_credits_that_paid_it():
    card = Purchase.of(PaidOrder("a", "starter", "stripe", 100, 500), Fees())
    stars = Purchase.of(PaidOrder("s", "starter", "stars", 100, 250), Fees())
    jobs = [
        _job("free", 10, 90_000, seconds=30),
        _job("card", 20, 140_000, seconds=30),
        _job("mixed", 15, 100_000, seconds=15),
        _job("failed", 0, 50_000, seconds=15),
    ]
    mixes = {
        "spend:hold:free": CreditMix(10, {}),
        "spend:hold:card": CreditMix(0, {"a": 20}),
        "spend:hold:mixed": CreditMix(10, {"s": 5}),
    }
    report = margin_report(T0, at(60), jobs, mixes, {"a": card, "s": stars})

    overall = report.overall
    assert (overall.jobs, overall.credits, overall.free_credits) == (4, 45, 20)
    assert overall.cost == 380_000
    assert overall.revenue == 20 * 45_550 + 5 * 32_500  # 911,000 + 162,500
    assert overall.margin == 1_073_500 - 380_000
    assert overall.free_cost == 90_000 + Fraction(200_000, 3) + 50_000
    assert overall.break_even_per_credit == Fraction(380_000, 45)

    by_operation = {line.label: line for line in report.by_operation}
    assert set(by_operation) == {"music 30 s", "music 15 s"}
    assert (by_operation["music 30 s"].jobs, by_operation["music 30 s"].cost) == (2, 230_000)
    assert by_operation["music 15 s"].revenue == 162_500

    by_provider = {line.label: line for line in report.by_provider}
    assert by_provider["stripe"].revenue == 911_000 and by_provider["stripe"].cost == 140_000
    assert by_provider["stars"].cost == Fraction(100_000, 3) and by_provider["stars"].credits == 5
    assert by_provider["free"].cost == 90_000 + Fraction(200_000, 3)
    assert by_provider["not charged"].cost == 50_000
    by_pack = {line.label: line for line in report.by_pack}
    assert by_pack["starter"].credits == 25 and by_pack["starter"].revenue == 1_073_500
    # the rows of each section add up to the whole
    for section in (report.by_pack, report.by_provider):
        assert sum(line.cost for line in section) == overall.cost
        assert sum(line.revenue for line in section) == overall.revenue


def test_a_price_that_loses_money_is_named_with_its_break_even_price_and_a_winning_one_is_not():
    packs = [Pack("starter", 100, 500), Pack("pro", 1000, 3500), Pack("stars", 100, 250, "XTR")]
    averages = {
        "music 10 s": (2, Fraction(90_000)),  # 2 credits bring 2 × 32,500 at the Stars pack
        "music 30 s": (5, Fraction(90_000)),  # 5 × 32,500 = 162,500 > 90,000
    }
    [losing] = losing_prices(averages, packs, Fees())
    assert losing.operation == "music 10 s"
    assert (losing.cheapest_pack, losing.revenue_micros, losing.loss_micros) == ("stars", 65_000, 25_000)
    assert losing.break_even_per_credit_micros == 45_000
    assert losing_prices(averages, [], Fees()) == []


def test_money_for_an_operator():
    assert money_text(90_000) == "$0.0900"
    assert money_text(Fraction(-1_234_500)) == "-$1.2345"


def test_operations_priced_by_length_are_told_apart_by_it_and_the_others_by_name():
    jobs = [
        JobCost("a", "prompt", 10, 2, 2, 1_000, "spend:hold:a", 1),
        JobCost("b", "speech", 0, 1, 1, 500, "spend:hold:b", 1),
        JobCost("c", "voicetag", 5, 1, 1, 0, "spend:hold:c", 1),
    ]
    mixes = {job.spend_key: CreditMix(job.charged, {}) for job in jobs}
    report = margin_report(T0, at(1), jobs, mixes, {})
    assert [line.label for line in report.by_operation] == ["prompt 10 s", "speech", "voicetag"]
