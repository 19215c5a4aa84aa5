"""ServerWalletService on the real ledger: admins fill a server wallet and gift from it; nobody
else can, whatever they send; nothing is ever created or lost."""

from __future__ import annotations

import asyncio

import pytest

from core.clock import ManualClock
from core.domain.identity import Identity
from core.domain.orders import CheckoutLink
from core.domain.pricing import Pack, PackTable, Pricing
from core.domain.rules import CreditRules
from core.errors import (
    AccountTooNew,
    InsufficientCredits,
    InvalidAmount,
    NotServerAdmin,
    OperationFailed,
    PaymentsNotConfigured,
    ServerWalletTooLow,
)
from core.services.server_wallets import MAX_GIFT, Server, ServerWalletService
from core.services.wallets import WalletService

GUILD = Server("discord", "900")
OTHER_GUILD = Server("discord", "901")
ADMIN = Identity("discord", "1")
MEMBER = Identity("discord", "2")
OPERATOR = Identity("discord", "3")


@pytest.fixture
def wallets(store) -> WalletService:
    rules = CreditRules(
        pricing=Pricing({5: 1, 10: 2}),
        packs=PackTable((Pack("starter", 100, 500),)),
        operators=frozenset({OPERATOR.key}),
    )
    return WalletService(store, rules, ManualClock())


@pytest.fixture
def servers(store, wallets) -> ServerWalletService:
    return ServerWalletService(store, wallets, ManualClock())


async def available(wallets: WalletService, who: Identity) -> int:
    return (await wallets.balance(who)).balance.available


async def test_an_admin_moves_credits_in_and_gifts_them_to_a_member(servers, wallets, store):
    await wallets.start(ADMIN)
    await wallets.operator_grant(OPERATOR, ADMIN.key, 20, "seed", "g1")
    moved = await servers.deposit(GUILD, ADMIN, 25, actor_is_admin=True, request_id="i1")
    assert (moved.amount, moved.server_balance.available, moved.personal_balance.available) == (
        25,
        25,
        5,
    )

    gifted = await servers.gift(GUILD, ADMIN, MEMBER, 7, actor_is_admin=True, request_id="i2", note="welcome!")
    assert (gifted.amount, gifted.server_balance.available, gifted.member_balance.available) == (
        7,
        18,
        17,
    )
    assert gifted.member_balance.free == 17  # a gift is free credit for whoever receives it
    assert (await servers.balance(GUILD, ADMIN, actor_is_admin=True)).balance.available == 18
    assert (await servers.balance(OTHER_GUILD, ADMIN, actor_is_admin=True)).balance.available == 0
    history = await wallets.history(MEMBER)
    assert [(e.amount, e.reason) for e in history][:1] == [(7, "gift")]
    assert await store.audit() == []


async def test_a_repeated_gift_request_moves_credits_once(servers, wallets, store):
    await servers.deposit(GUILD, ADMIN, 10, actor_is_admin=True, request_id="i1")
    first = await servers.gift(GUILD, ADMIN, MEMBER, 4, actor_is_admin=True, request_id="same")
    again = await servers.gift(GUILD, ADMIN, MEMBER, 4, actor_is_admin=True, request_id="same")
    assert (first.duplicate, again.duplicate) == (False, True)
    assert await available(wallets, MEMBER) == 14
    assert (await servers.balance(GUILD, ADMIN, actor_is_admin=True)).balance.available == 6
    assert await store.audit() == []


@pytest.mark.parametrize("admin_fact", [False, None, "true", 1, "yes"])
async def test_nothing_but_a_plain_true_admin_fact_passes(servers, wallets, store, admin_fact):
    await servers.deposit(GUILD, ADMIN, 10, actor_is_admin=True, request_id="i1")
    with pytest.raises(NotServerAdmin):
        await servers.gift(GUILD, MEMBER, MEMBER, 5, actor_is_admin=admin_fact, request_id="x")
    with pytest.raises(NotServerAdmin):
        await servers.gift(GUILD, MEMBER, ADMIN, 5, actor_is_admin=admin_fact, request_id="y")
    with pytest.raises(NotServerAdmin):
        await servers.deposit(GUILD, MEMBER, 5, actor_is_admin=admin_fact, request_id="z")
    with pytest.raises(NotServerAdmin):
        await servers.balance(GUILD, MEMBER, actor_is_admin=admin_fact)
    assert (await servers.balance(GUILD, ADMIN, actor_is_admin=True)).balance.available == 10
    assert await available(wallets, ADMIN) == 0 and await available(wallets, MEMBER) == 10
    assert await store.audit() == []


