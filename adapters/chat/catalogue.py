"""Every user-facing string, keyed by message id, per language. English first.

Add a language by adding a dict with the same keys; a missing key falls back to English.
Pick the language from Discord's `interaction.locale` or Telegram's `language_code`.
"""

from __future__ import annotations

import logging
from typing import Any

from core.errors import BotError

logger = logging.getLogger(__name__)

ENGLISH: dict[str, str] = {
    # first contact and help
    "welcome": "Welcome! You have {credits} free credits. Send me a voice message to make music.",
    "welcome_back": "Welcome back! You have {available} credits.",
    "help": (
        "Hum, sing or play a melody, send it to me, pick a style and a length, and I'll turn it into music.\n"
        "Costs: {costs}.\n"
        "Commands: {commands}"
    ),
    "cost_item": "{seconds} s → {credits} credit{plural}",
    # balance and history
    "balance": (
        "Credits: {available} ({free} free, {paid} paid){held_part}\n"
        "Plan: {plan}\n"
        "Generations: {generations} · credits spent: {spent}{frozen_part}"
    ),
    "balance_held_part": " · {held} held for running jobs",
    "balance_frozen_part": "\nYour wallet is frozen while a payment dispute is open. Contact support.",
    "balance_debt_part": " · {debt} owed",
    "history_empty": "No activity yet.",
    "history_header": "Your last {count} movements:",
    "history_line": "{date} {sign}{amount} {reason}",
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
    "reason.expiry": "expired",
    "reason.link": "accounts linked",
    # offers
    "low_balance": "You have {available} credit{plural} left. Buy more to keep creating!",
    "out_of_credits": "You're out of credits!",
    "offer_pack": "{title}: {credits} credits for {price}",
    "offer_daily": "Your next free daily credit: {when}.",
    "offer_support": "Questions? Use /support to contact us.",
    "continue_free": "Continue with free",
    # operator
    "admin_granted": "Granted {amount} credits to {target}. Their balance: {available}.",
    "admin_taken": "Took {amount} credits from {target}. Their balance: {available}.",
    "admin_duplicate": "Already done: that request was applied before.",
    "admin_unfrozen": "Unfrozen {target}. Their balance: {available}.",
    "admin_user": "{target}: {available} credits ({free} free, {paid} paid, {held} held), plan {plan}, {generations} generations, {spent} spent{frozen_part}",
    "admin_user_frozen": ", FROZEN",
    # errors (keyed by BotError.code)
    "error.insufficient_credits": "That costs {required} credit{required_plural} and you have {available}.",
    "error.operation_failed": "That didn't work: {reason_text}",
    "error.system_error": "Something went wrong on our side. Please try again in a minute.",
    "error.invalid_amount": "The amount must be a whole number from 1 to {maximum}.",
    "error.invalid_length": "Pick a length of {allowed} seconds.",
    "error.invalid_identity": "'{text}' is not a user id. Use platform:id, e.g. discord:123 or telegram:456.",
    "error.unknown_identity": "I don't know {identity} yet: they have to talk to me first.",
    "error.unknown_pack": "There is no pack called '{pack}'. Packs: {known}.",
    "error.not_permitted": "You are not allowed to do that.",
    "error.unknown_command": "I don't know the command {command}. Try /help.",
    "error.usage": "Usage: {usage}",
    "error.wallet_frozen": "Your wallet is frozen while a payment dispute is open. Contact support.",
    "error.hold_not_found": "That job is unknown.",
    "error.hold_already_resolved": "That job is already finished.",
    "error.audio_rejected": "I couldn't use that recording.",
    "error.audio_not_audio": "That file isn't audio I can read (or it is damaged). Send a voice message or an MP3, WAV, OGG, M4A, WebM or FLAC file.",
    "error.audio_no_stream": "That file has no sound in it. Send a voice message or an audio file.",
    "error.audio_empty": "That file is empty.",
    "error.audio_too_large": "That file is too big ({size_mb} MB); the limit is {limit_mb} MB.",
    "error.audio_too_short": "That recording is too short ({seconds:.1f} s). Send at least {minimum_seconds:.0f} second of melody.",
    "error.audio_silent": "That recording is silent. Hum or play a melody and send it again.",
    "error.audio_truncated": "That recording looks cut off ({seconds:.1f} s of {declared_seconds:.1f} s). Please send it again.",
    "error.prompt_blocked": "Styles can't name artists or songs ('{term}'). Describe the sound instead, e.g. 'warm piano ballad'.",
    "error.generation_failed": "The music generator failed.",
    "error.generation_rate_limited": "The music generator is busy. Please try again in a minute.",
    "error.generation_timed_out": "The music generator took too long.",
    "error.output_unavailable": "The clip was made but I couldn't fetch it.",
    "error.payments_not_configured": "Payments aren't set up on this bot yet. Use /support to reach the operators.",
    "error.invalid_webhook": "Invalid webhook.",
    "error.unexpected": "Something went wrong on our side (ref {ref}). Your credits are safe.",
    "operation.same_account": "you can't move credits to the same wallet.",
    "operation.wallet_in_debt": "the wallet still owes credits; grant them first.",
    "operation.unknown_account": "that wallet doesn't exist.",
    "usage.admin": "/admin grant|take <platform:id> <credits> <reason> · /admin user <platform:id> · /admin unfreeze <platform:id>",
    "usage.admin_grant": "/admin grant <platform:id> <credits> <reason>",
    "usage.admin_take": "/admin take <platform:id> <credits> <reason>",
    "usage.admin_target": "/admin user|unfreeze <platform:id>",
}

