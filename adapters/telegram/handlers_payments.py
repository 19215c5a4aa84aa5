"""/buy (Stars invoices and/or Stripe Checkout links, per TELEGRAM_PAYMENTS), the pre-checkout
answer, `successful_payment`, and /paysupport."""

from __future__ import annotations

from telegram import LabeledPrice, Message, Update
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from adapters.telegram.common import answer_quietly, identity_of, me, own_press, reply
from adapters.telegram.deps import BotContext
from adapters.telegram.keyboards import pattern
from adapters.telegram.offers import offer_message, packs_message
from core.domain.identity import Identity
from core.domain.orders import PaymentOutcome, PaymentResult
from core.errors import PaymentsNotConfigured, UnknownPack
from core.services.server_wallets import Server


async def buy(update: Update, context: BotContext) -> None:
    """The packs on sale, one button each; `/buy <pack>` goes straight to that pack."""
    identity, locale = me(update)
    deps = context.deps
    assert update.effective_message is not None and update.effective_user is not None
    owner = update.effective_user.id
    if not context.args:
        text, markup = packs_message(deps, deps.keyboards, owner, locale)
        await reply(update.effective_message, text, markup)
        return
    wanted = context.args[0].strip().lower()
    on_sale = [(kind, pack) for kind, pack in deps.packs_on_sale() if pack.pack_id == wanted]
    if len(on_sale) == 1:
        kind, pack = on_sale[0]
        await sell(
            context,
            update.effective_message,
            identity,
            kind,
            pack.pack_id,
            f"cmd:{update.effective_message.id}",
            locale,
        )
        return
    if not on_sale:
        known = tuple(dict.fromkeys(pack.pack_id for _, pack in deps.packs_on_sale()))
        raise UnknownPack(wanted, known) if known else PaymentsNotConfigured()
    await reply(
        update.effective_message,
        deps.t("tg.buy_how_pay", locale),
        deps.keyboards.packs(owner, on_sale, locale),
    )


async def on_buy_button(update: Update, context: BotContext) -> None:
    """A pack button: a Stars invoice (`s`) or a card checkout link (`p`)."""
    press = await own_press(update, context)
    if press is None:
        return
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    kind, pack_id = press.args[0], press.args[1]
    request_id = f"btn:{query.message.chat_id}:{query.message.message_id}:{kind}:{pack_id}"
    await sell(
        context,
        query.message,
        identity_of(query.from_user),
        kind,
        pack_id,
        request_id,
        query.from_user.language_code,
    )
    await answer_quietly(query)


async def sell(
    context: BotContext,
    message: Message,
    identity: Identity,
    kind: str,
    pack_id: str,
    request_id: str,
    locale: str | None,
) -> None:
    """Open the order and show the way to pay (the price comes from the server's table)."""
    deps = context.deps
    payments = deps.services.payments
    if payments is None:
        raise PaymentsNotConfigured()
    if kind == "s":
        invoice = await payments.stars_invoice(identity, pack_id, request_id=request_id)
        await context.bot.send_invoice(
            chat_id=message.chat_id,
            title=deps.render_payments.stars_invoice_title(invoice, locale),
            description=deps.render_payments.stars_invoice_description(invoice, locale),
            payload=invoice.payload,
            currency=invoice.currency,
            prices=[LabeledPrice(deps.render_payments.stars_invoice_title(invoice, locale), invoice.amount)],
        )
        return
    link = await payments.buy(identity, pack_id, request_id=request_id)
    text = deps.render_payments.checkout_link(link, deps.services.clock.now(), locale)
    await message.reply_text(text, reply_markup=deps.keyboards.pay_link(link.url, link.pack, locale))


async def pre_checkout(update: Update, context: BotContext) -> None:
    """Telegram asks before charging Stars: is this invoice still good for this person?"""
    query = update.pre_checkout_query
    assert query is not None
    payments = context.deps.services.payments
    if payments is None:
        raise PaymentsNotConfigured()
    verdict = await payments.pre_checkout(
        query.invoice_payload, query.total_amount, query.currency, identity_of(query.from_user)
    )
    if verdict.ok:
        await query.answer(ok=True)
    else:
        assert verdict.refusal is not None
        await query.answer(
            ok=False,
            error_message=context.deps.render_payments.pre_checkout_refusal(
                verdict.refusal, query.from_user.language_code
            ),
        )


async def successful_payment(update: Update, context: BotContext) -> None:
    """Stars were paid: grant the pack once per charge id, and say so."""
    identity, locale = me(update)
    message = update.effective_message
    assert message is not None and message.successful_payment is not None
    paid = message.successful_payment
    payments = context.deps.services.payments
    if payments is None:
        raise PaymentsNotConfigured()
    result = await payments.stars_paid(
        paid.invoice_payload,
        paid.telegram_payment_charge_id,
        paid.total_amount,
        identity,
        paid.currency,
    )
    if await for_this_group(context, message, result):  # `/groupwallet buy`: the group's credits
        await reply(message, group_purchase(context, result, locale))
        return
    text, markup = context.deps.render_payments.purchase(result, locale), None
    if result.offer is not None:
        offer_text, markup = offer_message(
            context.deps, context.deps.keyboards, int(identity.user_id), result.offer, locale
        )
        text += "\n" + offer_text
    await reply(message, text, markup)


async def for_this_group(context: BotContext, message: Message, result: PaymentResult) -> bool:
    """Whether the paid order filled the wallet of the group it was paid in."""
    service = context.deps.services.server_wallets
    if message.chat.type == ChatType.PRIVATE or result.order is None or service is None:
        return False
    return await service.is_wallet_of(Server("telegram", str(message.chat_id)), result.order.wallet_id)


def group_purchase(context: BotContext, result: PaymentResult, locale: str | None) -> str:
    if result.outcome == PaymentOutcome.GRANTED and result.balance is not None:
        return context.deps.t(
            "tg.group_bought", locale, credits=f"{result.credits:,}", server=max(result.balance.available, 0)
        )
    if result.outcome in (PaymentOutcome.ALREADY_DONE, PaymentOutcome.DUPLICATE):
        return context.deps.t("tg.group_bought_already", locale)
    return context.deps.t("purchase_not_granted", locale)


async def paysupport(update: Update, context: BotContext) -> None:
    """Help with a payment (Telegram requires this command for bots that sell with Stars)."""
    _, locale = me(update)
    assert update.effective_message is not None
    await reply(update.effective_message, context.deps.t("tg.paysupport", locale))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("buy", buy))
    app.add_handler(CommandHandler("paysupport", paysupport))
    app.add_handler(CallbackQueryHandler(on_buy_button, pattern=pattern("b")))
    app.add_handler(PreCheckoutQueryHandler(pre_checkout))
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, successful_payment))
