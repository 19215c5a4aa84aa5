"""Pricing experiments and offer events on SQLite and PostgreSQL (and, through
tests/unit/test_memory_offers_keep_the_sql_contract.py, on the in-memory stores): one experiment
at a time, an id used once, 'paid' recorded once per order with the grant, the report's figures
exactly what the recorded events say, and what the upsell reads (purchases of a pack, spending in
the window)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.offers import SqlOfferStore
from adapters.storage.payments import SqlPaymentStore
from core.clock import ManualClock
from core.domain.experiments import OfferEventKind
from core.domain.identity import Identity
from core.domain.orders import CheckoutLink, PaymentOutcome
from core.domain.payments import CheckoutPaid
from core.domain.upsell import BuyerHistory
from core.errors import ExperimentRunning, InvalidExperiment, NoExperiment
from core.ports import LedgerStore, OfferStore, PaymentStore
from core.services.experiments import ExperimentService
from core.services.offers import OfferService
from core.services.payments import PaymentService
from core.services.wallets import WalletService
from tests.fakes.edges import FakeCheckout
from tests.fakes.memory import MemoryStores
from tests.fakes.wallet_moves import WalletMoves
from tests.integration.rewards_kit import CREDIT_RULES, STARS_PACKS, START

DEFINITION = "dec control=starter:100:500,popular:400:1500 cheap:2=starter:120:500,popular:450:1400"


@dataclass
class Shop(WalletMoves):
    clock: ManualClock
    ledger: LedgerStore
    wallets: WalletService
    offers: OfferStore
    experiments: ExperimentService
    payments: PaymentService

    async def pay(self, who: str, pack: str, request: str) -> CheckoutLink:
        """A card purchase as a chat adapter starts it, then Stripe's paid event for it."""
        link = await self.payments.buy(Identity.parse(who), pack, request_id=request)
        order = link.order_id
        result = await self.payments.handle_stripe_event(
            CheckoutPaid(f"evt_{order}", f"cs_{order}", order, link.pack.price, link.pack.currency, f"pi_{order}")
        )
        assert result.outcome == PaymentOutcome.GRANTED
        return link

    async def wallet(self, who: str) -> int:
        return (await self.wallets.person(Identity.parse(who))).wallet_id


def make_shop(database: Database | MemoryStores) -> Shop:
    clock = ManualClock(START)
    ledger: LedgerStore
    payments: PaymentStore
    offers: OfferStore
    if isinstance(database, MemoryStores):
        ledger, payments, offers = database.ledger, database.payments, database.offers
    else:
        sql_ledger = SqlLedgerStore(database)
        ledger, payments, offers = sql_ledger, SqlPaymentStore(database, sql_ledger), SqlOfferStore(database)
    experiments = ExperimentService(offers, CREDIT_RULES, clock, stars_packs=STARS_PACKS)
    offer_service = OfferService(
        CREDIT_RULES, stars_packs=STARS_PACKS, clock=clock, experiments=experiments, history=offers
    )
    wallets = WalletService(ledger, CREDIT_RULES, clock, offer_service)
    service = PaymentService(
        payments,
        wallets,
        CREDIT_RULES,
        clock,
        gateway=FakeCheckout(),
        stars_packs=STARS_PACKS,
        offers=offer_service,
        experiments=experiments,
    )
    return Shop(clock, ledger, wallets, offers, experiments, service)


@pytest.fixture
async def shop(database) -> Shop:
    shop = make_shop(database)
    if isinstance(shop.ledger, SqlLedgerStore):
        await shop.ledger.prepare()
    return shop


async def test_experiment_report_figures_match_the_recorded_events(shop: Shop):
    await shop.experiments.start(None, DEFINITION.split())
    running = await shop.experiments.running()
    assert running is not None
    people = [f"console:p{n}" for n in range(12)]
    arms = {who: running.arm_of(await shop.wallet(who)).name for who in people}
    for n, who in enumerate(people):
        terms = await shop.experiments.shown_to(await shop.wallet(who))
        assert terms.arm == arms[who]
        if n % 2 == 0:
            await shop.experiments.shown_to(await shop.wallet(who))  # a second view
        if n % 3 == 0:
            await shop.pay(who, "starter", f"r{n}")  # clicked and paid
        elif n % 3 == 1:
            await shop.payments.buy(Identity.parse(who), "popular", request_id=f"r{n}")  # clicked only
            await shop.payments.buy(Identity.parse(who), "popular", request_id=f"r{n}")  # the same request

    report = await shop.experiments.report(None)

    expected = {}
    for arm in ("control", "cheap"):
        mine = [n for n, who in enumerate(people) if arms[who] == arm]
        payers = [n for n in mine if n % 3 == 0]
        price = 500  # starter costs 500 cents in both arms
        expected[arm] = (
            len(mine),
            sum(2 if n % 2 == 0 else 1 for n in mine),
            sum(1 for n in mine if n % 3 in (0, 1)),
            len(payers),
            (("usd", price * len(payers)),) if payers else (),
        )
    found = {
        a.counts.arm: (a.counts.people, a.counts.views, a.counts.clicks, a.counts.payers, a.counts.revenue)
        for a in report.arms
    }
    assert found == expected
    assert [a.counts.arm for a in report.arms] == ["control", "cheap"]
    cheap = report.arms[1]
    assert cheap.conversion == pytest.approx(expected["cheap"][3] / expected["cheap"][0])


