"""Console commands about the wallet: /start, /help, /balance, /history, /admin."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from adapters.chat.render import Renderer
from adapters.console.chat import Handler
from core.domain.identity import Identity
from core.domain.pricing import Pricing
from core.errors import UsageError
from core.services.wallets import WalletService


def wallet_commands(
    wallets: WalletService, pricing: Pricing, identity: Identity, render: Renderer, command_names: Callable[[], str]
) -> dict[str, Handler]:
    async def start(args: list[str]) -> str:
        """Say hello; the first time, grant the welcome credits."""
        return render.welcome(await wallets.start(identity))

    async def help(args: list[str]) -> str:
        """What the bot does and what it costs."""
        return render.help(pricing, command_names())

    async def balance(args: list[str]) -> str:
        """Credits (free and paid), plan, lifetime figures, and an offer when low."""
        view = await wallets.balance(identity)
        return render.balance(view) + ("\n" + render.offer(view.offer) if view.offer else "")

    async def history(args: list[str]) -> str:
        """The last ten movements."""
        return render.history(await wallets.history(identity))

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