async def test_a_gift_larger_than_the_server_wallet_is_refused_with_what_is_there(servers, wallets, store):
    await servers.deposit(GUILD, ADMIN, 3, actor_is_admin=True, request_id="i1")
    with pytest.raises(ServerWalletTooLow) as refused:
        await servers.gift(GUILD, ADMIN, MEMBER, 4, actor_is_admin=True, request_id="i2")
    assert (refused.value.required, refused.value.available) == (4, 3)
    assert await available(wallets, MEMBER) == 10
    assert await store.audit() == []


@pytest.mark.parametrize("amount", [0, -5, "abc", 2.5, True, 10**9, "1e3"])
async def test_bad_gift_amounts_are_refused(servers, store, amount):
    await servers.deposit(GUILD, ADMIN, 5, actor_is_admin=True, request_id="i1")
    with pytest.raises(InvalidAmount) as refused:
        await servers.gift(GUILD, ADMIN, MEMBER, amount, actor_is_admin=True, request_id="i2")
    assert refused.value.maximum == MAX_GIFT  # the gift's limit, whatever was wrong with the amount
    assert (await servers.balance(GUILD, ADMIN, actor_is_admin=True)).balance.available == 5
    assert await store.audit() == []


async def test_no_gifts_to_oneself_or_to_bots(servers, store):
    await servers.deposit(GUILD, ADMIN, 5, actor_is_admin=True, request_id="i1")
    with pytest.raises(OperationFailed) as to_self:
        await servers.gift(GUILD, ADMIN, ADMIN, 1, actor_is_admin=True, request_id="i2")
    with pytest.raises(OperationFailed) as to_bot:
        await servers.gift(GUILD, ADMIN, MEMBER, 1, actor_is_admin=True, request_id="i3", member_is_bot=True)
    assert (to_self.value.reason, to_bot.value.reason) == ("gift_to_self", "gift_to_bot")
    assert (await servers.balance(GUILD, ADMIN, actor_is_admin=True)).balance.available == 5


async def test_moving_in_more_than_one_has_is_refused(servers, wallets, store):
    with pytest.raises(InsufficientCredits):
        await servers.deposit(GUILD, ADMIN, 11, actor_is_admin=True, request_id="i1")
    assert await available(wallets, ADMIN) == 10
    assert await store.audit() == []


async def test_the_gift_check_of_the_rewards_area_can_refuse_a_new_account(store, wallets):
    async def too_new(person_id: int) -> None:
        raise AccountTooNew(until="tomorrow")

    servers = ServerWalletService(store, wallets, ManualClock(), can_receive_gift=too_new)
    await servers.deposit(GUILD, ADMIN, 5, actor_is_admin=True, request_id="i1")
    with pytest.raises(AccountTooNew):
        await servers.gift(GUILD, ADMIN, MEMBER, 1, actor_is_admin=True, request_id="i2")
    assert (await servers.balance(GUILD, ADMIN, actor_is_admin=True)).balance.available == 5


async def test_buying_a_pack_for_the_server_sends_the_credits_to_its_wallet(store, wallets):
    calls = []

    async def buy(identity, pack_id, *, request_id, wallet_id):
        calls.append((identity, pack_id, request_id, wallet_id))
        return CheckoutLink("https://pay.example/x", Pack("starter", 100, 500), "ord_1", None)

    servers = ServerWalletService(store, wallets, ManualClock(), buy=buy)
    link = await servers.buy(GUILD, ADMIN, "starter", actor_is_admin=True, request_id="i1")
    wallet = await store.ensure_server_wallet(GUILD.key, now=ManualClock().now())
    assert link.url == "https://pay.example/x"
    assert calls == [(ADMIN, "starter", "server:i1", wallet)]
    with pytest.raises(NotServerAdmin):
        await servers.buy(GUILD, MEMBER, "starter", actor_is_admin=False, request_id="i2")
    with pytest.raises(PaymentsNotConfigured):
        await ServerWalletService(store, wallets, ManualClock()).buy(
            GUILD, ADMIN, "starter", actor_is_admin=True, request_id="i3"
        )


