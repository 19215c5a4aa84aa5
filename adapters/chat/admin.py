"""The operators' `/admin`, written once: grant, take, user, unfreeze, refund-stars, reply,
tickets, stats, experiment. Who is an operator is core's decision (OPERATOR_IDS), checked by each service."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from adapters.chat.commands import Audience, Command, Param, ParamKind
from adapters.chat.experiments import ExperimentWords
from adapters.chat.messages import Reply, Request
from adapters.chat.platform import Platforms
from adapters.chat.stats import StatsWords
from adapters.chat.support import SupportChat
from adapters.chat.words import Words
from core.domain.economics import money_text
from core.domain.identity import Identity
from core.errors import InvalidExperiment, OperationFailed, UsageError
from core.services.economics import EconomicsService
from core.services.experiments import ExperimentService
from core.services.payments import PaymentService
from core.services.stats import StatsService
from core.services.wallets import WalletService


@runtime_checkable
class RefundsStars(Protocol):
    """A platform that can give Telegram Stars back."""

    async def refund_stars(self, user_id: str, charge_id: str) -> None:
        """Give the Stars of `charge_id` back (a charge refunded before counts as done); raises
        when the platform refuses."""
        ...


EXPERIMENT_ACTIONS = ("start", "stop", "report")


def _target_params() -> tuple[Param, ...]:
    return (Param("identity", required=False), Param("member", ParamKind.MEMBER, required=False))


class AdminChat:
    def __init__(
        self,
        words: Words,
        wallets: WalletService,
        payments: PaymentService,
        support_chat: SupportChat,
        stats: StatsService,
        platforms: Platforms,
        stats_words: StatsWords,
        experiments: ExperimentService,
        experiment_words: ExperimentWords,
        economics: EconomicsService | None = None,
    ) -> None:
        self.words = words
        self.wallets = wallets
        self.payments = payments
        self.support = support_chat.support
        self.support_chat = support_chat
        self.support_words = support_chat.texts
        self.stats = stats
        self.platforms = platforms
        self.stats_words = stats_words
        self.experiments = experiments
        self.experiment_words = experiment_words
        self.economics = economics  # absent without a database

    def commands(self) -> list[Command]:
        target = _target_params()
        money = (*target[:1], Param("amount", ParamKind.NUMBER), Param("reason", ParamKind.TEXT), *target[1:])
        return [
            Command(
                "admin",
                subcommands=(
                    Command("grant", self.grant, money),
                    Command("take", self.take, money),
                    Command("user", self.user, target),
                    Command("unfreeze", self.unfreeze, target),
                    Command("refund-stars", self.refund_stars, (Param("charge"),), aliases=("refund_stars",)),
                    Command(
                        "reply",
                        self.reply,
                        (
                            Param("ticket", ParamKind.NUMBER),
                            Param("message", ParamKind.TEXT),
                            Param("grant", ParamKind.NUMBER, required=False),
                        ),
                        slow=True,
                    ),
                    Command("tickets", self.tickets, slow=True),
                    Command("stats", self.report, slow=True),
                    Command(
                        "experiment",
                        self.experiment,
                        (
                            Param("action", choices=lambda: [(a, a) for a in EXPERIMENT_ACTIONS]),
                            Param("definition", ParamKind.TEXT, required=False),
                        ),
                        slow=True,
                    ),
                ),
                audience=Audience.OPERATORS,
                greets=False,  # an operator at work is not a new customer
            )
        ]

    async def grant(self, request: Request) -> Reply:
        """Add credits to someone's wallet."""
        return await self._move(request, take=False)

    async def take(self, request: Request) -> Reply:
        """Take credits from someone's wallet (never below zero)."""
        return await self._move(request, take=True)

    async def _move(self, request: Request, *, take: bool) -> Reply:
        target = self._target(request, "admin.take" if take else "admin.grant")
        call = self.wallets.operator_take if take else self.wallets.operator_grant
        moved = await call(request.identity, target, request.arg("amount"), request.arg("reason"), request.request_id)
        key = "admin_duplicate" if moved.outcome.duplicate else ("admin_taken" if take else "admin_granted")
        outcome = moved.outcome
        return Reply(
            self.words.t(request, key, amount=outcome.amount, target=target, available=outcome.balance.available)
        )

    async def user(self, request: Request) -> Reply:
        """Someone's wallet (credits, plan, usage) and their latest tickets."""
        target = self._target(request, "admin.user")
        view = await self.wallets.operator_view(request.identity, target)
        b = view.balance
        text = self.words.t(
            request,
            "admin_user",
            target=target,
            available=b.available,
            free=b.free,
            paid=b.paid,
            held=b.held,
            plan=view.plan,
            generations=view.stats.generations,
            spent=view.stats.lifetime_spent,
            frozen_part=self.words.t(request, "admin_user_frozen") if b.frozen else "",
        )
        if self.economics is not None:
            wallet = (await self.wallets.operator_target(request.identity, target)).wallet_id
            cost = await self.economics.free_use_cost(wallet)
            text += "\n" + self.words.t(request, "admin_user_free_cost", cost=money_text(cost))
        tickets = await self.support.tickets_of(request.identity, target)
        if tickets:
            text += "\n" + self.support_words.tickets(request, tickets)
        return Reply(text)

    async def unfreeze(self, request: Request) -> Reply:
        """Unfreeze a wallet frozen by a payment dispute, once it is settled."""
        target = self._target(request, "admin.unfreeze")
        balance = await self.wallets.operator_unfreeze(request.identity, target)
        return Reply(self.words.t(request, "admin_unfrozen", target=target, available=balance.available))

    async def refund_stars(self, request: Request) -> Reply:
        """Take a Stars purchase's unspent credits back, then give the Stars back on Telegram."""
        refund = await self.payments.refund_stars(request.identity, request.arg("charge"))
        payer = Identity.parse(refund.payer)
        platform = self.platforms.get(payer.platform)
        if not isinstance(platform, RefundsStars):
            raise OperationFailed("stars_refund_failed")
        try:
            await platform.refund_stars(payer.user_id, refund.telegram_payment_charge_id)
        except Exception as error:  # the credits are back: say what is left to do
            raise OperationFailed("stars_refund_failed") from error
        key = "stars_refund_already" if refund.already else "stars_refund_done"
        text = self.words.t(
            request, key, credits=refund.credits_taken, target=payer.key, charge=refund.telegram_payment_charge_id
        )
        return Reply(text)

    async def reply(self, request: Request) -> Reply:
        """Answer a support ticket (delivered on the person's platform)."""
        grant = request.args.get("grant")
        return await self.support_chat.answer(request, request.arg("ticket"), request.arg("message"), grant)

    async def tickets(self, request: Request) -> Reply:
        """The open support tickets, oldest first."""
        found = await self.support.open_tickets(request.identity)
        return Reply(self.support_words.tickets(request, found))

    async def report(self, request: Request) -> Reply:
        """Usage, conversion and revenue: today, 7 and 30 days."""
        return Reply(self.stats_words.report(await self.stats.report(request.identity), request.locale))

    async def experiment(self, request: Request) -> Reply:
        """Pricing experiments: start one (its arms), stop it, or its report per arm."""
        action, words = request.arg("action").strip().lower(), request.arg("definition").split()
        locale, me = request.locale, request.identity
        if action == "start":
            try:
                return Reply(self.experiment_words.started(await self.experiments.start(me, words), locale))
            except InvalidExperiment as refused:
                return Reply(self.experiment_words.refusal(refused, locale))
        if action == "stop" and not words:
            return Reply(self.experiment_words.stopped(await self.experiments.stop(me), locale))
        if action == "report" and len(words) <= 1:
            report = await self.experiments.report(me, words[0] if words else None)
            return Reply(self.experiment_words.report(report, locale))
        raise UsageError("admin.experiment")

    def _target(self, request: Request, usage: str) -> str:
        if request.member is not None:
            return request.member.identity.key
        target = request.arg("identity").strip()
        if not target:
            raise UsageError(usage)
        return target
