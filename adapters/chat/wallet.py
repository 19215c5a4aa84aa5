"""The wallet, written once: /start (with a referral code), /balance and /history."""

from __future__ import annotations

import asyncio

from adapters.chat.commands import Command, Menu, Param
from adapters.chat.messages import Reply, Request, joined
from adapters.chat.offers import Offers
from adapters.chat.progress import ProgressChat
from adapters.chat.rewards import RewardsChat
from adapters.chat.top_ups import TopUpChat
from adapters.chat.words import Words
from core.domain.jobs import JobView
from core.services.generation import GenerationService
from core.services.wallets import WalletService


class WalletChat:
    def __init__(
        self,
        words: Words,
        wallets: WalletService,
        generation: GenerationService,
        rewards: RewardsChat,
        offers: Offers,
        top_ups: TopUpChat | None = None,
        progress: ProgressChat | None = None,
    ) -> None:
        self.words = words
        self.top_ups = top_ups
        self.progress = progress  # the streak's line
        self.wallets = wallets
        self.generation = generation
        self.rewards = rewards
        self.offers = offers

    def commands(self) -> list[Command]:
        return [
            Command("start", self.start, (Param("payload", required=False),), menu=Menu.PRIVATE),
            Command("balance", self.balance, menu=Menu.BOTH),
            Command("history", self.history, menu=Menu.PRIVATE),
            Command("pricing", self.pricing, menu=Menu.PRIVATE),
        ]

    async def start(self, request: Request) -> Reply:
        """Say hello (the welcome credits on first contact are the conversation's greeting); a
        start link's `ref_<code>` records who invited them."""
        greeting = request.greeting
        back = ""
        if greeting is None or not greeting.welcome_credits:
            available = greeting.balance.available if greeting is not None else 0
            back = self.words.t(request, "welcome_back", available=max(available, 0))
        return Reply(joined(back, await self.rewards.start_payload(request, request.arg("payload"))))

    async def balance(self, request: Request) -> Reply:
        """Credits (free and paid), plan, next daily credit, jobs running, lifetime figures, and
        the offer when low; only the asker sees it."""
        view, jobs, streak = await asyncio.gather(
            self.wallets.balance(request.identity),
            self.generation.jobs(request.identity),
            self.progress.balance_line(request) if self.progress is not None else _nothing(),
        )
        lines = [self.words.balance(request, view)]
        if streak:
            lines.append(streak)
        if view.next_daily_at is not None:
            lines.append(self.offers.next_daily(request, view.next_daily_at, view.daily_due))
        if jobs:
            lines.append(self.words.jobs(request, jobs))
        if self.top_ups is not None:
            lines.append(await self.top_ups.balance_line(request))
        lines = [line for line in lines if line]
        # The offer's daily line would repeat the one above.
        return self.offers.with_offer(request, "\n".join(lines), view.offer, daily_line=False, private=True)

    async def pricing(self, request: Request) -> Reply:
        """What each priced operation costs, then the packs of credits."""
        prices = self.generation.prices
        speech = prices.speech
        lines = [
            self.words.t(request, "pricing_header"),
            self.words.t(request, "pricing.music", costs=self.words.costs(request, self.wallets.rules.pricing)),
            self.words.t(request, "pricing.prompt", costs=self.words.costs(request, prices.prompt)),
            self.words.t(
                request,
                "pricing.speech",
                credits=speech.credits,
                chars=speech.chars_per_block,
                max_chars=self.generation.speech.max_chars,
            ),
            self.words.t(request, "pricing.voicetag", credits=prices.voice_tag),
            self.words.t(request, "buy_packs_header"),
            *self.offers.pack_lines(
                request, self.offers.shop.on_sale(request, await self.offers.shop.payments.terms_of(request.identity))
            ),
        ]
        return Reply("\n".join(lines))

    async def history(self, request: Request) -> Reply:
        """The last ten movements, and the last ten jobs with what each cost."""
        entries, recent = await asyncio.gather(
            self.wallets.history(request.identity, 10),
            self.generation.recent(request.identity, 10),
        )
        text = self.words.history(request, entries)
        if recent:
            text += "\n\n" + self.words.jobs(request, [JobView(job) for job in recent], header="recent_jobs")
        return Reply(text, private=True)


async def _nothing() -> str:
    return ""
