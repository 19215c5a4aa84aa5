"""Use cases around a person's wallet: first contact, balance, history, operator grants."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

from core.domain.identity import Identity, IdentityFormats, Person
from core.domain.ledger import AccountStats, Balance, Entry, Grant, Outcome, Reason, checked_amount
from core.domain.offers import Offer
from core.domain.rules import CreditRules, plan_of, welcome_grant
from core.errors import InsufficientCredits, NotPermitted, TakeExceedsBalance, UnknownIdentity
from core.ports import Clock, LedgerStore, WelcomeDecision
from core.services.offers import OfferService


@dataclass(frozen=True)
class Welcome:
    person: Person
    balance: Balance
    welcome_credits: int  # granted by this call (0 for a returning person)


@dataclass(frozen=True)
class Glance:
    """What a recording's first reply shows, read without writing anything."""

    available: int
    welcome_credits: int  # someone new: the grant their first movement brings (not in the ledger yet)


@dataclass(frozen=True)
class BalanceView:
    balance: Balance
    plan: str
    stats: AccountStats
    offer: Offer | None
    next_daily_at: dt.datetime | None = None  # when the next free daily credit can be claimed (None: never)
    daily_due: bool = False  # it can be claimed now


@dataclass(frozen=True)
class Moved:
    """The result of a movement, with what to offer if the balance is now low."""

    outcome: Outcome
    offer: Offer | None


class WalletService:
    def __init__(
        self,
        store: LedgerStore,
        rules: CreditRules,
        clock: Clock,
        offers: OfferService | None = None,
        *,
        identities: IdentityFormats | None = None,
    ) -> None:
        self.store = store
        self.rules = rules
        self.clock = clock
        self.identities = identities  # the platforms this deployment knows (None: any well-formed one)
        # The low/zero-balance offer of /balance and of refusals; the composition root connects
        # its next-daily-credit source (`bot.bootstrap.compose`).
        self.offers = offers or OfferService(rules)

    async def person(self, identity: Identity) -> Person:
        """The person behind `identity`, created (with the welcome grant) on first contact."""
        now = self.clock.now()
        return await self.store.ensure_person(identity.key, welcome=self._welcome(now), now=now)

    async def start(self, identity: Identity) -> Welcome:
        """First contact (/start and the like) or a returning person, with the balance, in one
        store call: a read, or a write for someone new."""
        now = self.clock.now()
        person, balance = await self.store.open_wallet(identity.key, welcome=self._welcome(now), now=now)
        return Welcome(person, balance, self.rules.welcome_credits if person.created else 0)

    async def glance(self, identity: Identity) -> Glance:
        """A returning person's available credits; for someone new, the welcome grant that
        `person` makes with their first movement (pressing a generate button does). A burst of
        voice notes from new people then costs one read each before the keyboard goes out,
        instead of a write: the write, and the welcome grant, come with the first press."""
        found = await self.store.find_wallet(identity.key)
        if found is None:
            welcome = max(self.rules.welcome_credits, 0)
            return Glance(available=welcome, welcome_credits=welcome)
        return Glance(available=max(found[1].available, 0), welcome_credits=0)

    def _welcome(self, now: dt.datetime) -> WelcomeDecision:
        return partial(welcome_grant, rules=self.rules, now=now)

    async def balance(self, identity: Identity) -> BalanceView:
        """The wallet, the plan, lifetime figures, the next daily credit, and the offer (packs,
        next daily credit, support) when the balance is low: /balance."""
        person = await self.person(identity)
        balance = await self.store.balance(person.wallet_id)
        stats = await self.store.stats(person.wallet_id)
        next_daily = await self.offers.next_daily(person.person_id)
        offer = await self.offers.of(balance, next_daily)
        return BalanceView(balance, self.plan(stats), stats, offer, next_daily, self.offers.daily_due(next_daily))

    async def offer(self, identity: Identity) -> Offer | None:
        """What to offer `identity` now (None when their balance is not low, or they are not
        known): the words of a refusal. Reads the wallet (and, when low, the next daily credit)
        and creates no one."""
        found = await self.store.find_wallet(identity.key)
        if found is None:
            return None
        person, balance = found
        return await self.offers.after(balance, person.person_id)

    async def history(self, identity: Identity, limit: int = 10) -> list[Entry]:
        person = await self.person(identity)
        return await self.store.history(person.wallet_id, limit=limit)

    def plan(self, stats: AccountStats) -> str:
        """`free` until the first purchase, then the largest pack bought."""
        return plan_of(stats.packs_bought, self.rules.packs)

    # --- operators --------------------------------------------------------------------------

    async def operator_grant(self, actor: Identity, target: str, amount: object, note: str, request_id: str) -> Moved:
        wallet = (await self.operator_target(actor, target)).wallet_id
        credits = checked_amount(amount)
        outcome = await self.store.grant(
            Grant(
                key=f"operator:{actor.key}:{request_id}",
                account_id=wallet,
                amount=credits,
                reason=Reason.OPERATOR,
                memo=f"{actor.key}: {note}".strip(),
            ),
            now=self.clock.now(),
        )
        return Moved(outcome, None)

    async def operator_take(self, actor: Identity, target: str, amount: object, note: str, request_id: str) -> Moved:
        wallet = (await self.operator_target(actor, target)).wallet_id
        credits = checked_amount(amount)
        try:
            outcome = await self.store.take(
                f"operator_take:{actor.key}:{request_id}",
                wallet,
                credits,
                Reason.OPERATOR_TAKE,
                now=self.clock.now(),
                memo=f"{actor.key}: {note}".strip(),
            )
        except InsufficientCredits as short:  # the wallet's shortfall, not the operator's
            raise TakeExceedsBalance(self.parse_identity(target).key, credits, short.available) from None
        return Moved(outcome, None)

    async def operator_unfreeze(self, actor: Identity, target: str) -> Balance:
        wallet = (await self.operator_target(actor, target)).wallet_id
        return await self.store.set_frozen(wallet, False)

    async def operator_view(self, actor: Identity, target: str) -> BalanceView:
        wallet = (await self.operator_target(actor, target)).wallet_id
        balance = await self.store.balance(wallet)
        stats = await self.store.stats(wallet)
        return BalanceView(balance, self.plan(stats), stats, None)

    async def operator_target(self, actor: Identity, target: str) -> Person:
        """The person an operator named (`target`, an identity as typed); raises NotPermitted
        for anyone but an operator, UnknownIdentity for someone the bot never met."""
        if not self.rules.is_operator(actor.key):
            raise NotPermitted("operator")
        identity = self.parse_identity(target)
        person = await self.store.find_person(identity.key)
        if person is None:
            raise UnknownIdentity(identity.key)
        return person

    def parse_identity(self, text: str) -> Identity:
        """An identity an operator typed: on a platform this deployment knows."""
        return self.identities.parse(text) if self.identities is not None else Identity.parse(text)
