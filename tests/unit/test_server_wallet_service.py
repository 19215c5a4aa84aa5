"""`ServerWalletService` on the in-memory stores: admins move their own credits in and gift
them out; nobody creates credits, and a repeated request moves nothing more."""

from __future__ import annotations

import pytest

from core.domain.identity import Identity
from core.errors import GiftNoteTooLong, InvalidAmount, NotServerAdmin, OperationFailed, ServerWalletTooLow
from core.services.server_wallets import MAX_GIFT, MAX_GIFT_NOTE, Server
from tests.unit.memory_services import services

ADMIN, MEMBER = Identity.parse("discord:1"), Identity.parse("discord:2")
GUILD = Server("discord", "77")


async def test_a_gift_moves_the_admins_deposit_to_the_member_as_free_credits_once():
    s = services()
    await s.buy(ADMIN, "starter", 100, "o1")
    deposited = await s.server_wallets.deposit(GUILD, ADMIN, 50, actor_is_admin=True, request_id="d1")
    # Moving one's own credits takes them in spend order and keeps their kind.
    assert (deposited.server_balance.free, deposited.server_balance.paid) == (10, 40)
    assert deposited.personal_balance.available == 60
    gifted = await s.server_wallets.gift(GUILD, ADMIN, MEMBER, 20, actor_is_admin=True, request_id="g1")
    again = await s.server_wallets.gift(GUILD, ADMIN, MEMBER, 20, actor_is_admin=True, request_id="g1")
    assert (gifted.member_balance.free, gifted.member_balance.paid, again.duplicate) == (30, 0, True)
    assert (await s.server_wallets.balance(GUILD, ADMIN, actor_is_admin=True)).balance.available == 30
    assert await s.audit() == []


async def test_a_gift_past_the_server_wallet_is_refused_and_moves_nothing():
    s = services()
    with pytest.raises(ServerWalletTooLow) as low:
        await s.server_wallets.gift(GUILD, ADMIN, MEMBER, 5, actor_is_admin=True, request_id="g1")
    assert (low.value.required, low.value.available) == (5, 0)
    assert await s.available(MEMBER) == 10


async def test_only_admins_gift_and_never_to_themselves():
    s = services()
    with pytest.raises(NotServerAdmin):
        await s.server_wallets.gift(GUILD, ADMIN, MEMBER, 5, actor_is_admin="yes", request_id="g1")  # type: ignore[arg-type]
    with pytest.raises(OperationFailed) as refused:
        await s.server_wallets.gift(GUILD, ADMIN, ADMIN, 5, actor_is_admin=True, request_id="g2")
    assert refused.value.reason == "gift_to_self"


async def test_a_gift_over_its_limits_is_refused_before_anything_moves():
    s = services()
    await s.buy(ADMIN, "starter", 100, "o1")
    await s.server_wallets.deposit(GUILD, ADMIN, 50, actor_is_admin=True, request_id="d1")
    with pytest.raises(InvalidAmount) as too_many:
        await s.server_wallets.gift(GUILD, ADMIN, MEMBER, MAX_GIFT + 1, actor_is_admin=True, request_id="g1")
    assert too_many.value.maximum == MAX_GIFT
    with pytest.raises(GiftNoteTooLong):
        await s.server_wallets.gift(
            GUILD, ADMIN, MEMBER, 5, actor_is_admin=True, request_id="g2", note="x" * (MAX_GIFT_NOTE + 1)
        )
    with pytest.raises(NotServerAdmin):  # who may comes before what: a member learns nothing more
        await s.server_wallets.gift(GUILD, MEMBER, ADMIN, MAX_GIFT + 1, actor_is_admin=False, request_id="g3")
    assert (await s.server_wallets.balance(GUILD, ADMIN, actor_is_admin=True)).balance.available == 50
    noted = await s.server_wallets.gift(
        GUILD, ADMIN, MEMBER, 5, actor_is_admin=True, request_id="g4", note="  y" * 66 + "  "
    )
    assert noted.amount == 5 and noted.member_balance.available == 15
    assert await s.audit() == []
