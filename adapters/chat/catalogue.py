"""Every user-facing string, keyed by message id. English is written here; the other languages
are gettext catalogues (`adapters/chat/locales/<language>/LC_MESSAGES/messages.po`, see
`adapters/chat/locales/__init__.py`).

Add a message: one entry in `ENGLISH` (key → text, or a `Plural` when a number decides the
words), then `python -m bot locales update` and translate the new entries of each `.po`.

One key per message, whatever the platform. A `{/name}` placeholder is the command `name` as it is
typed on the platform asking (`/verify` on Telegram for `/verify-email`): the conversation passes
the platform's spelling. A moment (`{next_at}`, a datetime with no format of its own) is written
as that platform shows time (Discord: in each reader's time zone; elsewhere UTC, in the reader's
language). `{credits:,}` groups digits the reader's way ("1,500", "1.500", "1 500"). A language
that lacks a message says it in English (and it is logged once).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import string
from collections.abc import Callable
from dataclasses import dataclass

from adapters.chat import formats, locales
from core.errors import BotError, UsageError

logger = logging.getLogger(__name__)

Spell = Callable[[str], str]
When = Callable[[dt.datetime], str]


def default_spelling(command: str) -> str:
    return f"/{command}"


def utc_text(at: dt.datetime) -> str:
    """A moment in UTC (the default way platforms show time: in the reader's language)."""
    return formats.utc_moment(at, locales.DEFAULT)


@dataclass(frozen=True)
class Plural:
    """A message whose words depend on a number (gettext's `ngettext`): the English singular
    and plural; `count` names the placeholder holding the number. Each language has as many
    forms as its grammar needs (Russian: three)."""

    one: str
    other: str
    count: str


Entry = str | Plural


class _Moment:
    """A datetime in a template: as the platform shows time, unless the template formats it."""

    __slots__ = ("at", "show")

    def __init__(self, at: dt.datetime, show: Callable[[dt.datetime], str]) -> None:
        self.at, self.show = at, show

    def __format__(self, spec: str) -> str:
        return format(self.at, spec) if spec else self.show(self.at)


class _Number:
    """A number in a template, written the reader's way."""

    __slots__ = ("language", "value")

    def __init__(self, value: int | float, language: str) -> None:
        self.value, self.language = value, language

    def __format__(self, spec: str) -> str:
        return formats.number(self.value, self.language, spec)


ENGLISH: dict[str, Entry] = {
    # --- first contact, help, the command menu -------------------------------------------------
    "welcome": Plural(
        "Welcome! You have {credits} free credit. Send me a voice message to make music.",
        "Welcome! You have {credits} free credits. Send me a voice message to make music.",
        "credits",
    ),
    "welcome_back": Plural(
        "Welcome back! You have {available} credit.",
        "Welcome back! You have {available} credits.",
        "available",
    ),
    "help": (
        "Hum, sing or play a melody, send it to me, pick a style and a length, and I'll turn it into music.\n"
        "Costs: {costs}.\n"
        "Commands: {commands}"
    ),
    "cost_item": Plural("{seconds} s → {credits} credit", "{seconds} s → {credits} credits", "credits"),
    "pricing_header": "What things cost:",
    "pricing.music": "🎵 Music from your recording: {costs}",
    "command.pricing": "What each thing costs, and the credit packs",
    "send_audio": "Send me a voice message or an audio file (MP3, WAV, OGG, M4A, WebM, FLAC), and I'll turn your melody into music.",
    "button_stale": "This button has expired. Send a new recording.",
    "button_not_yours": "This button belongs to someone else.",
    "sent_privately": "I sent it to you in a private message.",
    "open_private_chat": "Open a private chat with me first ({link}) and send {/start}, then ask again.",
    "command.start": "Start, and see your free credits",
    "command.start.payload": "A code from a start link, e.g. a friend's ref_<code>",
    "command.help": "How it works",
    "command.balance": "Your credits and plan",
    "command.history": "Your last credits and clips",
    "command.daily": "Claim today's free credit",
    "command.buy": "Buy credits",
    "command.buy.pack": "The credit pack to buy (leave empty to see them all)",
    "command.paysupport": "Help with a payment",
    "command.refer": "Invite friends: credits for both",
    "command.refer.code": "A friend's referral code (leave empty to see your own)",
    "command.verify-email": "Verify your email for bonus credits",
    "command.verify-email.address_or_code": "Your email address, then the 6-digit code we mail you",
    "command.link": "Link your account on another platform: one wallet for both",
    "command.link.code": "The code /link gave you on your other platform (leave empty to get one)",
    "command.support": "Write to us",
    "command.support.message": "What happened? The operators answer here, in a private message.",
    "command.generate": "Turn a hummed, sung or played melody into music.",
    "command.generate.audio": "A short recording of your melody: hum, sing or play it (a voice message or file)",
    "command.generate.style": "Instrument or style, e.g. warm solo piano (pick one or type your own)",
    "command.generate.length": "How long the music should be (the cost is shown)",
    "context_menu.make_music": "Make music from this",
    "command.jobs": "Your clips being made",
    "command.cancel": "Cancel a clip being made (its credits are not charged)",
    "command.cancel.job": "The job id",
    "command.share": "Share one of your clips",
    "command.share.job": "The job id of the clip",
    "command.gift": "Admins: gift credits to a member from the group wallet",
    "command.gift.member": "Who gets the credits",
    "command.gift.amount": "How many credits",
    "command.gift.note": "A note they will see",
    "command.server-wallet": "The group wallet: its credits; admins add or buy",
    "command.server-wallet.balance": "How many credits the wallet holds",
    "command.server-wallet.deposit": "Move some of your own credits into the wallet",
    "command.server-wallet.deposit.amount": "How many of your own credits to move into the wallet",
    "command.server-wallet.buy": "Buy a credit pack for the wallet (you pay, the group gets the credits)",
    "command.server-wallet.buy.pack": "The credit pack to buy for the wallet",
    "command.admin": "Operators of this bot only",
    "command.admin.grant": "Add credits to someone's wallet",
    "command.admin.take": "Take credits from someone's wallet (never below zero)",
    "command.admin.user": "Someone's wallet: credits, plan, usage",
    "command.admin.unfreeze": "Unfreeze a wallet frozen by a payment dispute, once it is settled",
    "command.admin.refund-stars": "Refund a Telegram Stars payment (its unspent credits come back)",
    "command.admin.refund-stars.charge": "The Telegram payment charge id",
    "command.admin.reply": "Answer a support ticket (delivered on the person's platform)",
    "command.admin.reply.ticket": "Ticket number",
    "command.admin.reply.message": "Your answer",
    "command.admin.reply.grant": "Credits to add with it",
    "command.admin.tickets": "The open support tickets, oldest first",
    "command.admin.stats": "Usage, conversion and revenue: today, 7 and 30 days",
    "command.admin.identity": "Or any platform's id as text, e.g. telegram:123",
    "command.admin.member": "A member",
    "command.admin.amount": "Credits",
    "command.admin.reason": "Why (kept in the ledger)",
    "usage.generate": '{/generate} <audio file> <style> <seconds>, e.g. {/generate} hum.ogg warm piano 10, or {/generate} "lofi beat with rain" 10',
    "usage.cancel": "{/cancel} <job id>",
    "usage.verify-email": "{/verify-email} <address> · then {/verify-email} <6-digit code>",
    "usage.support": "{/support} <your message>",
    "usage.refer": "{/refer} · {/refer} <code>",
    "usage.share": "{/share} <job id>",
    "usage.link": "{/link} · {/link} <code>",
    "usage.gift": "{/gift} <member> <credits> [note] (in a group)",
    "usage.gift.by_reply": "reply to a member's message in a group with {/gift} <credits> [note]",
    "usage.server-wallet": "{/server-wallet} · {/server-wallet} deposit <credits> · {/server-wallet} buy [pack] (in a group)",
    "usage.admin": "{/admin} grant|take <platform:id> <credits> <reason> · {/admin} user|unfreeze <platform:id> · {/admin} refund-stars <charge id> · {/admin} reply <ticket> <text> [grant <n>] · {/admin} tickets · {/admin} stats",
    "usage.admin.grant": "{/admin} grant <platform:id> <credits> <reason>",
    "usage.admin.take": "{/admin} take <platform:id> <credits> <reason>",
    "usage.admin.user": "{/admin} user <platform:id>",
    "usage.admin.unfreeze": "{/admin} unfreeze <platform:id>",
    "usage.admin.refund-stars": "{/admin} refund-stars <telegram payment charge id>",
    "usage.admin.reply": "{/admin} reply <ticket> <text> [grant <credits>]",
    "place.group": "group",
    "place.server": "server",
    # --- balance and history -------------------------------------------------------------------
    "balance": (
        "Credits: {available} ({free} free, {paid} paid){held_part}\n"
        "Plan: {plan}\n"
        "Generations: {generations} · credits spent: {spent}{frozen_part}"
    ),
    "balance_held_part": " · {held} held for running jobs",
    "balance_frozen_part": "\nYour wallet is frozen while a payment dispute is open. Contact support.",
    "balance_debt_part": " · {debt} owed",
    "history_empty": "No activity yet.",
    "history_header": Plural(
        "Your last {count} movement:",
        "Your last {count} movements:",
        "count",
    ),
    "history_line": "{date} {sign}{amount} {reason}",
    "next_daily": "Next free daily credit: {when}",
    "next_daily_now": "now (use {/daily})",
    "reason.welcome": "welcome credits",
    "reason.daily": "daily credit",
    "reason.purchase": "purchase",
    "reason.gift": "gift",
    "reason.operator": "from support",
    "reason.referral": "referral bonus",
    "reason.email": "email verified",
    "reason.share": "share bonus",
    "reason.spend": "music clip",
    "reason.transfer": "moved to server wallet",
    "reason.refund": "refund",
    "reason.dispute": "dispute",
    "reason.operator_take": "taken by support",
    "reason.expiry": "free credits expired",
    "reason.link": "accounts linked",
    # --- offers and buying --------------------------------------------------------------------
    "low_balance": Plural(
        "You have {available} credit left. Buy more to keep creating!",
        "You have {available} credits left. Buy more to keep creating!",
        "available",
    ),
    "out_of_credits": "You're out of credits!",
    "offer_pack": Plural(
        "{title}: {credits:,} credit for {price}",
        "{title}: {credits:,} credits for {price}",
        "credits",
    ),
    "offer_daily": "Your next free daily credit: {when}.",
    "offer_support": "Questions? Use {/support} to contact us.",
    "continue_free": "Keep creating! Your free daily credit and the bonuses keep you going.",
    "support_how": "Write {/support} followed by your message; we answer you.",
    "button.buy_stars": Plural(
        "⭐ {title}: {credits:,} credit for {price}",
        "⭐ {title}: {credits:,} credits for {price}",
        "credits",
    ),
    "button.buy_card": Plural(
        "💳 {title}: {credits:,} credit for {price}",
        "💳 {title}: {credits:,} credits for {price}",
        "credits",
    ),
    "button.pay_link": "💳 Pay {price}",
    "button.daily": "🎁 Claim your free daily credit",
    "button.support": "💬 Contact support",
    "button.free": "Continue with free",
    "buy_packs_header": "Credit packs:",
    "buy_how": "Tap a pack, or type {/buy} <pack>, e.g. {/buy} {example}.",
    "buy_how_pay": "How would you like to pay?",
    "buy_link": Plural(
        "{title} pack: {credits:,} credit for {price}. Pay here{expiry_part}:\n{url}\nYour credit arrives as soon as the payment is confirmed.",
        "{title} pack: {credits:,} credits for {price}. Pay here{expiry_part}:\n{url}\nYour credits arrive as soon as the payment is confirmed.",
        "credits",
    ),
    "buy_link_expiry": " (the link expires {expires_at})",
    "stars_invoice_title": "{title} pack",
    "stars_invoice_description": Plural(
        "{credits:,} credit for making music. It never expires.",
        "{credits:,} credits for making music. They never expire.",
        "credits",
    ),
    "purchase_thanks": Plural(
        "Thank you! +{credits:,} credit. You now have {available}.",
        "Thank you! +{credits:,} credits. You now have {available}.",
        "credits",
    ),
    "purchase_already": Plural(
        "That payment was already counted. You have {available} credit.",
        "That payment was already counted. You have {available} credits.",
        "available",
    ),
    "purchase_not_granted": "We received your payment but could not add the credits automatically. Use {/paysupport} and we will sort it out.",
    "paysupport": "Payment problems? Write {/support} with what happened (the pack and the date). For Stars payments we can refund unspent credits; card payments are handled through Stripe.",
    "stars_refund_done": "Took back {credits} credits from {target}; now refund the Stars (charge {charge}).",
    "stars_refund_already": "That payment was already refunded; refund the Stars if that did not happen (charge {charge}).",
    "stars_refused.unknown_order": "This invoice is not valid any more. Ask for a new one with {/buy}.",
    "stars_refused.order_not_open": "This invoice was already paid or closed. Ask for a new one with {/buy}.",
    "stars_refused.wrong_amount": "The price of this invoice changed. Ask for a new one with {/buy}.",
    "stars_refused.not_your_order": "This invoice belongs to someone else. Ask for your own with {/buy}.",
    "stars_refused.wallet_frozen": "Your wallet is frozen while a payment dispute is open. Contact support.",
    # --- making music --------------------------------------------------------------------------
    "pick": Plural(
        "Pick a style (one row each: {styles}) and a length (each button: length · credits). You have {available} credit.",
        "Pick a style (one row each: {styles}) and a length (each button: length · credits). You have {available} credits.",
        "available",
    ),
    "button.generate": "{emoji} {seconds}s · {credits}",
    "length_choice": Plural("{seconds} s · {cost} credit", "{seconds} s · {cost} credits", "cost"),
    "style.piano": "Piano",
    "style.guitar": "Guitar",
    "style.strings": "Strings",
    "style.synth": "Synth",
    "style.bass": "Bass",
    "style_placeholder": "Choose a style",
    "other_style": Plural(
        "Pick another style for your {seconds} s clip ({cost} credit):",
        "Pick another style for your {seconds} s clip ({cost} credits):",
        "cost",
    ),
    "button.style": Plural("{emoji} {style} · {credits} credit", "{emoji} {style} · {credits} credits", "credits"),
    "already": "Already on it: that clip is being made.",
    "already_made": "You made that one already. Press 🔁 Again under the clip for another take.",
    "status_head": Plural(
        "🎵 {style} · {seconds} s · {cost} credit held", "🎵 {style} · {seconds} s · {cost} credits held", "cost"
    ),
    "status_left": " · {available} left to use",
    "gen_progress.queued": "Queued: #{position} in line{eta_part}",
    "gen_progress.started": "Starting your {seconds} s {style} clip…",
    "gen_progress.generating": "Generating your {seconds} s {style} clip…",
    "gen_progress.delivering": "Uploading your clip…",
    "gen_eta_part": " · about {minutes} min",
    "button.cancel": "✖ Cancel",
    "cancel_done": "Canceled. Your credits were not charged.",
    "gen_canceled": "Job {job_id} canceled.",
    "clip_caption": "🎵 Your {seconds} s {style} clip",
    "clip_title": "{style} ({seconds} s)",
    "clip_performer": "MusicGen bot",
    "clip_link": "🎵 Your {seconds} s {style} clip is too big to upload here. Download it (the link expires {until}): {url}",
    "clip_saved": "{caption}: {path}",
    "button.again": "🔁 Again",
    "button.other_style": "🎨 Other style",
    "button.longer": "➕ Longer ({seconds} s)",
    "button.share": "📤 Share",
    "button.try_again": "🔁 Try again",
    "done": "✅ Done! {charge}",
    "gen_charged": Plural("−{charged} credit · {available} left", "−{charged} credits · {available} left", "charged"),
    "gen_charged_nothing": Plural(
        "This one is on us · {available} credit left",
        "This one is on us · {available} credits left",
        "available",
    ),
    "gen_not_charged": Plural("Your {cost} credit was not charged.", "Your {cost} credits were not charged.", "cost"),
    "you_have": Plural(
        "You have {available} credit.",
        "You have {available} credits.",
        "available",
    ),
    "jobs_empty": "No jobs running.",
    "jobs_header": "Your jobs:",
    "recent_jobs": "Your last clips:",
    "jobs_line": "{job_id} · {seconds} s {style} · {state} · {charge}",
    "jobs_position_part": " (#{position} in line)",
    "job_charge.held": Plural("{cost} credit held", "{cost} credits held", "cost"),
    "job_charge.charged": Plural("−{cost} credit", "−{cost} credits", "cost"),
    "job_charge.not_charged": "not charged",
    "job_state.queued": "queued",
    "job_state.submitted": "starting",
    "job_state.running": "generating",
    "job_state.delivering": "uploading",
    "job_state.succeeded": "done",
    "job_state.failed": "failed",
    "job_state.canceled": "canceled",
    "job_state.expired": "timed out",
    # --- sharing -------------------------------------------------------------------------------
    "clip_shared": "🎵 Made by {mention} with {/generate}",
    "share_caption": "Made with {bot}",
    "share_missing": "Open the bot to share a clip",
    "share_rewarded": Plural(
        "Thanks for sharing! +{amount} credit · you have {available}.",
        "Thanks for sharing! +{amount} credits · you have {available}.",
        "amount",
    ),
    "share_no_bonus": "Thanks for sharing! The share bonus is paid once a day; next one from {next_at}.",
    # --- rewards, linking, support ---------------------------------------------------------------
    "daily_claimed": Plural(
        "+{amount} daily credit! You have {available} credits. Next one: {next_at}.",
        "+{amount} daily credits! You have {available} credits. Next one: {next_at}.",
        "amount",
    ),
    "referral_code": "Your referral code: {code}\nWhen someone new uses it and makes their first clip, you both get {credits} credits.\nInvited: {referred} · rewarded: {rewarded}",
    "referral_link": "Share this link: {link}",
    "referral_recorded": Plural(
        "Referral saved! When you make your first clip, you and your friend both get {credits} credit.",
        "Referral saved! When you make your first clip, you and your friend both get {credits} credits.",
        "credits",
    ),
    "referral_already": "That referral is already saved.",
    "referral_paid": Plural(
        "Your friend made their first clip: +{credits} referral credit!",
        "Your friend made their first clip: +{credits} referral credits!",
        "credits",
    ),
    "referral_paid_referred": Plural(
        "Your first clip unlocked your referral bonus: +{credits} credit!",
        "Your first clip unlocked your referral bonus: +{credits} credits!",
        "credits",
    ),
    "email_code_sent": "I sent a 6-digit code to {address}. Send {/verify-email} <code>; it expires {expires_at}.",
    "email_verified": Plural(
        "Email {address} verified: +{amount} credit! You have {available}.",
        "Email {address} verified: +{amount} credits! You have {available}.",
        "amount",
    ),
    "email_code_subject": "Your verification code",
    "email_code_body": "Your code is {code}. It is valid for {minutes} minutes.\n\nIf you did not ask for it, ignore this mail.",
    "link_code": "Your link code: {code} (valid until {expires_at:%H:%M} UTC). On your other platform, send {/link} {code}.",
    "link_done": Plural(
        "Linked! {identities} now share one wallet: {available} credit.",
        "Linked! {identities} now share one wallet: {available} credits.",
        "available",
    ),
    "link_moved": " Moved {free} free and {paid} paid credits into it.",
    "ticket_opened": "Ticket #{ticket} sent to support. We'll answer here.",
    "ticket_forward": "Ticket #{ticket} from {identity} (person {person}, {available} credits)\nLast job: {last_job}\n{text}\nReply: /admin reply {ticket} <text> [grant <n>]",
    "ticket_no_job": "none",
    "ticket_job": "{job} {state}{error} · {seconds} s '{style}' · {cost} credits · {when}",
    "ticket_line": "#{ticket} {identity} ({available} credits): {text}",
    "tickets_none": "No open tickets.",
    "tickets_header": "Tickets:",
    "tickets_inbox": "[support inbox] {text}",
    "support_reply": "Support answered your ticket #{ticket}:\n{text}",
    "support_reply_granted": Plural(
        "\n+{granted} credit was added to your wallet.",
        "\n+{granted} credits were added to your wallet.",
        "granted",
    ),
    # --- groups' wallets -----------------------------------------------------------------------
    "gifted": Plural(
        "🎁 {actor} gifted {amount} credit to {member}{note_part}. The {group} wallet has {server} left.",
        "🎁 {actor} gifted {amount} credits to {member}{note_part}. The {group} wallet has {server} left.",
        "amount",
    ),
    "gift_note_part": ": “{note}”",
    "gift_duplicate": "Already done: that gift was sent before.",
    "gift_how": "{/gift}",
    "gift_how_by_reply": "{/gift} <n> in reply to a member's message",
    "server_wallet": Plural(
        "This {group}'s wallet has {available} credit. Admins: {/server-wallet} deposit <n> moves your own credits in, {/server-wallet} buy buys a pack for it, {gift_how} gives credits to a member.",
        "This {group}'s wallet has {available} credits. Admins: {/server-wallet} deposit <n> moves your own credits in, {/server-wallet} buy buys a pack for it, {gift_how} gives credits to a member.",
        "available",
    ),
    "deposited": Plural(
        "Moved {amount} credit into the {group} wallet: it has {server}. You have {available}.",
        "Moved {amount} credits into the {group} wallet: it has {server}. You have {available}.",
        "amount",
    ),
    "group_buy_pick": "The group wallet has {server} credits. Tap a pack to buy it for the group (you pay, the group wallet gets the credits).",
    "group_checkout": "For the group wallet (you pay, the group gets the credits):",
    "group_invoice_description": Plural(
        "{credits:,} credit for this group's wallet, for the admins to gift to members. It never expires.",
        "{credits:,} credits for this group's wallet, for the admins to gift to members. They never expire.",
        "credits",
    ),
    "group_bought": Plural(
        "Thank you! +{credits:,} credit for the group wallet. It now has {server}.",
        "Thank you! +{credits:,} credits for the group wallet. It now has {server}.",
        "credits",
    ),
    "group_bought_already": "That payment was already counted for the group wallet.",
    # --- operators -----------------------------------------------------------------------------
    "admin_granted": "Granted {amount} credits to {target}. Their balance: {available}.",
    "admin_taken": "Took {amount} credits from {target}. Their balance: {available}.",
    "admin_duplicate": "Already done: that request was applied before.",
    "admin_unfrozen": "Unfrozen {target}. Their balance: {available}.",
    "admin_user": "{target}: {available} credits ({free} free, {paid} paid, {held} held), plan {plan}, {generations} generations, {spent} spent{frozen_part}",
    "admin_user_frozen": ", FROZEN",
    "admin_replied": "Reply to ticket #{ticket} {state}.{granted_part}",
    "admin_reply_delivered": "delivered",
    "admin_reply_saved": "saved (not delivered yet: the person's platform is not connected)",
    "admin_reply_granted": " Granted {granted} credits; their balance: {available}.",
    "stats_header": "Stats at {at:%Y-%m-%d %H:%M} UTC",
    "stats_window": (
        "— {name}: {new_persons} new persons · {generations} generations · {spent} credits spent\n"
        "  granted: {granted}\n"
        "  revenue: {revenue}\n"
        "  free→paid: {conversion} ({first_purchasers}/{free_base}) · came back after running out: {came_back} ({came_back_n}/{ran_out})"
    ),
    "stats_revenue": "{money} ({packs}{returned_part})",
    "stats_revenue_pack": "{pack} ×{purchases}",
    "stats_revenue_returned": "; {money} refunded or disputed since",
    "stats_window.today": "today",
    "stats_window.7d": "last 7 days",
    "stats_window.30d": "last 30 days",
    "stats_none": "none",
    # --- the web pages and the operators' dashboard ----------------------------------------------
    "web.checkout_success_title": "Thank you!",
    "web.checkout_success_body": "Your payment is being confirmed. Your credits will appear in the chat within a minute; check with /balance. You can close this page.",
    "web.checkout_cancel_title": "Payment cancelled",
    "web.checkout_cancel_body": "Nothing was charged. Go back to the chat and use {/buy} whenever you like.",
    "dashboard.title": "Operator dashboard",
    "dashboard.usage": "Usage",
    "dashboard.stats.new_persons": "New persons",
    "dashboard.stats.new_persons.value": "{new_persons}",
    "dashboard.stats.generations": "Generations",
    "dashboard.stats.generations.value": "{generations}",
    "dashboard.stats.spent": "Credits spent",
    "dashboard.stats.spent.value": "{spent}",
    "dashboard.stats.granted": "Credits granted",
    "dashboard.stats.granted.value": "{granted}",
    "dashboard.stats.revenue": "Revenue",
    "dashboard.stats.revenue.value": "{revenue}",
    "dashboard.stats.conversion": "Free → paid",
    "dashboard.stats.conversion.value": "{conversion} ({first_purchasers}/{free_base})",
    "dashboard.stats.came_back": "Came back after running out",
    "dashboard.stats.came_back.value": "{came_back} ({came_back_n}/{ran_out})",
    "dashboard.jobs": "Jobs right now",
    "dashboard.jobs.state": "State",
    "dashboard.jobs.count": "Jobs",
    "dashboard.queue_wait": "The oldest queued job has waited {minutes} min {seconds} s.",
    "dashboard.queue_empty": "No job is queued.",
    "dashboard.wallets": "Wallets",
    "dashboard.wallets.kind": "Wallets of",
    "dashboard.wallets.count": "Wallets",
    "dashboard.wallets.frozen": "Frozen",
    "dashboard.wallets.available": "Credits available",
    "dashboard.wallets.held": "Credits held",
    "dashboard.wallets.person": "persons",
    "dashboard.wallets.server": "servers",
    "dashboard.wallets.total": "all",
    "dashboard.wallets.summary": "Frozen wallets: {frozen} · credits held: {held} · open holds: {holds}",
    "dashboard.tickets": "Open support tickets ({count})",
    "dashboard.tickets.more": "Showing the oldest {shown} of {count}.",
    "dashboard.tickets.reply": "Answer in any chat with /admin reply <ticket> <text> [grant <n>].",
    "dashboard.ticket.id": "Ticket",
    "dashboard.ticket.opened": "Opened",
    "dashboard.ticket.opened_at": "{at:%Y-%m-%d %H:%M} UTC",
    "dashboard.ticket.who": "From",
    "dashboard.ticket.who.value": "{identity} (person {person})",
    "dashboard.ticket.balance": "Credits then",
    "dashboard.ticket.text": "Text",
    "dashboard.ticket.last_job": "Last job",
    "dashboard.unavailable": "The database is not answering. Try again in a minute.",
    # --- errors (keyed by BotError.code) and the reasons they carry -------------------------------
    "error.recording_gone": "I can't find that recording any more. Please send it again.",
    "error.no_recording": "That message has no voice message or audio file to make music from.",
    "operation.payment_provider_unavailable": "the payment provider is not answering. Please try again in a few minutes.",
    "operation.unknown_payment": "I can't find that payment.",
    "operation.not_refundable": "that payment can't be refunded (it was never completed).",
    "error.delivery_failed": "The clip was made but I couldn't send it to you.",
    "error.invalid_style": "Describe a style in 1 to {max_chars} characters, e.g. 'warm piano ballad'.",
    "error.job_not_found": "You have no job {job_id}.",
    "error.job_finished": "Job {job_id} has already ended.",
    "error.job_not_cancelable": "Too late to cancel job {job_id}: the clip is on its way.",
    "error.job_canceled": "Canceled.",
    "error.clip_expired": "I no longer have the recording of job {job_id}. Please send it again.",
    "operation.file_not_found": "I can't read that file.",
    "error.insufficient_credits": Plural(
        "That costs {required} credit and you have {available}.",
        "That costs {required} credits and you have {available}.",
        "required",
    ),
    "error.operation_failed": "That didn't work: {reason_text}",
    "error.system_error": "Something went wrong on our side. Please try again in a minute.",
    "error.gift_note_too_long": "A gift's note can be at most {maximum} characters.",
    "error.invalid_amount": "The amount must be a whole number from 1 to {maximum}.",
    "error.invalid_length": "Pick a length of {allowed} seconds.",
    "error.invalid_identity": "'{text}' is not a user id. Use platform:id, e.g. discord:123 or telegram:456.",
    "error.take_exceeds_balance": "{identity} has {available} credits available; nothing was taken (asked: {requested}).",
    "error.unknown_identity": "I don't know {identity} yet: they have to talk to me first.",
    "error.unknown_pack": "There is no pack called '{pack}'. Packs: {known}.",
    "error.not_permitted": "You are not allowed to do that.",
    "error.unknown_command": "I don't know the command {command}. Try {/help}.",
    "error.usage": "Usage: {usage}",
    "error.wallet_frozen": "Your wallet is frozen while a payment dispute is open. Contact support.",
    "error.hold_not_found": "That job is unknown.",
    "error.hold_already_resolved": "That job is already finished.",
    "error.audio_rejected": "I couldn't use that recording.",
    "error.audio_not_audio": "That file isn't audio I can read (or it is damaged). Send a voice message or an MP3, WAV, OGG, M4A, WebM or FLAC file.",
    "error.audio_no_stream": "That file has no sound in it. Send a voice message or an audio file.",
    "error.audio_empty": "That file is empty.",
    "error.audio_too_large": "That file is too big ({size_mb:.1f} MB); the limit is {limit_mb:.0f} MB.",
    "error.audio_too_short": "That recording is too short ({seconds:.1f} s). Send at least {minimum_seconds:.0f} second of melody.",
    "error.audio_silent": "That recording is silent. Hum or play a melody and send it again.",
    "error.audio_truncated": "That recording looks cut off ({seconds:.1f} s of {declared_seconds:.1f} s). Please send it again.",
    "error.prompt_blocked": "Styles can't name artists or songs ('{term}'). Describe the sound instead, e.g. 'warm piano ballad'.",
    "error.generation_failed": "The music generator failed.",
    "error.generation_rate_limited": "The music generator is busy. Please try again in a minute.",
    "error.generation_timed_out": "The music generator took too long.",
    "error.output_unavailable": "The clip was made but I couldn't fetch it.",
    "error.payments_not_configured": "Payments aren't set up on this bot yet. Use {/support} to reach the operators.",
    "error.invalid_webhook": "Invalid webhook.",
    "error.unexpected": "Something went wrong on our side (ref {ref}). Your credits are safe.",
    "operation.same_account": "you can't move credits to the same wallet.",
    "operation.wallet_in_debt": "the wallet still owes credits; grant them first.",
    "operation.unknown_account": "that wallet doesn't exist.",
    "error.daily_not_due": "You already claimed today's credit. The next one is due {next_at}.",
    "error.daily_not_available": "The daily credit is for the free plan; your plan is {plan}.",
    "error.free_credit_limit": Plural(
        "You've reached today's limit of {limit} free credit. Try again after {next_at}.",
        "You've reached today's limit of {limit} free credits. Try again after {next_at}.",
        "limit",
    ),
    "error.account_too_new": "This account is too new to receive that. Try again after {until}.",
    "error.referral_refused": "That referral code can't be used: {reason_text}",
    "operation.unknown_code": "there is no such code.",
    "operation.self_referral": "it's your own code.",
    "operation.mutual_referral": "that person joined with your code.",
    "operation.already_referred": "you already joined with another code.",
    "operation.referral_too_late": "codes are only accepted in your first days, before your first clip.",
    "error.not_your_clip": "You can only share your own clips.",
    "error.invalid_email": "'{address}' doesn't look like an email address.",
    "error.email_not_configured": "Email verification isn't set up on this bot.",
    "error.email_already_verified": "Your email is already verified.",
    "error.email_taken": "That address is already verified by another account.",
    "error.email_code_wrong": Plural(
        "That code is wrong. {tries_left} try left.",
        "That code is wrong. {tries_left} tries left.",
        "tries_left",
    ),
    "error.email_code_expired": "That code has expired. Send {/verify-email} <address> for a new one.",
    "error.email_no_code": "There is no code to confirm. Send {/verify-email} <address> first.",
    "error.email_locked": "Too many wrong codes. Try again after {until}.",
    "error.email_resend_too_soon": "A code was just sent. You can ask for another after {retry_at:%H:%M:%S} UTC.",
    "error.email_not_sent": "I couldn't send the email right now. Please try again later.",
    "error.link_code_invalid": "That link code is unknown, used or expired. Send {/link} on your other platform for a new one.",
    "error.link_refused": "Can't link: {reason_text}",
    "operation.already_linked": "these accounts are already linked.",
    "operation.platform_taken": "both accounts are on the same platform.",
    "operation.jobs_running": "wait until your running jobs finish.",
    "operation.wallet_frozen_link": "a wallet is frozen or owes credits; contact support.",
    "error.unknown_ticket": "There is no ticket {ticket_id}.",
    "error.invalid_support_text": "Please write your message (at most {max_length} characters).",
    "error.too_many_tickets": "You've sent several tickets in the last hour. You can send another after {retry_at}.",
    "error.not_server_admin": "Only the {group}'s admins can do that.",
    "error.server_wallet_too_low": "The {group} wallet has only {available} credits, not enough to gift {required}.",
    "error.groups_only": "This command works in {group}s only.",
    "operation.gift_to_self": "you can't gift credits to yourself.",
    "operation.gift_to_bot": "bots can't receive credits.",
    "operation.stars_refund_failed": "the credits were taken back, but Telegram refused the Stars refund; try {/admin} refund-stars again.",
    # --- upsell and pricing experiments ---
    "upsell": "{title}: {saving} % less per credit ({credits} credits for {price}).",
    "command.admin.experiment": "Pricing experiments: start, stop, report",
    "command.admin.experiment.action": "start, stop or report",
    "command.admin.experiment.definition": "start: <id> <arm>[:<weight>]=<pack>:<credits>:<cents>[:<stars>],... · report: [id]",
    "usage.admin.experiment": (
        "{/admin} experiment start <id> <arm>[:<weight>]=<pack>:<credits>:<cents>[:<stars>],... <arm>=... "
        "(the first arm is the control) · {/admin} experiment stop · {/admin} experiment report [id]"
    ),
    "experiment_started": Plural(
        "Experiment {experiment} started with {count} arm: {arms}. Each wallet gets its arm at its next offer.",
        "Experiment {experiment} started with {count} arms: {arms}. Each wallet gets its arm at its next offer.",
        "count",
    ),
    "experiment_stopped": "Experiment {experiment} stopped: everyone is offered the default packs again (orders made under an arm are still paid out on its terms).",
    "experiment_header": "Experiment {experiment}, {state}",
    "experiment_running_since": "running since {start:%Y-%m-%d %H:%M} UTC",
    "experiment_ran": "ran {start:%Y-%m-%d %H:%M} to {stop:%Y-%m-%d %H:%M} UTC",
    "experiment_arm": "— {arm}{control_part} (weight {weight}): {people} people · {views} offer views · {clicks} packs chosen · {payers} payers · conversion {conversion} · revenue per person {revenue}{confidence_part}",
    "experiment_control": ", control",
    "experiment_confidence": " · p = {p} against the control (two-proportion z-test)",
    "experiment_no_revenue": "0",
    "experiment_refused": "That experiment can't start: {problem}. Nothing was stored.",
    "experiment_problem.no_id": "give it an id, then its arms",
    "experiment_problem.bad_name": "'{detail}' is not a usable name (lowercase letters, digits, - and _, at most 32)",
    "experiment_problem.no_arms": "'{detail}' has no arms",
    "experiment_problem.duplicate_arm": "two arms are called '{detail}'",
    "experiment_problem.duplicate_pack": "a pack appears twice in one arm: '{detail}'",
    "experiment_problem.bad_price": "prices must be above 0: '{detail}'",
    "experiment_problem.bad_credits": "credits must be above 0: '{detail}'",
    "experiment_problem.bad_weight": "weights must be above 0: '{detail}'",
    "experiment_problem.malformed": "'{detail}' is not <arm>[:<weight>]=<pack>:<credits>:<cents>[:<stars>],...",
    "experiment_problem.id_used": "the id '{detail}' was used before; pick another",
    "experiment_problem.too_long": "the definition is longer than {detail} characters",
    "error.invalid_experiment": "That experiment can't start ({problem}: {detail}). Nothing was stored.",
    "error.experiment_running": "Experiment {experiment_id} is running; stop it first with {/admin} experiment stop.",
    "error.no_experiment": "No experiment is running (or there is none by that id).",
    "dashboard.experiment.arm": "Arm",
    "dashboard.experiment.weight": "Weight",
    "dashboard.experiment.people": "People",
    "dashboard.experiment.views": "Offer views",
    "dashboard.experiment.clicks": "Packs chosen",
    "dashboard.experiment.payers": "Payers",
    "dashboard.experiment.conversion": "Conversion",
    "dashboard.experiment.revenue": "Revenue per person",
    "dashboard.experiment.p": "p against the control",
    # --- priced operations: speech, music from words, the voice tag ---------------------------
    "command.say": "Turn your text into speech (a voice message)",
    "command.say.text": "What to say (up to 1,000 characters; the cost is per 200)",
    "command.describe": "Make music from a description, no recording needed",
    "command.describe.description": "What it should sound like, e.g. lofi beat with rain",
    "command.describe.length": "How long the music should be (the cost is shown)",
    "command.tag": "Speak a short tag over the start of one of your clips",
    "command.tag.job": "The clip's job id (the 🏷 button under a clip fills it in)",
    "command.tag.text": "The words to speak, e.g. made by Sam",
    "usage.say": "{/say} <text>, e.g. {/say} Happy birthday, Alex!",
    "usage.describe": "{/describe} <description> <seconds>, e.g. {/describe} lofi beat with rain 10",
    "usage.tag": "{/tag} <job id> <words>, e.g. {/tag} 1a2b3c4d made by Sam",
    "pricing.prompt": "✍️ Music from a description ({/describe}): {costs}",
    "pricing.speech": Plural(
        "🗣 Speech ({/say}): {credits} credit per started {chars} characters, up to {max_chars}",
        "🗣 Speech ({/say}): {credits} credits per started {chars} characters, up to {max_chars}",
        "credits",
    ),
    "pricing.voicetag": Plural(
        "🏷 Voice tag on a clip: {credits} credit",
        "🏷 Voice tag on a clip: {credits} credits",
        "credits",
    ),
    "jobs_line.speech": "{job_id} · 🗣 speech, {voice} voice · {state} · {charge}",
    "jobs_line.voicetag": "{job_id} · 🏷 voice tag · {state} · {charge}",
    "voice.female": "female",
    "voice.male": "male",
    "status_head.speech": Plural(
        "🗣 {voice} voice · {chars} characters · {cost} credit held",
        "🗣 {voice} voice · {chars} characters · {cost} credits held",
        "cost",
    ),
    "status_head.voicetag": Plural(
        "🏷 Voice tag “{text}” · {cost} credit held",
        "🏷 Voice tag “{text}” · {cost} credits held",
        "cost",
    ),
    "gen_progress.started.speech": "Getting the {voice} voice ready…",
    "gen_progress.generating.speech": "Speaking your text…",
    "gen_progress.started.voicetag": "Getting your clip ready…",
    "gen_progress.generating.voicetag": "Mixing your voice tag into the clip…",
    "clip_caption.speech": "🗣 Your text in the {voice} voice",
    "clip_title.speech": "Speech ({voice})",
    "clip_caption.voicetag": "🏷 Your clip with “{text}”",
    "clip_title.voicetag": "{style} with a voice tag",
    "button.voice": "🗣 In the {voice} voice · {credits}",
    "button.voice_tag": "🏷 Add a voice tag · {credits}",
    "voice_tag_how": Plural(
        "A voice tag speaks a few words over the start of this clip, with the music turned down under it, for {credits} credit. Send {/tag} {job_id} <your words> (up to {max_chars} characters).",
        "A voice tag speaks a few words over the start of this clip, with the music turned down under it, for {credits} credits. Send {/tag} {job_id} <your words> (up to {max_chars} characters).",
        "credits",
    ),
    "error.empty_text": "There is nothing to say: write some words after the command.",
    "error.text_too_long": "That is {length} characters; the most I can say at once is {max_chars}.",
    "error.control_characters": "The text has control or invisible characters; please send plain text.",
    "error.unspeakable_text": "The {voice} voice cannot say “{sample}”: use letters it can read (English text).",
    "error.unknown_voice": "There is no voice “{voice}”. Voices: {voices}.",
    "stats_operation": "  {operation}: {jobs} jobs, {succeeded} delivered, {failed} failed, {credits} credits",
    "stats_operation.music": "🎵 music from a recording",
    "stats_operation.prompt": "✍️ music from words",
    "stats_operation.speech": "🗣 speech",
    "stats_operation.voicetag": "🏷 voice tag",
    "words_pick": "What shall I make of “{words}”? You have {available} credits.",
    "button.describe": "✍️ {seconds}s · {credits}",
    "button.say": "🗣 {voice} · {credits}",
    "error.words_gone": "I can't find those words any more. Send them again.",
    "error.clip_on_its_way": "Clip {job_id} is still on its way to you: try the voice tag again in a moment.",
    "error.not_taggable": "A voice tag goes on one of your delivered music clips, kept for a day; clip {job_id} is not one.",
    # --- hardening: crashes and operations ---
    "clip_resent": "↻ Sent again after a restart: if this clip reached you already, it is still charged once.",
    # --- hardening: bad input ---
    "error.audio_unusual": "That file's audio is unusual ({channels} channels at {sample_rate} Hz), so I won't decode it. Send a voice message or an ordinary audio file.",
    "operation.file_not_regular": "that is not an audio file on disk (only regular files are read, not folders, pipes or devices).",
    "operation.file_name_invalid": "that file name has a character no file name can have.",
    "console_not_utf8": "That line isn't UTF-8 text, so I ignored it.",
    # --- automatic top-up and paying inside Discord ---
    "command.autotopup": "Buy a pack automatically when your credits run low",
    "command.autotopup.pack": "The pack to buy, or 'off' to stop",
    "command.autotopup.below": "Buy it when your credits drop below this number",
    "usage.autotopup": "{/autotopup} <pack> below <credits>, or {/autotopup} off",
    "top_up_setup": "Automatic top-up: the {title} pack ({credits:,} credits for {price}) whenever you drop below {threshold} credits. Buy it once now to save your card; after that it is charged without asking, at most {per_day} times a day.",
    "top_up_changed": "Automatic top-up changed: the {title} pack ({credits:,} credits for {price}) whenever you drop below {threshold} credits.",
    "top_up_off": "Automatic top-up is off. Credits already on their way still arrive.",
    "top_up_was_off": "Automatic top-up was not on.",
    "top_up_stars_only": "Telegram Stars can't be charged without you, so automatic top-up works only with a card.",
    "top_up_stars_card": "Telegram Stars can't be charged without you, so automatic top-up uses a card, paid through Stripe.",
    "top_up_state.setup": "Automatic top-up: waiting for your first payment ({title} pack below {threshold} credits).",
    "top_up_state.on": "Automatic top-up: on, the {title} pack when you drop below {threshold} credits. {/autotopup} off to stop.",
    "top_up_state.paused": "Automatic top-up: paused (the last charge needed you). Buy with the link I sent, or {/autotopup} {pack} below {threshold} to restart.",
    "top_up_receipt": Plural(
        "Automatic top-up: your card was charged {price} for the {title} pack. +{credits:,} credit; you now have {available}.",
        "Automatic top-up: your card was charged {price} for the {title} pack. +{credits:,} credits; you now have {available}.",
        "credits",
    ),
    "top_up_paused.authentication_required": "Automatic top-up is paused: your bank wants you to confirm the {price} payment for the {title} pack, and I can't do that without you. Pay here to buy it and turn automatic top-up back on:\n{url}",
    "top_up_paused.card_declined": "Automatic top-up is paused: your card was declined for the {price} payment for the {title} pack. Pay here with a working card to buy it and turn automatic top-up back on:\n{url}",
    "top_up_capped.daily_cap": "Automatic top-up didn't buy anything: today's limit of automatic purchases ({per_day}) is reached. It buys again tomorrow (UTC); use {/buy} if you need credits now.",
    "top_up_capped.monthly_cap": "Automatic top-up didn't buy anything: this month's limit of {limit} is reached. Use {/buy} if you need credits now.",
    "error.top_up_threshold_invalid": "'{given}' isn't a number of credits I can watch for: use a whole number from {minimum} to {maximum}, e.g. {/autotopup} pro below 50.",
    "error.top_up_pending": "You already have an automatic top-up waiting for its payment. Finish that one first, or {/autotopup} off.",
    "error.top_up_needs_card": "Automatic top-up needs card payments, which aren't set up on this bot.",
    "button.buy_store": Plural(
        "{title}: {credits:,} credit",
        "{title}: {credits:,} credits",
        "credits",
    ),
    "buy_store": "Buy it in Discord's store; your credits arrive as soon as Discord confirms the purchase.",
    "entitlement_thanks": Plural(
        "Thank you! +{credits:,} credit from your Discord purchase. You now have {available}.",
        "Thank you! +{credits:,} credits from your Discord purchase. You now have {available}.",
        "credits",
    ),
    # --- unit economics (operators) ---
    "admin_user_free_cost": "Their free use has cost {cost} at the provider (clips paid with free credits, and runs never charged).",
    "economics.header": "Unit economics, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC (cost: provider bills; revenue: net of fees and refunds)",
    "economics.by_operation": "By operation and length:",
    "economics.by_pack": "By the pack whose credits paid:",
    "economics.by_provider": "By payment provider:",
    "economics.overall": "Overall:",
    "economics.title": "Unit economics: what the clips cost, what their credits brought in",
    "economics.column.label": "",
    "economics.column.jobs": "jobs",
    "economics.column.credits": "credits",
    "economics.column.cost": "cost",
    "economics.column.revenue": "revenue",
    "economics.column.margin": "margin",
    "economics.column.free_share": "free share of cost",
    "economics.column.break_even": "break-even per credit",
    "economics.row": "  {label}: {jobs} jobs · {credits} credits · cost {cost} · revenue {revenue} · margin {margin} · free share of cost {free_share} · break-even {break_even}/credit",
    "economics.losing": "⚠ {operation} loses money: it costs {cost} a run on average, but its {credits} credits bring in {revenue} at the cheapest pack ({pack}), {loss} short. It breaks even at {break_even} per credit.",
    # --- progress: the daily streak and achievements ---
    "command.progress": "Your daily streak and achievements",
    "progress_header": "Your progress",
    "progress_streak": "Daily streak: {bar} {toward}/{goal} days{total_part}",
    "progress_streak_total": " ({days} days in a row)",
    "progress_streak_start": "Claim {/daily} or make a clip on days in a row (UTC) to build a streak: every 7th day brings a bonus credit.",
    "progress_streak_keep": "Claim {/daily} or make a clip today (UTC) to keep your streak.",
    "progress_clips": "Clips made: {clips}",
    "progress_achievements": "Achievements ({earned}/{total}):",
    "progress_achievement_earned": "✅ {name}",
    "progress_achievement_open": "▫️ {name}",
    "achievement.first_clip": "First clip",
    "achievement.clips_10": "10 clips",
    "achievement.clips_50": "50 clips",
    "achievement.every_style": "Every style tried",
    "achievement.first_share": "First share",
    "achievement.first_referral": "First referral that paid",
    "achievement.first_purchase": "First purchase",
    "achievement.streak_7": "7-day streak",
    "achievement_new": "🎉 Achievement unlocked: {name}!{credits_part}",
    "achievement_credits": Plural(
        " +{credits} credit.",
        " +{credits} credits.",
        "credits",
    ),
    "streak_bonus_new": "🔥 {days} days in a row!{credits_part}",
    "balance_streak": "🔥 Daily streak: {bar} {toward}/{goal} days{total_part}",
    # --- insight: success metrics (python -m bot stats --days N, the dashboard) ---
    "insight.header": "Success metrics {first} to {last} (UTC, {days} days)",
    "insight.daily": "Every day",
    "insight.series.new_persons": "New persons",
    "insight.series.clips": "Clips delivered",
    "insight.series.tickets": "Support tickets",
    "insight.funnel": "Funnel (people welcomed in the range)",
    "insight.funnel.welcomed": "Welcomed",
    "insight.funnel.first_clip": "First clip",
    "insight.funnel.ran_out": "Ran out",
    "insight.funnel.offer_shown": "Offer shown",
    "insight.funnel.paid": "Paid",
    "insight.funnel.not_recorded": "not recorded",
    "insight.funnel.step": "{count} ({share} of the step before)",
    "insight.retention": "After running out",
    "insight.retention.line": "{ran_out} ran out · {came_back} came back within 7 days ({came_back_share}) · {paid} paid since ({paid_share})",
    "insight.support": "Support",
    "insight.support.line": "{tickets} tickets · {answered} answered · median time to the first reply: {median}",
    "insight.support.topics": "By topic: {topics}",
    "insight.topic.payment": "payments",
    "insight.topic.clip": "clips",
    "insight.topic.credits": "credits",
    "insight.topic.account": "account",
    "insight.topic.other": "other",
    "insight.usage": "Clips by operation",
    "insight.usage.line": "{operations}",
    "insight.operation.music": "music",
    "insight.revenue": "Revenue by pack",
    "insight.revenue.providers": "Revenue by provider",
    "insight.revenue.by_day": "Revenue per day",
    "insight.revenue.day": "Day",
    "insight.revenue.provider": "Provider",
    "insight.revenue.pack": "Pack",
    "insight.revenue.orders": "Orders",
    "insight.revenue.amount": "Revenue",
    "insight.revenue.item": "{name}: {money} (×{orders})",
    "insight.none": "none",
    "insight.range.from": "From",
    "insight.range.to": "To",
    "insight.range.show": "Show",
    "insight.range.last": "Last {days} days",
    "insight.range.bad": "That date range can't be shown: {reason}",
    "insight.range.malformed": "dates are written YYYY-MM-DD.",
    "insight.range.reversed": "the first day is after the last.",
    "insight.range.too_long": "a range may be at most a year (366 days).",
    "insight.range.days": "days must be a whole number from 1 to 366.",
    "insight.range.back": "Back to the last 30 days",
    "insight.bad_request": "Bad request",
    # --- languages ------------------------------------------------------------------------------
    "command.language": "Choose the language I speak to you in",
    "command.language.code": "The language (leave empty to see them all)",
    "language_list": "Language: {current}. Choose one:",
    "language_set": "Language set: {language}.",
    "plan.free": "free",
    "error.unknown_language": "I don't speak '{language}'. Languages: {known}.",
    # How Discord shows a command's or option's name in each language (`name.<name>`; lowercase,
    # no spaces; English is the name itself). Telegram's command names can't be translated.
    "name.start": "start",
    "name.help": "help",
    "name.balance": "balance",
    "name.history": "history",
    "name.pricing": "pricing",
    "name.generate": "generate",
    "name.jobs": "jobs",
    "name.cancel": "cancel",
    "name.buy": "buy",
    "name.paysupport": "paysupport",
    "name.daily": "daily",
    "name.refer": "refer",
    "name.verify-email": "verify-email",
    "name.link": "link",
    "name.share": "share",
    "name.support": "support",
    "name.gift": "gift",
    "name.server-wallet": "server-wallet",
    "name.admin": "admin",
    "name.language": "language",
    "name.payload": "payload",
    "name.audio": "audio",
    "name.style": "style",
    "name.length": "length",
    "name.job": "job",
    "name.pack": "pack",
    "name.code": "code",
    "name.address_or_code": "address_or_code",
    "name.message": "message",
    "name.member": "member",
    "name.amount": "amount",
    "name.note": "note",
    "name.identity": "identity",
    "name.reason": "reason",
    "name.charge": "charge",
    "name.ticket": "ticket",
    "name.grant": "grant",
    "name.action": "action",
    "name.definition": "definition",
    "name.autotopup": "autotopup",
    "name.below": "below",
    "name.progress": "progress",
    "name.describe": "describe",
    "name.description": "description",
    "name.say": "say",
    "name.tag": "tag",
    "name.text": "text",
}


def plural(n: int) -> str:
    """English's plural "s" (prefer a `Plural` entry: other languages have other rules)."""
    return "" if n == 1 else "s"


@functools.lru_cache(maxsize=4096)
def _fields(template: str) -> tuple[str, ...]:
    return tuple(field for _, field, _, _ in string.Formatter().parse(template) if field)


def fields(entry: Entry) -> frozenset[str]:
    """The placeholders of a message (of both forms of a plural)."""
    if isinstance(entry, Plural):
        return frozenset(_fields(entry.one)) | frozenset(_fields(entry.other))
    return frozenset(_fields(entry))


def _count(value: object) -> int:
    try:
        return int(str(value).replace(",", ""))
    except ValueError:
        return 0


class Catalogue:
    def __init__(self, languages: tuple[str, ...] | None = None) -> None:
        self.languages = languages or locales.languages()

    def language(self, locale: str | None) -> str:
        """The catalogue language for a platform's locale ("es-419", "ru_RU.UTF-8"): English when unknown."""
        if not locale:
            return locales.DEFAULT
        code = locale.replace("_", "-").split(".")[0].split("-")[0].lower()
        return code if code in self.languages else locales.DEFAULT

    def template(self, key: str, language: str, data: dict[str, object]) -> str | None:
        """The words of `key` in `language` (the plural form its count asks for)."""
        english = ENGLISH.get(key)
        if not english:
            return english  # unknown (None), or empty: the same in every language
        translations = locales.translations(language)
        if isinstance(english, Plural):
            return translations.npgettext(key, english.one, english.other, _count(data.get(english.count)))
        return translations.pgettext(key, english)

    def text(
        self,
        key: str,
        locale: str | None = None,
        *,
        spell: Spell | None = None,
        moments: When | None = None,
        **data: object,
    ) -> str:
        language = self.language(locale)
        template = self.template(key, language, data)
        if template is None:
            logger.error("missing catalogue key %s", key)
            return key
        named = _fields(template)
        values: dict[str, object] = {}
        for name, value in data.items():
            if isinstance(value, dt.datetime):
                values[name] = _Moment(value, self._shows(moments, language))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                values[name] = _Number(value, language)
            else:
                values[name] = value
        spelled = spell or default_spelling
        for name in named:
            if name.startswith("/"):
                values[name] = spelled(name[1:])
        return template.format_map(values)

    @staticmethod
    def _shows(moments: When | None, language: str) -> Callable[[dt.datetime], str]:
        """A platform's own way with time (Discord's timestamps), else UTC in the reader's language."""
        if moments is None or moments is utc_text:
            return lambda at: formats.utc_moment(at, language)
        return moments

    def has(self, key: str) -> bool:
        return key in ENGLISH

    def moment(self, at: dt.datetime, locale: str | None, moments: When | None = None) -> str:
        """A moment alone, as a template would show it."""
        return self._shows(moments, self.language(locale))(at)

    def price(self, amount: int, currency: str, locale: str | None) -> str:
        return formats.price(amount, currency, self.language(locale))

    def error(
        self,
        error: BotError,
        locale: str | None = None,
        *,
        spell: Spell | None = None,
        moments: When | None = None,
        **context: object,
    ) -> str:
        """The words for a typed core error; `context` fills what the error does not carry (what
        the platform calls a group)."""
        data = {**context, **error.data}
        for listed in ("allowed", "known", "voices"):
            if isinstance(data.get(listed), tuple | list):
                data[listed] = ", ".join(str(s) for s in data[listed])  # type: ignore[union-attr]
        if "size_bytes" in data:
            data["size_mb"] = int(str(data["size_bytes"])) / 1_000_000
            data["limit_mb"] = int(str(data["limit_bytes"])) / 1_000_000
        if "reason" in data:
            reason_key = f"operation.{data['reason']}"
            data["reason_text"] = (
                self.text(reason_key, locale, spell=spell) if self.has(reason_key) else str(data["reason"])
            )
        if isinstance(error, UsageError):
            data["usage"] = self._usage(error.command, locale, spell)
        key = f"error.{error.code}"
        if not self.has(key):
            key = "error.system_error"
        try:
            return self.text(key, locale, spell=spell, moments=moments, **data)
        except (KeyError, ValueError, IndexError):
            logger.exception("catalogue entry %s does not fit %r", key, data)
            return self.text("error.system_error", locale)

    def _usage(self, command: str, locale: str | None, spell: Spell | None) -> str:
        """`usage.admin.reply`, else the command's own `usage.admin`, else the command alone (it
        takes no arguments)."""
        name = command
        while not self.has(f"usage.{name}") and "." in name:
            name = name.rsplit(".", 1)[0]
        if self.has(f"usage.{name}"):
            return self.text(f"usage.{name}", locale, spell=spell)
        return (spell or default_spelling)(name)