LANGUAGES: dict[str, dict[str, str]] = {"en": ENGLISH}


def plural(n: int) -> str:
    return "" if n == 1 else "s"


class Catalogue:
    def __init__(self, languages: dict[str, dict[str, str]] | None = None) -> None:
        self.languages = languages or LANGUAGES

    def language(self, locale: str | None) -> str:
        if not locale:
            return "en"
        code = locale.replace("_", "-").split("-")[0].lower()
        return code if code in self.languages else "en"

    def text(self, key: str, locale: str | None = None, **data: Any) -> str:
        table = self.languages[self.language(locale)]
        template = table.get(key) or ENGLISH.get(key)
        if template is None:
            logger.error("missing catalogue key %s", key)
            return key
        return template.format(**data)

    def has(self, key: str) -> bool:
        return key in ENGLISH

    def error(self, error: BotError, locale: str | None = None) -> str:
        """The words for a typed core error."""
        data = dict(error.data)
        if "required" in data:
            data["required_plural"] = plural(int(data["required"]))  # type: ignore[call-overload]
        if "allowed" in data:
            data["allowed"] = ", ".join(str(s) for s in data["allowed"])  # type: ignore[attr-defined]
        if "known" in data:
            data["known"] = ", ".join(str(s) for s in data["known"])  # type: ignore[attr-defined]
        if "size_bytes" in data:
            data["size_mb"] = f"{int(data['size_bytes']) / 1_000_000:.1f}"  # type: ignore[call-overload]
            data["limit_mb"] = f"{int(data['limit_bytes']) / 1_000_000:.0f}"  # type: ignore[call-overload]
        if "reason" in data:
            reason_key = f"operation.{data['reason']}"
            data["reason_text"] = self.text(reason_key, locale) if self.has(reason_key) else str(data["reason"])
        if "command" in data and error.code == "usage":
            data["usage"] = self.text(f"usage.{data['command']}", locale)
        key = f"error.{error.code}"
        if not self.has(key):
            key = "error.system_error"
        try:
            return self.text(key, locale, **data)
        except (KeyError, ValueError, IndexError):
            logger.exception("catalogue entry %s does not fit %r", key, data)
            return self.text("error.system_error", locale)
