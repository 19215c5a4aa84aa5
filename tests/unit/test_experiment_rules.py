"""Pricing experiments' pure rules: reading a definition (and refusing a bad one), a stable
weighted arm per wallet, and the report's figures with a two-proportion z-test."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from core.domain.experiments import (
    ArmCounts,
    definition_text,
    experiment_report,
    parse_experiment,
    two_proportion_p_value,
)
from core.domain.pricing import Pack
from core.errors import InvalidExperiment

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def parse(text: str):
    return parse_experiment(text.split(), currency="usd", now=NOW)


def test_experiment_definition_reads_arms_weights_card_and_stars_prices_and_round_trips():
    experiment = parse("Dec control=starter:100:500:250,pro:1000:3500 Cheap:3=starter:120:500")
    assert experiment.experiment_id == "dec"
    control, cheap = experiment.arms
    assert (control.name, control.weight, cheap.name, cheap.weight) == ("control", 1, "cheap", 3)
    assert control.packs.packs == (Pack("starter", 100, 500), Pack("pro", 1000, 3500))
    assert control.stars.packs == (Pack("starter", 100, 250, "XTR"),)
    assert cheap.stars.packs == ()
    assert experiment.control is control
    assert parse(definition_text(experiment)).arms == experiment.arms


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("dec", "no_arms"),
        ("", "no_id"),
        ("dec a=starter:100:500 a=starter:90:500", "duplicate_arm"),
        ("dec a=starter:100:0", "bad_price"),
        ("dec a=starter:100:-5", "bad_price"),
        ("dec a=starter:100:500:0", "bad_price"),
        ("dec a:0=starter:100:500", "bad_weight"),
        ("dec a:-2=starter:100:500", "bad_weight"),
        ("dec a=starter:0:500", "bad_credits"),
        ("dec a=starter:100", "malformed"),
        ("dec a=starter:lots:500", "malformed"),
        ("dec a", "malformed"),
        ("dec a=starter:100:500,starter:90:400", "duplicate_pack"),
        ("bad!id a=starter:100:500", "bad_name"),
        ("dec " + " ".join(f"arm{n}=starter:100:500,popular:400:1500" for n in range(120)), "too_long"),
    ],
)
def test_experiment_definitions_that_cannot_run_are_refused_with_the_reason(text, problem):
    with pytest.raises(InvalidExperiment) as refused:
        parse(text)
    assert refused.value.problem == problem


def test_experiment_arm_of_a_wallet_is_stable_and_follows_the_weights():
    experiment = parse("dec a=starter:100:500 b:3=starter:120:500")
    again = parse("dec a=starter:100:500 b:3=starter:120:500")
    arms = [experiment.arm_of(wallet).name for wallet in range(1, 4001)]
    assert arms == [again.arm_of(wallet).name for wallet in range(1, 4001)]  # a new process, same arms
    share = Counter(arms)["b"] / len(arms)
    assert 0.72 < share < 0.78
    other = parse("nov a=starter:100:500 b:3=starter:120:500")
    assert arms != [other.arm_of(wallet).name for wallet in range(1, 4001)]  # the id is in the hash


def test_experiment_two_proportion_p_value_matches_known_numbers():
    # 200/1000 against 250/1000: z = 2.677, p = 0.0074 (as statsmodels' proportions_ztest gives)
    assert two_proportion_p_value(200, 1000, 250, 1000) == pytest.approx(0.007420, abs=5e-6)
    # 30/120 against 45/115: z = 2.323, p = 0.0202
    assert two_proportion_p_value(30, 120, 45, 115) == pytest.approx(0.02018, abs=5e-5)
    assert two_proportion_p_value(10, 100, 10, 100) == pytest.approx(1.0)
    assert two_proportion_p_value(0, 50, 0, 50) == 1.0
    assert two_proportion_p_value(0, 0, 3, 10) is None


def test_experiment_report_computes_conversion_revenue_per_person_and_confidence_per_arm():
    experiment = parse("dec control=starter:100:500 big:2=starter:150:500 empty=starter:90:500")
    counts = [
        ArmCounts("big", people=115, views=300, clicks=60, payers=45, revenue=(("usd", 23_000),)),
        ArmCounts("control", people=120, views=310, clicks=50, payers=30, revenue=(("XTR", 1_200), ("usd", 15_000))),
    ]
    report = experiment_report(experiment, counts)
    control, big, empty = report.arms
    assert (control.control, control.conversion, control.p_value) == (True, 0.25, None)
    assert control.revenue_per_person == (("XTR", 10.0), ("usd", 125.0))
    assert big.weight == 2 and big.conversion == pytest.approx(45 / 115)
    assert big.revenue_per_person == (("usd", pytest.approx(200.0)),)
    assert big.p_value == pytest.approx(0.02018, abs=5e-5)
    assert (empty.counts.people, empty.conversion, empty.p_value) == (0, 0.0, None)
