"""A group's wallet, written once: `/gift` (a member named by an option, or by replying to their
message), `/server-wallet` (its credits), `deposit` (your own credits in), `buy` (a pack for it).
Who is a group admin is the platform's verdict, asked at every step; core refuses everyone else."""

from __future__ import annotations

from adapters.chat.catalogue import plural
from adapters.chat.commands import Audience, Command, Menu, Param, ParamKind
from adapters.chat.messages import Reply, Request
from adapters.chat.payments import PaymentsChat
from adapters.chat.words import Words
from core.errors import UsageError
from core.services.server_wallets import MAX_GIFT, MAX_GIFT_NOTE, ServerWalletService


class ServersChat:
    def __init__(self, words: Words, servers: ServerWalletService, payments: PaymentsChat) -> None:
        self.words = words
        self.servers = servers
        self.payments = payments

    def commands(self) -> list[Command]:
        return [
            Command(
                "gift",
                self.gift,
                (
                    Param("member", ParamKind.MEMBER),
                    Param("amount", ParamKind.NUMBER, minimum=1, maximum=MAX_GIFT),
                    Param("note", ParamKind.TEXT, required=False, maximum=MAX_GIFT_NOTE),
                ),
                audience=Audience.SERVER_ADMINS,
                groups_only=True,
                menu=Menu.GROUPS,
            ),
            Command(
                "server-wallet",
                subcommands=(
                    Command("balance", self.balance),
                    Command("deposit", self.deposit, (Param("amount", ParamKind.NUMBER, minimum=1),), aliases=("add",)),
                    Command(
                        "buy",
                        self.payments.group_buy,
                        (self.payments.pack_param(),),
                        slow=True,
                    ),
                ),
                aliases=("groupwallet",),
                default="balance",
                audience=Audience.SERVER_ADMINS,
                groups_only=True,
                menu=Menu.GROUPS,
            ),
        ]

    async def gift(self, request: Request) -> Reply:
        """Credits from the group's wallet to a member (the group sees it)."""
        member = request.member
        if member is None:
            raise UsageError("gift")
        note = request.arg("note").strip()
        gifted = await self.servers.gift(
            request.server,
            request.identity,
            member.identity,
            request.arg("amount"),
            actor_is_admin=await request.place.check_admin(),
            request_id=request.request_id,
            note=note,
            member_is_bot=member.is_bot,
        )
        if gifted.duplicate:
            return Reply(self.words.t(request, "gift_duplicate"))
        text = self.words.t(
            request,
            "gifted",
            actor=request.mention,
            member=member.mention,
            amount=gifted.amount,
            plural=plural(gifted.amount),
            note_part=self.words.t(request, "gift_note_part", note=note) if note else "",
            group=self.words.group(request),
            server=max(gifted.server_balance.available, 0),
        )
        return Reply(text, public=True)

    async def balance(self, request: Request) -> Reply:
        view = await self.servers.balance(
            request.server, request.identity, actor_is_admin=await request.place.check_admin()
        )
        available = max(view.balance.available, 0)
        text = self.words.t(
            request,
            "server_wallet",
            group=self.words.group(request),
            available=available,
            plural=plural(available),
            gift_how=self.words.t(request, "gift_how_by_reply" if request.surface.member_by_reply else "gift_how"),
        )
        return Reply(text)

    async def deposit(self, request: Request) -> Reply:
        """Move some of your own credits into the group's wallet."""
        moved = await self.servers.deposit(
            request.server,
            request.identity,
            request.arg("amount"),
            actor_is_admin=await request.place.check_admin(),
            request_id=request.request_id,
        )
        if moved.duplicate:
            return Reply(self.words.t(request, "admin_duplicate"))
        text = self.words.t(
            request,
            "deposited",
            amount=moved.amount,
            plural=plural(moved.amount),
            group=self.words.group(request),
            server=max(moved.server_balance.available, 0),
            available=max(moved.personal_balance.available, 0),
        )
        return Reply(text)
