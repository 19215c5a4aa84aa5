"""Server wallets: credits that belong to a chat server (a Discord guild, a Telegram group).

Nobody creates credits here. A server wallet is filled by buying a pack for the server or by an
admin moving their own credits in, and emptied by an admin gifting credits to a member. Every
movement is one ledger transfer keyed by its cause, so a repeated request is "already done".

Who is an admin is a fact only the platform knows (Discord computes the member's permissions
and sends them with the interaction; Telegram answers getChatMember). The adapter passes that
fact in as `actor_is_admin`, and every use case here checks it again: an option the client sent
(an amount, a member, a pack) is never taken as permission.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.domain.identity import Identity
from core.domain.ledger import Balance, Reason, checked_amount
from core.domain.orders import CheckoutLink, StarsInvoice
from core.errors import (
    GiftNoteTooLong,
    InsufficientCredits,
    InvalidAmount,
    NotServerAdmin,
    OperationFailed,
    PaymentsNotConfigured,
    ServerWalletTooLow,
)
from core.ports import Clock, LedgerStore
from core.services.wallets import WalletService

# Raises (e.g. AccountTooNew) when the person may not receive a gift yet; the rewards area
# provides it (`RewardService.ensure_can_receive_gift`).
GiftCheck = Callable[[int], Awaitable[None]]
# Opens a Checkout for a pack whose credits go to `wallet_id` (`PaymentService.buy`).
BuyForWallet = Callable[..., Awaitable[CheckoutLink]]
# Opens a Telegram Stars invoice for a pack whose credits go to `wallet_id` (`PaymentService.stars_invoice`).
StarsForWallet = Callable[..., Awaitable[StarsInvoice]]

MAX_GIFT = 100_000  # credits in one gift
MAX_GIFT_NOTE = 200  # characters of a gift's note (everyone in the group sees it)


@dataclass(frozen=True)
class Server:
    """A chat server: `Server("discord", "<guild id>")`."""

    platform: str
    server_id: str

    @property
    def key(self) -> str:
        """The owner key of its wallet account."""
        return f"server:{self.platform}:{self.server_id}"


@dataclass(frozen=True)
class ServerWalletView:
    server: Server
    balance: Balance


@dataclass(frozen=True)
class Gifted:
    amount: int
    member: Identity
    server_balance: Balance  # after the gift
    member_balance: Balance
    duplicate: bool = False  # the same request again: nothing moved this time


@dataclass(frozen=True)
class Deposited:
    amount: int
    server_balance: Balance
    personal_balance: Balance  # the admin's own wallet, after the move
    duplicate: bool = False


class ServerWalletService:
    def __init__(
        self,
        store: LedgerStore,
        wallets: WalletService,
        clock: Clock,
        *,
        can_receive_gift: GiftCheck | None = None,
        buy: BuyForWallet | None = None,
        stars: StarsForWallet | None = None,
    ) -> None:
        self.store = store
        self.wallets = wallets
        self.clock = clock
        self.can_receive_gift = can_receive_gift
        self.buy_for_wallet = buy
        self.stars_for_wallet = stars
        self._wallet_ids: dict[str, int] = {}  # account ids never change: one write per server

    async def balance(self, server: Server, actor: Identity, *, actor_is_admin: bool) -> ServerWalletView:
        _require_admin(actor_is_admin, "server_wallet")
        wallet = await self._wallet(server)
        return ServerWalletView(server, await self.store.balance(wallet))

    async def gift(
        self,
        server: Server,
        actor: Identity,
        member: Identity,
        amount: object,
        *,
        actor_is_admin: bool,
        request_id: str,
        note: str = "",
        member_is_bot: bool = False,
    ) -> Gifted:
        """Move `amount` credits from the server wallet to `member` (free credits for them).

        Raises NotServerAdmin, InvalidAmount, GiftNoteTooLong, OperationFailed (gift_to_self,
        gift_to_bot), AccountTooNew (from the gift check), ServerWalletTooLow(required,
        available) or WalletFrozen; none of them moves anything."""
        _require_admin(actor_is_admin, "gift")
        try:
            credits = checked_amount(amount)
        except InvalidAmount:
            raise InvalidAmount(amount, MAX_GIFT) from None  # a gift's own limit, whatever was wrong
        if credits > MAX_GIFT:
            raise InvalidAmount(amount, MAX_GIFT)
        note = note.strip()
        if len(note) > MAX_GIFT_NOTE:
            raise GiftNoteTooLong(MAX_GIFT_NOTE)
        if member_is_bot:
            raise OperationFailed("gift_to_bot")
        if member.key == actor.key:
            raise OperationFailed("gift_to_self")
        wallet = await self._wallet(server)
        recipient = await self.wallets.person(member)
        if self.can_receive_gift is not None:
            await self.can_receive_gift(recipient.person_id)
        memo = f"{actor.key}: {note}".rstrip(": ")
        try:
            outcome = await self.store.transfer(
                f"gift:{server.key}:{request_id}",
                wallet,
                recipient.wallet_id,
                credits,
                Reason.GIFT,
                now=self.clock.now(),
                memo=memo,
            )
        except InsufficientCredits as short:
            raise ServerWalletTooLow(required=credits, available=short.available) from None
        member_balance = await self.store.balance(recipient.wallet_id)
        return Gifted(outcome.amount, member, outcome.balance, member_balance, outcome.duplicate)

    async def deposit(
        self,
        server: Server,
        actor: Identity,
        amount: object,
        *,
        actor_is_admin: bool,
        request_id: str,
    ) -> Deposited:
        """Move the admin's own credits into the server wallet (they keep their kind).
        Raises NotServerAdmin, InvalidAmount, InsufficientCredits or WalletFrozen."""
        _require_admin(actor_is_admin, "deposit")
        credits = checked_amount(amount)
        wallet = await self._wallet(server)
        person = await self.wallets.person(actor)
        outcome = await self.store.transfer(
            f"deposit:{server.key}:{actor.key}:{request_id}",
            person.wallet_id,
            wallet,
            credits,
            Reason.TRANSFER,
            now=self.clock.now(),
            memo=f"{actor.key} → {server.key}",
        )
        server_balance = await self.store.balance(wallet)
        return Deposited(outcome.amount, server_balance, outcome.balance, outcome.duplicate)

    async def buy(
        self,
        server: Server,
        actor: Identity,
        pack_id: str,
        *,
        actor_is_admin: bool,
        request_id: str,
    ) -> CheckoutLink:
        """A Checkout link for a pack whose credits go to the server wallet (the admin pays)."""
        _require_admin(actor_is_admin, "server_buy")
        if self.buy_for_wallet is None:
            raise PaymentsNotConfigured()
        wallet = await self._wallet(server)
        return await self.buy_for_wallet(actor, pack_id, request_id=f"server:{request_id}", wallet_id=wallet)

    async def stars_invoice(
        self,
        server: Server,
        actor: Identity,
        pack_id: str,
        *,
        actor_is_admin: bool,
        request_id: str,
    ) -> StarsInvoice:
        """A Telegram Stars invoice for a pack whose credits go to the server wallet (the admin
        pays; only they can, as for any invoice)."""
        _require_admin(actor_is_admin, "server_buy")
        if self.stars_for_wallet is None:
            raise PaymentsNotConfigured()
        wallet = await self._wallet(server)
        return await self.stars_for_wallet(actor, pack_id, request_id=f"server:{request_id}", wallet_id=wallet)

    async def is_wallet_of(self, server: Server, wallet_id: int) -> bool:
        """Whether `wallet_id` (e.g. a paid order's) is this server's wallet."""
        return wallet_id == await self._wallet(server)

    async def _wallet(self, server: Server) -> int:
        found = self._wallet_ids.get(server.key)
        if found is None:
            found = await self.store.ensure_server_wallet(server.key, now=self.clock.now())
            self._wallet_ids[server.key] = found
        return found


def _require_admin(actor_is_admin: bool, action: str) -> None:
    if actor_is_admin is not True:  # a truthy string or a number from a client is not a yes
        raise NotServerAdmin(action)