async def server_available(servers: ServerWalletService) -> int:
    return (await servers.balance(GUILD, ADMIN, actor_is_admin=True)).balance.available


async def test_the_same_gift_sent_five_times_at_once_gifts_once(servers, wallets, store):
    await servers.deposit(GUILD, ADMIN, 10, actor_is_admin=True, request_id="i1")
    await wallets.start(MEMBER)
    gifts = await asyncio.gather(
        *[servers.gift(GUILD, ADMIN, MEMBER, 4, actor_is_admin=True, request_id="g-race") for _ in range(5)]
    )
    assert sorted(g.duplicate for g in gifts) == [False, True, True, True, True]
    assert await available(wallets, MEMBER) == 14
    assert await server_available(servers) == 6
    assert await store.audit() == []


async def test_different_gifts_racing_never_take_the_server_wallet_below_zero(servers, wallets, store):
    await servers.deposit(GUILD, ADMIN, 10, actor_is_admin=True, request_id="i1")
    members = [Identity("discord", str(20 + n)) for n in range(5)]
    for member in members:
        await wallets.start(member)
    results = await asyncio.gather(
        *[
            servers.gift(GUILD, ADMIN, member, 4, actor_is_admin=True, request_id=f"g{n}")
            for n, member in enumerate(members)
        ],
        return_exceptions=True,
    )
    gifted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(gifted) == 2 and not any(g.duplicate for g in gifted)  # 10 covers two gifts of 4
    assert len(refused) == 3 and all(isinstance(r, ServerWalletTooLow) and r.available == 2 for r in refused)
    assert await server_available(servers) == 2
    assert sorted([await available(wallets, m) for m in members]) == [10, 10, 10, 14, 14]
    assert await store.audit() == []


async def test_the_same_deposit_sent_twice_moves_once(servers, wallets, store):
    first = await servers.deposit(GUILD, ADMIN, 4, actor_is_admin=True, request_id="d1")
    again = await servers.deposit(GUILD, ADMIN, 4, actor_is_admin=True, request_id="d1")
    assert (first.duplicate, again.duplicate) == (False, True)
    assert (again.server_balance.available, again.personal_balance.available) == (4, 6)
    assert await available(wallets, ADMIN) == 6
    assert await server_available(servers) == 4
    assert await store.audit() == []


async def test_racing_deposits_move_once_per_request_and_never_more_than_the_admin_has(servers, wallets, store):
    await servers.deposit(GUILD, ADMIN, 1, actor_is_admin=True, request_id="d0")  # the server wallet exists
    same = await asyncio.gather(
        *[servers.deposit(GUILD, ADMIN, 3, actor_is_admin=True, request_id="d-race") for _ in range(5)]
    )
    assert sorted(d.duplicate for d in same) == [False, True, True, True, True]
    assert (await available(wallets, ADMIN), await server_available(servers)) == (6, 4)

    others = await asyncio.gather(
        *[servers.deposit(GUILD, ADMIN, 4, actor_is_admin=True, request_id=f"d{n}") for n in range(1, 4)],
        return_exceptions=True,
    )
    moved = [r for r in others if not isinstance(r, BaseException)]
    refused = [r for r in others if isinstance(r, BaseException)]
    assert len(moved) == 1 and len(refused) == 2  # 6 covers one deposit of 4
    assert all(isinstance(r, InsufficientCredits) and r.available == 2 for r in refused)
    assert (await available(wallets, ADMIN), await server_available(servers)) == (2, 8)
    assert await store.audit() == []
