"""Group admins: `/gift <n> [note]` in reply to a member's message, paid from the group's
wallet, and `/groupwallet [add <n> | buy [pack]]`, which fills it from their own credits or with
a pack they pay for (Stars invoice or Stripe link, per TELEGRAM_PAYMENTS); admin status is asked
of Telegram with getChatMember, on our side, at every step.
Operators: `/admin grant|take|user|unfreeze|refund-stars|reply|tickets|stats`."""

from __future__ import annotations

from typing import Any

from telegram import LabeledPrice, Message, Update
from telegram.constants import ChatMemberStatus
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from adapters.telegram.common import answer_quietly, identity_of, me, own_press, reply
from adapters.telegram.deps import BotContext
from adapters.telegram.keyboards import pattern
from core.domain.identity import Identity
from core.errors import OperationFailed, PaymentsNotConfigured, UnknownPack, UsageError
from core.services.server_wallets import Server

ADMIN_STATUSES = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


async def gift(update: Update, context: BotContext) -> None:
    """`/gift <n> [note]` replying to a member's message: credits from the group's wallet."""
    identity, locale = me(update)
    message = update.effective_message
    assert message is not None
    member = message.reply_to_message.from_user if message.reply_to_message else None
    if member is None or not context.args or message.chat.type == "private":
        raise UsageError("tg_gift")
    gifted = await server_wallets(context).gift(
        Server("telegram", str(message.chat_id)),
        identity,
        identity_of(member),
        context.args[0],
        actor_is_admin=await is_group_admin(context, message),
        request_id=f"{message.chat_id}:{message.message_id}",
        note=" ".join(context.args[1:]),
        member_is_bot=member.is_bot,
    )
    text = context.deps.t(
        "tg.gifted",
        locale,
        amount=gifted.amount,
        member=member.mention_html(),
        server=gifted.server_balance.available,
    )
    await reply(message, text, parse_mode="HTML")


async def group_wallet(update: Update, context: BotContext) -> None:
    """`/groupwallet`: the group wallet's credits; `/groupwallet add <n>` moves yours in;
    `/groupwallet buy [pack]` buys a pack for it."""
    identity, locale = me(update)
    message = update.effective_message
    assert message is not None
    if message.chat.type == "private":
        raise UsageError("tg_groupwallet")
    service, server = server_wallets(context), Server("telegram", str(message.chat_id))
    admin = await is_group_admin(context, message)
    args = [a.lower() for a in context.args or []]
    if args[:1] == ["buy"] and len(args) <= 2:
        await group_buy(context, message, identity, admin, args[1:], locale)
        return
    if args[:1] == ["add"] and len(args) == 2:
        moved = await service.deposit(
            server,
            identity,
            args[1],
            actor_is_admin=admin,
            request_id=f"{message.chat_id}:{message.message_id}",
        )
        text = context.deps.t(
            "tg.group_deposited",
            locale,
            amount=moved.amount,
            server=moved.server_balance.available,
            available=moved.personal_balance.available,
        )
    elif not args:
        view = await service.balance(server, identity, actor_is_admin=admin)
        text = context.deps.t("tg.group_wallet", locale, server=view.balance.available)
    else:
        raise UsageError("tg_groupwallet")
    await reply(message, text)


async def group_buy(
    context: BotContext,
    message: Message,
    identity: Identity,
    admin: bool,
    args: list[str],
    locale: str | None,
) -> None:
    """The packs on sale as buttons (with the group wallet's credits); `buy <pack>` goes
    straight to paying when the pack is sold one way only."""
    deps = context.deps
    assert message.from_user is not None
    owner = message.from_user.id
    # An admin check before anything else: a member is refused, and nothing is created.
    view = await server_wallets(context).balance(group_of(message), identity, actor_is_admin=admin)
    on_sale = deps.packs_on_sale()
    if not on_sale:
        raise PaymentsNotConfigured()
    if not args:
        text = deps.t("tg.group_buy_pick", locale, server=view.balance.available)
        await reply(message, text, deps.keyboards.packs(owner, on_sale, locale, verb="w"))
        return
    wanted = [(kind, pack) for kind, pack in on_sale if pack.pack_id == args[0]]
    if not wanted:
        raise UnknownPack(args[0], tuple(dict.fromkeys(pack.pack_id for _, pack in on_sale)))
    if len(wanted) == 1:
        kind, pack = wanted[0]
        request_id = f"cmd:{message.chat_id}:{message.message_id}"
        await sell_to_group(context, message, identity, admin, kind, pack.pack_id, request_id, locale)
        return
    await reply(message, deps.t("tg.buy_how_pay", locale), deps.keyboards.packs(owner, wanted, locale, verb="w"))


