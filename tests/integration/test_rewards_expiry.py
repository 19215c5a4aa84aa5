"""Free-credit expiry on SQLite and PostgreSQL: an expired free lot's remainder leaves the
wallet as one `expiry` ledger entry; paid and unexpired credits stay; held credits are never
expired from under a running job; repeats and racing sweepers expire once; racing spends never
overdraw or double-count; with no TTL (the default) nothing happens."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from adapters.chat.catalogue import Catalogue
from adapters.chat.words import Words
from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.ledger import Grant, LotKind, Reason
from core.errors import InsufficientCredits
from core.services.expiry import ExpiryService
from core.services.wallets import WalletService
from tests.integration.rewards_kit import CREDIT_RULES, START

TTL = dt.timedelta(days=30)
RULES = dataclasses.replace(CREDIT_RULES, free_credit_ttl=TTL)


@dataclasses.dataclass
class Books:
    ledger: SqlLedgerStore
    wallets: WalletService
    expiry: ExpiryService
    clock: ManualClock

    async def wallet(self, key: str) -> int:
        return (await self.wallets.person(Identity.parse(key))).wallet_id

    async def buy(self, wallet: int, credits: int, order: str) -> None:
        await self.ledger.grant(
            Grant(
                f"purchase:{order}", wallet, credits, Reason.PURCHASE, LotKind.PAID, pack_id="starter", order_ref=order
            ),
            now=self.clock.now(),
        )

    async def free(self, wallet: int, credits: int, key: str) -> None:
        """A free bonus stamped with the TTL, as the reward services grant them."""
        now = self.clock.now()
        await self.ledger.grant(Grant(key, wallet, credits, Reason.DAILY, LotKind.FREE, expires_at=now + TTL), now=now)

    async def hold(self, wallet: int, amount: int, job: str) -> None:
        now = self.clock.now()
        await self.ledger.hold(f"hold:{job}", wallet, amount, expires_at=now + dt.timedelta(minutes=20), now=now)

    async def expiries(self) -> list[tuple[str, int]]:
        def work(conn):
            rows = conn.exec_driver_sql("SELECT key, amount FROM transfers WHERE reason = 'expiry' ORDER BY key").all()
            return [(str(k), int(a)) for k, a in rows]

        return await self.ledger.db.read(work)


def books(database: Database, rules=RULES, clock: ManualClock | None = None) -> Books:
    clock = clock or ManualClock(START)
    ledger = SqlLedgerStore(database)
    return Books(ledger, WalletService(ledger, rules, clock), ExpiryService(ledger, rules, clock), clock)


async def test_an_expired_free_lot_expires_and_paid_and_unexpired_credits_stay(database):
    b = books(database)
    wallet = await b.wallet("telegram:1")  # welcome: 10 free, expiring at START + 30 days
    await b.buy(wallet, 100, "o1")
    b.clock.advance(days=10)
    await b.free(wallet, 3, "daily:1:day10")  # expires at START + 40 days
    assert await b.expiry.sweep() == 0  # nothing is due yet
    b.clock.advance(days=20)  # START + 30 days: the welcome lot is due
    assert await b.expiry.sweep() == 10
    balance = await b.ledger.balance(wallet)
    assert (balance.free, balance.paid, balance.available) == (3, 100, 103)
    history = await b.wallets.history(Identity.parse("telegram:1"))
    assert (history[0].amount, history[0].reason) == (-10, "expiry")
    assert "−10 free credits expired" in Words(Catalogue()).history(None, history)
    b.clock.advance(days=10)
    assert await b.expiry.sweep() == 3  # the daily credit's turn; the paid credits never expire
    assert (await b.ledger.balance(wallet)).available == 100
    assert await b.ledger.audit() == []


async def test_only_the_unspent_remainder_of_a_lot_expires(database):
    b = books(database)
    wallet = await b.wallet("discord:2")
    await b.hold(wallet, 4, "j1")
    await b.ledger.capture("hold:j1", now=b.clock.now())
    b.clock.advance(days=31)
    assert await b.expiry.sweep() == 6
    assert (await b.ledger.balance(wallet)).available == 0
    assert await b.expiries() == [(f"expiry:{await lot_of(b, wallet)}:6", 6)]
    assert await b.ledger.audit() == []


async def lot_of(b: Books, wallet: int) -> int:
    def work(conn):
        return conn.exec_driver_sql(f"SELECT MIN(id) FROM lots WHERE account_id = {int(wallet)}").scalar_one()

    return int(await b.ledger.db.read(work))


async def test_sweeping_twice_expires_once(database):
    b = books(database)
    wallets = [await b.wallet(f"telegram:{n}") for n in range(5)]
    b.clock.advance(days=31)
    assert await b.expiry.sweep() == 50
    assert await b.expiry.sweep() == 0
    b.clock.advance(days=365)
    assert await b.expiry.sweep() == 0
    assert len(await b.expiries()) == 5
    for wallet in wallets:
        assert (await b.ledger.balance(wallet)).available == 0
    assert await b.ledger.audit() == []


async def test_small_batches_cover_every_wallet(database):
    b = books(database)
    b.expiry.batch = 3
    for n in range(10):
        await b.wallet(f"console:p{n}")
    b.clock.advance(days=31)
    assert await b.expiry.sweep() == 100
    assert await b.ledger.audit() == []


async def test_two_sweepers_racing_expire_each_lot_once(database, db_url):
    b = books(database)
    wallets = [await b.wallet(f"discord:{n}") for n in range(30)]
    b.clock.advance(days=31)
    async with Database(db_url) as other_db:  # another process's connection
        other = books(other_db, clock=b.clock)
        other.expiry.batch = 7
        totals = await asyncio.gather(b.expiry.sweep(), other.expiry.sweep(), b.expiry.sweep())
    assert sum(totals) == 300
    assert len(await b.expiries()) == 30
    for wallet in wallets:
        assert (await b.ledger.balance(wallet)).available == 0
    assert await b.ledger.audit() == []


async def test_held_credits_are_not_expired_from_under_a_running_job(database):
    b = books(database)
    wallet = await b.wallet("telegram:7")
    await b.buy(wallet, 5, "o7")
    await b.hold(wallet, 3, "captured")
    await b.hold(wallet, 2, "released")
    b.clock.advance(days=31)
    assert await b.expiry.sweep() == 5  # 10 free, of which the two jobs hold 5
    balance = await b.ledger.balance(wallet)
    assert (balance.free, balance.paid, balance.held, balance.available) == (5, 5, 5, 5)
    # The finished job is paid from the free credits it was accepted with, not the paid ones.
    await b.ledger.capture("hold:captured", now=b.clock.now())
    assert await b.expiry.sweep() == 0  # the other job still holds the last 2
    assert (await b.ledger.balance(wallet)).paid == 5
    # The failed job's credits go back to the wallet and expire at the next sweep.
    await b.ledger.release("hold:released", now=b.clock.now())
    assert await b.expiry.sweep() == 2
    balance = await b.ledger.balance(wallet)
    assert (balance.free, balance.paid, balance.held) == (0, 5, 0)
    lot = await lot_of(b, wallet)
    assert await b.expiries() == [(f"expiry:{lot}:10", 5), (f"expiry:{lot}:2", 2)]
    assert await b.ledger.audit() == []


async def test_a_spend_racing_the_sweep_never_overdraws_or_double_counts(database, db_url):
    b = books(database)
    wallets = [await b.wallet(f"telegram:{100 + n}") for n in range(20)]
    for n, wallet in enumerate(wallets):
        await b.buy(wallet, 5, f"race{n}")
    b.clock.advance(days=31)
    async with Database(db_url) as other_db:
        spender = books(other_db, clock=b.clock)

        async def spend(n: int, wallet: int) -> int:
            try:
                await spender.hold(wallet, 3, f"race{n}")
            except InsufficientCredits:
                return 0
            await spender.ledger.capture(f"hold:race{n}", now=b.clock.now())
            return 3

        b.expiry.batch = 2  # many small transactions, interleaved with the spends
        spends = [spend(n, wallet) for n, wallet in enumerate(wallets)]
        results = await asyncio.gather(*spends[:10], b.expiry.sweep(), *spends[10:], b.expiry.sweep())
    swept = results.pop(10) + results.pop()
    expired = dict(await b.expiries())
    assert swept == sum(expired.values())
    for n, wallet in enumerate(wallets):
        balance = await b.ledger.balance(wallet)
        spent = results[n]
        lot = await lot_of(b, wallet)
        expired_here = sum(amount for key, amount in expired.items() if key.startswith(f"expiry:{lot}:"))
        assert spent == 3  # 5 paid credits always cover the clip
        # Spend first: 3 free spent, 7 expire. Sweep first: 10 expire, 3 paid spent.
        assert (expired_here, balance.available) in ((7, 5), (10, 2))
        assert balance.free == 0 and balance.held == 0
        assert expired_here + spent + balance.available == 15
    assert await b.ledger.audit() == []


async def test_off_by_default_nothing_expires(database):
    b = books(database, rules=CREDIT_RULES)  # FREE_CREDIT_TTL_DAYS unset
    assert not b.expiry.enabled
    wallet = await b.wallet("discord:9")
    await b.free(wallet, 3, "daily:9:x")  # even a lot stamped with an expiry stays
    b.clock.advance(days=3650)
    assert await b.expiry.sweep() == 0
    assert (await b.ledger.balance(wallet)).available == 13
    assert await b.expiries() == []


async def test_expiry_follows_lots_into_a_linked_wallet(database):
    from core.codes import SecretCodes
    from core.services.linking import LinkService
    from tests.integration.rewards_kit import make_kit

    b = books(database)
    kit = make_kit(database, RULES, clock=b.clock)
    kit.linking = LinkService(kit.stores.links, b.wallets, RULES, b.clock, SecretCodes())
    old = await b.wallet("discord:50")
    b.clock.advance(days=5)
    await b.wallet("telegram:50")
    code = await kit.linking.start(Identity.parse("discord:50"))
    await kit.linking.redeem(Identity.parse("telegram:50"), code.code)
    b.clock.advance(days=26)  # the older welcome lot is due, the newer one not yet
    assert await b.expiry.sweep() == 10
    assert (await b.ledger.balance(old)).available == 10
    b.clock.advance(days=5)
    assert await b.expiry.sweep() == 10
    assert await b.ledger.audit() == []


async def test_the_runtime_runs_the_expiry_sweep_only_when_a_ttl_is_set(sqlite_url):
    from bot.bootstrap import build_app
    from bot.config import Settings
    from bot.periodic import ExpirySweeper

    for extra, expected in (({}, 0), ({"free_credit_ttl_days": 30}, 1)):
        app = await build_app(Settings(_env_file=None, database_url=sqlite_url, **extra))  # type: ignore[call-arg]
        try:
            sweepers = [c for c in app.components() if isinstance(c, ExpirySweeper)]
            assert len(sweepers) == expected
            if sweepers:
                await sweepers[0].start()  # a first sweep at once, then every interval
                await asyncio.sleep(0.05)
                await sweepers[0].stop()
        finally:
            await app.close()


async def test_referral_credits_are_free_credits_and_expire_too(database):
    from tests.integration.rewards_kit import make_kit

    kit = make_kit(database, RULES)
    ann, _ = await kit.person("telegram:1")
    code = (await kit.referrals.my_code(ann)).code
    bob, bob_id = await kit.person("telegram:2")
    await kit.referrals.record_referral(bob, f"ref_{code.lower()}")
    payout = await kit.referrals.on_success(bob_id)
    assert payout is not None and (payout.referred_credits, payout.referrer_credits) == (10, 10)
    assert (await kit.available(ann), await kit.available(bob)) == (20, 20)

    kit.clock.advance(days=31)  # the welcome and the referral credits are all past their TTL
    assert await ExpiryService(kit.ledger, RULES, kit.clock).sweep() == 40
    assert (await kit.available(ann), await kit.available(bob)) == (0, 0)
    assert await kit.audit() == []