async def test_experiment_paid_is_recorded_once_per_order_with_the_arm_even_after_stop(shop: Shop):
    await shop.experiments.start(None, DEFINITION.split())
    link = await shop.payments.buy(Identity.parse("console:ann"), "popular", request_id="r1")
    assert (await shop.experiments.stop(None)) == "dec"
    order = link.order_id
    paid = CheckoutPaid(f"evt_{order}", f"cs_{order}", order, link.pack.price, "usd", f"pi_{order}")
    assert (await shop.payments.handle_stripe_event(paid)).outcome == PaymentOutcome.GRANTED
    again = CheckoutPaid(f"evt2_{order}", f"cs_{order}", order, link.pack.price, "usd", f"pi_{order}")
    assert (await shop.payments.handle_stripe_event(again)).outcome == PaymentOutcome.ALREADY_DONE

    balance = await shop.ledger.balance(await shop.wallet("console:ann"))
    assert balance.paid == link.pack.credits
    report = await shop.experiments.report(None, "dec")
    assert report.stopped_at is not None
    payers = {a.counts.arm: a.counts.payers for a in report.arms}
    arm = (await shop.payments.store.get_order(order)).arm  # type: ignore[union-attr]
    assert payers[arm] == 1 and sum(payers.values()) == 1
    assert (await shop.payments.terms_for(await shop.wallet("console:ann"))).arm is None  # default again


async def test_experiment_one_runs_at_a_time_an_id_is_used_once_and_nothing_half_stored(shop: Shop):
    with pytest.raises(NoExperiment):
        await shop.experiments.stop(None)
    with pytest.raises(NoExperiment):
        await shop.experiments.report(None)
    await shop.experiments.start(None, DEFINITION.split())
    with pytest.raises(ExperimentRunning):
        await shop.experiments.start(None, ["nov", "a=starter:1:1"])
    shop.clock.advance(hours=1)
    await shop.experiments.stop(None)
    with pytest.raises(InvalidExperiment) as used:
        await shop.experiments.start(None, DEFINITION.split())
    assert used.value.problem == "id_used"
    assert await shop.experiments.running() is None
    shop.clock.advance(hours=1)
    await shop.experiments.start(None, ["nov", "a=starter:1:1"])
    assert (await shop.experiments.report(None)).experiment_id == "nov"  # the running one
    await shop.experiments.stop(None)
    assert (await shop.experiments.report(None)).experiment_id == "nov"  # else the latest
    assert (await shop.experiments.report(None, "dec")).experiment_id == "dec"


async def test_upsell_history_counts_paid_purchases_of_the_pack_and_spending_in_the_window(shop: Shop):
    who = "console:ann"
    wallet = await shop.wallet(who)
    person = (await shop.wallets.person(Identity.parse(who))).person_id
    since = START - dt.timedelta(days=30)
    assert await shop.offers.buyer_history(person, wallet, "starter", since=since) == BuyerHistory(0, 0)
    await shop.pay(who, "starter", "r1")
    await shop.payments.buy(Identity.parse(who), "starter", request_id="r2")  # opened, never paid
    shop.clock.set(START - dt.timedelta(days=40))
    await shop.spend(Identity.parse(who), 5, "old")
    shop.clock.set(START)
    await shop.spend(Identity.parse(who), 7, "new")
    assert await shop.offers.buyer_history(person, wallet, "starter", since=since) == BuyerHistory(1, 7)
    assert await shop.offers.buyer_history(person, wallet, "popular", since=since) == BuyerHistory(0, 7)


async def test_experiment_offer_events_are_recorded_for_everyone_without_an_experiment(shop: Shop):
    wallet = await shop.wallet("console:ann")
    terms = await shop.experiments.shown_to(wallet)
    assert (terms.experiment_id, terms.arm, terms.packs) == (None, None, CREDIT_RULES.packs)
    await shop.pay("console:ann", "starter", "r1")
    if isinstance(shop.offers, SqlOfferStore):
        rows = await shop.offers.db.read(
            lambda c: c.exec_driver_sql(
                "SELECT account_id, kind, pack_id, experiment, arm, amount FROM offer_events ORDER BY id"
            ).fetchall()
        )
        events = [tuple(row) for row in rows]
    else:
        events = [
            (e.wallet_id, e.kind.value, e.pack_id, e.experiment_id, e.arm, e.amount)
            for e in shop.offers.world.offer_events  # type: ignore[attr-defined]
        ]
    assert events == [
        (wallet, OfferEventKind.SHOWN.value, None, None, None, None),
        (wallet, OfferEventKind.CLICKED.value, "starter", None, None, None),
        (wallet, OfferEventKind.PAID.value, "starter", None, None, 500),
    ]