async def on_group_buy_button(update: Update, context: BotContext) -> None:
    """A pack button under `/groupwallet buy`: only its admin may press it, and is asked again."""
    press = await own_press(update, context)
    if press is None:
        return
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    message = query.message
    if len(press.args) != 2:
        raise UsageError("tg_groupwallet")
    kind, pack_id = press.args
    admin = await is_admin_in(context, message.chat_id, query.from_user.id)
    request_id = f"btn:{message.chat_id}:{message.message_id}:{kind}:{pack_id}"
    locale = query.from_user.language_code
    await sell_to_group(context, message, identity_of(query.from_user), admin, kind, pack_id, request_id, locale)
    await answer_quietly(query)


async def sell_to_group(
    context: BotContext,
    message: Message,
    identity: Identity,
    admin: bool,
    kind: str,
    pack_id: str,
    request_id: str,
    locale: str | None,
) -> None:
    """Open the group's order and show the way to pay: a Stars invoice in the group (only the
    admin who asked can pay it) or a Stripe Checkout link. The credits go to the group wallet."""
    deps = context.deps
    if kind not in {k for k, _ in deps.packs_on_sale()}:  # a forged button: not sold that way here
        raise PaymentsNotConfigured()
    service, server = server_wallets(context), group_of(message)
    if kind == "s":
        invoice = await service.stars_invoice(server, identity, pack_id, actor_is_admin=admin, request_id=request_id)
        title = deps.render_payments.stars_invoice_title(invoice, locale)
        await context.bot.send_invoice(
            chat_id=message.chat_id,
            title=title,
            description=deps.t("tg.group_invoice_description", locale, credits=f"{invoice.pack.credits:,}"),
            payload=invoice.payload,
            currency=invoice.currency,
            prices=[LabeledPrice(title, invoice.amount)],
        )
        return
    link = await service.buy(server, identity, pack_id, actor_is_admin=admin, request_id=request_id)
    text = (
        deps.t("tg.group_checkout", locale)
        + "\n"
        + deps.render_payments.checkout_link(link, deps.services.clock.now(), locale)
    )
    await message.reply_text(text, reply_markup=deps.keyboards.pay_link(link.url, link.pack, locale))


async def admin(update: Update, context: BotContext) -> None:
    """Operators only (checked by each core service)."""
    identity, locale = me(update)
    message = update.effective_message
    assert message is not None
    args = list(context.args or [])
    action = args[0].lower() if args else ""
    handler = ADMIN_ACTIONS.get(action)
    if handler is None:
        raise UsageError("tg_admin")
    text = await handler(context, identity, args[1:], locale, f"{message.chat_id}:{message.message_id}")
    await reply(message, text)


# --- /admin actions: (context, operator, args, locale, request id) → text ----------------------


async def _grant_or_take(
    context: BotContext,
    actor: Any,
    args: list[str],
    locale: str | None,
    request_id: str,
    *,
    take: bool,
) -> str:
    if len(args) < 3:
        raise UsageError("admin_take" if take else "admin_grant")
    wallets = context.deps.services.wallets
    call = wallets.operator_take if take else wallets.operator_grant
    moved = await call(actor, args[0], args[1], " ".join(args[2:]), request_id)
    key = "admin_duplicate" if moved.outcome.duplicate else ("admin_taken" if take else "admin_granted")
    return context.deps.render.operator_balance(key, args[0], moved.outcome.amount, moved.outcome.balance, locale)


async def _grant(context: BotContext, actor: Any, args: list[str], locale: str | None, request_id: str) -> str:
    return await _grant_or_take(context, actor, args, locale, request_id, take=False)


