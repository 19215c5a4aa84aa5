"""Console commands about the wallet: /start, /help, /balance, /history, /admin; and the offer a
refusal for lack of credits ends with."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from adapters.chat.generation_text import GenerationText
from adapters.chat.render import Renderer, when_text
from adapters.console.chat import Handler
from core.domain.identity import Identity
from core.domain.jobs import JobView
from core.domain.pricing import Pricing
from core.errors import InsufficientCredits, UsageError
from core.ports import Clock
from core.services.wallets import WalletService

if TYPE_CHECKING:
    from core.services.generation import GenerationService
    from core.services.rewards import RewardService


def wallet_commands(
    wallets: WalletService,
    pricing: Pricing,
    identity: Identity,
    render: Renderer,
    command_names: Callable[[], str],
    *,
    generation: GenerationService | None = None,
    bonuses: RewardService | None = None,
    clock: Clock | None = None,
) -> dict[str, Handler]:
    """`generation` adds the jobs to /balance (running) and /history (the last ten); `bonuses`
    adds the next daily credit to /balance (`clock` tells "now" from later)."""
    jobs_text = GenerationText(render)

    async def start(args: list[str]) -> str:
        """Say hello; the first time, grant the welcome credits."""
        return render.welcome(await wallets.start(identity))

    async def help(args: list[str]) -> str:
        """What the bot does and what it costs."""
        return render.help(pricing, command_names())

    async def balance(args: list[str]) -> str:
        """Credits (free and paid), plan, next daily credit, jobs running, lifetime figures, and
        an offer when low."""
        view, running, next_daily = await asyncio.gather(
            wallets.balance(identity),
            generation.jobs(identity) if generation is not None else _nothing([]),
            bonuses.next_daily_at(identity) if bonuses is not None else _nothing(),
        )
        lines = [render.balance(view)]
        if next_daily is not None:
            due = clock is not None and next_daily <= clock.now()
            lines.append(render.t("next_daily", when=render.t("next_daily_now") if due else when_text(next_daily)))
        if running:
            lines.append(jobs_text.jobs(running))
        if view.offer is not None:  # its daily line is the one above
            lines.append(render.offer(replace(view.offer, next_daily_at=None)))
        return "\n".join(lines)

    async def history(args: list[str]) -> str:
        """The last ten movements, and the last ten jobs with what each cost."""
        entries, recent = await asyncio.gather(
            wallets.history(identity),
            generation.recent(identity, 10) if generation is not None else _nothing([]),
        )
        text = render.history(entries)
        if recent:
            text += "\n\n" + jobs_text.jobs([JobView(job) for job in recent], header="recent_jobs")
        return text

    async def admin(args: list[str]) -> str:
        """Operators: grant, take, user, unfreeze."""
        action = args[0].lower() if args else ""
        if action in ("grant", "take"):
            if len(args) < 4:
                raise UsageError(f"admin_{action}")
            call = wallets.operator_grant if action == "grant" else wallets.operator_take
            moved = await call(identity, args[1], args[2], " ".join(args[3:]), uuid.uuid4().hex)
            key = "admin_granted" if action == "grant" else "admin_taken"
            if moved.outcome.duplicate:
                key = "admin_duplicate"
            return render.operator_balance(key, args[1], moved.outcome.amount, moved.outcome.balance)
        if action == "unfreeze" and len(args) == 2:
            balance = await wallets.operator_unfreeze(identity, args[1])
            return render.t("admin_unfrozen", target=args[1], available=balance.available)
        if action == "user" and len(args) == 2:
            return render.operator_user(args[1], await wallets.operator_view(identity, args[1]))
        raise UsageError("admin_target" if action in ("user", "unfreeze") else "admin")

    return {"/start": start, "/help": help, "/balance": balance, "/history": history, "/admin": admin}


def refusal_offer(
    wallets: WalletService, identity: Identity, render: Renderer
) -> Callable[[InsufficientCredits], Awaitable[str]]:
    """What follows "That costs 2 credits and you have 0." in the console: the packs, the next
    daily credit and how to reach support (`ConsoleChat(refusal=...)`)."""

    async def offer(error: InsufficientCredits) -> str:
        view = await wallets.balance(identity)
        if view.offer is not None:
            return render.offer(view.offer)
        packs = wallets.rules.packs.packs  # not low, just not enough for this one: the packs
        return "\n".join([render.t("buy_packs_header"), *(render.pack_line(pack) for pack in packs)])

    return offer


async def _nothing(value: Any = None) -> Any:
    return value