async def _take(context: BotContext, actor: Any, args: list[str], locale: str | None, request_id: str) -> str:
    return await _grant_or_take(context, actor, args, locale, request_id, take=True)


async def _user(context: BotContext, actor: Any, args: list[str], locale: str | None, request_id: str) -> str:
    if len(args) != 1:
        raise UsageError("admin_target")
    return context.deps.render.operator_user(
        args[0], await context.deps.services.wallets.operator_view(actor, args[0]), locale
    )


async def _unfreeze(context: BotContext, actor: Any, args: list[str], locale: str | None, request_id: str) -> str:
    if len(args) != 1:
        raise UsageError("admin_target")
    balance = await context.deps.services.wallets.operator_unfreeze(actor, args[0])
    return context.deps.t("admin_unfrozen", locale, target=args[0], available=balance.available)


async def _refund_stars(context: BotContext, actor: Any, args: list[str], locale: str | None, request_id: str) -> str:
    """Take the purchase's unspent credits back, then refund the Stars on Telegram."""
    payments = context.deps.services.payments
    if len(args) != 1 or payments is None:
        raise UsageError("tg_refund_stars")
    refund = await payments.refund_stars(actor, args[0])
    try:
        await context.bot.refund_star_payment(refund.telegram_user_id, refund.telegram_payment_charge_id)
    except Exception as error:  # the credits are back: say what is left to do
        if "ALREADY_REFUNDED" not in str(error).upper():
            raise OperationFailed("stars_refund_failed") from error
    return context.deps.render_payments.stars_refund(refund, f"telegram:{refund.telegram_user_id}", locale)


async def _reply(context: BotContext, actor: Any, args: list[str], locale: str | None, request_id: str) -> str:
    if len(args) < 2:
        raise UsageError("admin_reply")
    ticket, words, grant = args[0], args[1:], None
    if len(words) >= 3 and words[-2].lower() == "grant":
        grant, words = words[-1], words[:-2]
    answer = await rewards(context).support.reply(actor, ticket, " ".join(words), grant, request_id)
    return context.deps.rewards_text.reply_for_operator(answer, locale)


async def _tickets(context: BotContext, actor: Any, args: list[str], locale: str | None, request_id: str) -> str:
    return context.deps.rewards_text.tickets(await rewards(context).support.open_tickets(actor), locale)


async def _stats(context: BotContext, actor: Any, args: list[str], locale: str | None, request_id: str) -> str:
    return context.deps.rewards_text.stats(await rewards(context).stats.report(actor), locale=locale)


ADMIN_ACTIONS = {
    "grant": _grant,
    "take": _take,
    "user": _user,
    "unfreeze": _unfreeze,
    "refund-stars": _refund_stars,
    "refund_stars": _refund_stars,
    "reply": _reply,
    "tickets": _tickets,
    "stats": _stats,
}


# --- helpers ------------------------------------------------------------------------------------


async def is_group_admin(context: BotContext, message: Message) -> bool:
    """Asked of Telegram for this very message's sender (never taken from the client)."""
    if message.from_user is None or message.sender_chat is not None:
        return False
    return await is_admin_in(context, message.chat_id, message.from_user.id)


async def is_admin_in(context: BotContext, chat_id: int, user_id: int) -> bool:
    """Asked of Telegram now (an admin demoted since the keyboard was sent is not one any more)."""
    member = await context.bot.get_chat_member(chat_id, user_id)
    return member.status in ADMIN_STATUSES


def group_of(message: Message) -> Server:
    return Server("telegram", str(message.chat_id))


def server_wallets(context: BotContext) -> Any:
    service = context.deps.services.server_wallets
    if service is None:
        raise RuntimeError("the server wallet service is not wired")
    return service


def rewards(context: BotContext) -> Any:
    parts = context.deps.services.rewards
    if parts is None:
        raise RuntimeError("the rewards services are not wired")
    return parts


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("gift", gift))
    app.add_handler(CommandHandler("groupwallet", group_wallet))
    app.add_handler(CallbackQueryHandler(on_group_buy_button, pattern=pattern("w")))
    app.add_handler(CommandHandler("admin", admin))
