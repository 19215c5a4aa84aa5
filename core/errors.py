"""Typed errors that carry data. Adapters turn them into words, once, in the catalogue.

`BotError` subclasses are *expected*: the user did something the rules refuse, or an outside
service failed in a known way. Anything else that escapes is a bug and is reported with a
reference id.

Each error is a dataclass: its fields are the data the catalogue formats (`error.data`), declared
once on the class; `code` is the catalogue key.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, dataclass_transform


@dataclass_transform(eq_default=False)
class BotError(Exception):
    """Base of every expected error. `code` is the catalogue key."""

    code: ClassVar[str] = "error"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(eq=False, repr=False)(cls)

    @property
    def data(self) -> dict[str, object]:
        return (
            {f.name: getattr(self, f.name) for f in dataclasses.fields(self)} if dataclasses.is_dataclass(self) else {}
        )

    def __str__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.data.items())})"

    __repr__ = __str__

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross process boundaries (the intake runs in a process pool): rebuild from the
        # fields, whatever the constructor's signature.
        return (_rebuild_error, (type(self), self.__dict__))


def _rebuild_error(cls: type[BotError], state: dict[str, object]) -> BotError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    return error


# --- the three the original design names -------------------------------------------------


class InsufficientCredits(BotError):
    code = "insufficient_credits"

    required: int
    available: int


class OperationFailed(BotError):
    """A requested operation could not be done for a reason the user can act on."""

    code = "operation_failed"

    reason: str


class InternalError(BotError):
    """Something on our side is broken (database down, invariant violated)."""

    code = "system_error"

    reason: str


# --- input validation ----------------------------------------------------------------------


class InvalidAmount(BotError):
    code = "invalid_amount"

    amount: object
    maximum: int


class InvalidLength(BotError):
    code = "invalid_length"

    seconds: object
    allowed: tuple[int, ...]


class InvalidIdentity(BotError):
    code = "invalid_identity"

    text: str


class UnknownIdentity(BotError):
    code = "unknown_identity"

    identity: str


class GiftNoteTooLong(BotError):
    code = "gift_note_too_long"

    maximum: int


class TakeExceedsBalance(BotError):
    """An operator asked to take more than the wallet has available: nothing was taken."""

    code = "take_exceeds_balance"

    identity: str
    requested: int
    available: int


class UnknownPack(BotError):
    code = "unknown_pack"

    pack: str
    known: tuple[str, ...]


class NotPermitted(BotError):
    code = "not_permitted"

    action: str


class UnknownCommand(BotError):
    code = "unknown_command"

    command: str


class UsageError(BotError):
    """A command was given the wrong arguments; `usage` is the catalogue key of its usage."""

    code = "usage"

    command: str


# --- pricing experiments --------------------------------------------------------------------


class InvalidExperiment(BotError):
    """An experiment definition that cannot be run; `problem` names what is wrong (no_arms,
    duplicate_arm, bad_price, bad_weight, ...), `detail` where."""

    code = "invalid_experiment"

    problem: str
    detail: str


class ExperimentRunning(BotError):
    """Another experiment runs already (one at a time), or the id was used before."""

    code = "experiment_running"

    experiment_id: str


class NoExperiment(BotError):
    """No experiment runs (stop), or none by that id (report)."""

    code = "no_experiment"


# --- ledger --------------------------------------------------------------------------------


class WalletFrozen(BotError):
    code = "wallet_frozen"

    account_id: int


class HoldNotFound(BotError):
    code = "hold_not_found"

    key: str


class HoldAlreadyResolved(BotError):
    code = "hold_already_resolved"

    key: str
    state: str


# --- audio intake (raised before any credit is held) ------------------------------------


class AudioRejected(BotError):
    """Base for every refusal of an input clip."""

    code = "audio_rejected"


class NotAudio(AudioRejected):
    """Not a media file we can decode, or corrupt."""

    code = "audio_not_audio"


class NoAudioStream(AudioRejected):
    """A valid media file (an image, a silent video) with no audio stream in it."""

    code = "audio_no_stream"


class AudioEmpty(AudioRejected):
    code = "audio_empty"


class AudioTooLarge(AudioRejected):
    code = "audio_too_large"

    size_bytes: int
    limit_bytes: int


class AudioTooShort(AudioRejected):
    code = "audio_too_short"

    seconds: float
    minimum_seconds: float


class AudioSilent(AudioRejected):
    code = "audio_silent"


class AudioUnusual(AudioRejected):
    """A sample rate or channel count no recording has: a header made to blow decoding up."""

    code = "audio_unusual"

    sample_rate: int
    channels: int


class AudioTruncated(AudioRejected):
    """The file decodes to clearly less than the duration its header declares."""

    code = "audio_truncated"

    seconds: float
    declared_seconds: float


class PromptBlocked(BotError):
    code = "prompt_blocked"

    term: str


# --- generation ----------------------------------------------------------------------------


class GenerationFailed(BotError):
    """The model (or its host) failed; `reason` is a short machine word, `detail` for logs."""

    code = "generation_failed"

    reason: str
    detail: str = ""
    retryable: bool = False


class GenerationRateLimited(GenerationFailed):
    code = "generation_rate_limited"

    reason: str = "rate_limited"
    retryable: bool = True
    retry_after_seconds: float = 0.0


class GenerationTimedOut(GenerationFailed):
    code = "generation_timed_out"

    reason: str = "timed_out"


class OutputUnavailable(GenerationFailed):
    """The prediction succeeded but its output could not be downloaded."""

    code = "output_unavailable"

    reason: str = "output_unavailable"


# --- generation jobs (core/services/generation.py) -----------------------------------------


class DeliveryFailed(GenerationFailed):
    """The clip was made but the chat platform did not accept it (or no adapter can send it)."""

    code = "delivery_failed"

    reason: str = "delivery_failed"


class InvalidStyle(BotError):
    """The style text is empty or too long."""

    code = "invalid_style"

    max_chars: int


class JobNotFound(BotError):
    """No such job, or not one of the asking person's jobs (the same answer, on purpose)."""

    code = "job_not_found"

    job_id: str


class JobFinished(BotError):
    """The job already ended (`state`: succeeded, failed, canceled or expired)."""

    code = "job_finished"

    job_id: str
    state: str


class JobNotCancelable(BotError):
    """Too late to cancel: the clip is being delivered."""

    code = "job_not_cancelable"

    job_id: str
    state: str


class JobCanceled(BotError):
    """Reported to the notifier when the person canceled the job (credits released)."""

    code = "job_canceled"

    job_id: str


class ClipExpired(BotError):
    """'Again' or 'Other style' on a job whose input clip is no longer kept."""

    code = "clip_expired"

    job_id: str


# --- payments ------------------------------------------------------------------------------


class PaymentsNotConfigured(BotError):
    code = "payments_not_configured"


class InvalidWebhook(BotError):
    """A webhook whose signature, timestamp or body cannot be trusted."""

    code = "invalid_webhook"

    reason: str


# --- rewards, linking, support ----------------------------------------------------
# Times are aware UTC datetimes; the catalogue formats them ("{next_at:%Y-%m-%d %H:%M} UTC").


class DailyNotDue(BotError):
    """Today's daily credit was already claimed; the next one is due at `next_at`."""

    code = "daily_not_due"

    next_at: object


class DailyNotAvailable(BotError):
    """The person's plan does not get the daily credit (paid plans, or the daily credit is off)."""

    code = "daily_not_available"

    plan: str


class FreeCreditLimitReached(BotError):
    """Today's free-credit allowance (all bonuses together) would be exceeded."""

    code = "free_credit_limit"

    limit: int
    next_at: object


class AccountTooNew(BotError):
    """A person this new cannot receive gifts or referral rewards until `until`."""

    code = "account_too_new"

    until: object


class ReferralRefused(BotError):
    """`reason`: unknown_code, self_referral, mutual_referral, already_referred, referral_too_late."""

    code = "referral_refused"

    reason: str


class NotYourClip(BotError):
    code = "not_your_clip"

    job_id: str


class InvalidEmail(BotError):
    code = "invalid_email"

    address: str


class EmailNotConfigured(BotError):
    code = "email_not_configured"


class EmailAlreadyVerified(BotError):
    code = "email_already_verified"


class EmailTaken(BotError):
    """Another person already verified this address."""

    code = "email_taken"


class EmailCodeWrong(BotError):
    code = "email_code_wrong"

    tries_left: int


class EmailCodeExpired(BotError):
    code = "email_code_expired"


class NoEmailCode(BotError):
    code = "email_no_code"


class EmailLocked(BotError):
    """Too many wrong codes: no codes are accepted or sent until `until`."""

    code = "email_locked"

    until: object


class EmailResendTooSoon(BotError):
    code = "email_resend_too_soon"

    retry_at: object


class EmailNotSent(BotError):
    """The mail server did not take the message; `reason` is for the logs."""

    code = "email_not_sent"

    reason: str


class LinkCodeInvalid(BotError):
    """Unknown, already used or expired link code."""

    code = "link_code_invalid"


class LinkRefused(BotError):
    """`reason`: already_linked, platform_taken, jobs_running, wallet_frozen_link."""

    code = "link_refused"

    reason: str


class UnknownTicket(BotError):
    code = "unknown_ticket"

    ticket_id: object


class InvalidSupportText(BotError):
    code = "invalid_support_text"

    max_length: int


class TooManyTickets(BotError):
    code = "too_many_tickets"

    retry_at: object


# --- server wallets -----------------------------------------------------------------


class NotServerAdmin(BotError):
    """Only a server's admins (Discord: Manage Server; Telegram: group admins) may do this."""

    code = "not_server_admin"

    action: str


class ServerWalletTooLow(BotError):
    """A gift larger than what the server wallet holds."""

    code = "server_wallet_too_low"

    required: int
    available: int


# --- text to speech and the other priced operations ---------------------------------------


class EmptyText(BotError):
    """Nothing to say: the text is empty or only spaces."""

    code = "empty_text"


class TextTooLong(BotError):
    code = "text_too_long"

    length: int
    max_chars: int


class ControlCharacters(BotError):
    """The text carries control or invisible formatting characters."""

    code = "control_characters"


class UnspeakableText(BotError):
    """The voice cannot speak these characters (another script, or no words at all)."""

    code = "unspeakable_text"

    voice: str
    sample: str  # the first characters it cannot speak


class UnknownVoice(BotError):
    code = "unknown_voice"

    voice: str
    voices: tuple[str, ...]


class NotTaggable(BotError):
    """A voice tag goes on a delivered music clip that is still kept."""

    code = "not_taggable"

    job_id: str


class ClipOnItsWay(BotError):
    """A voice tag asked for in the moment between a clip reaching the person and its charge
    being recorded (with the clip kept for tags): a moment later it can be tagged."""

    code = "clip_on_its_way"

    job_id: str


# --- languages ---------------------------------------------------------------------------------


class UnknownLanguage(BotError):
    """A language the bot does not speak."""

    code = "unknown_language"

    language: str
    known: tuple[str, ...]


# --- automatic top-up ---------------------------------------------------------------------


class TopUpThresholdInvalid(BotError):
    """`/autotopup <pack> below <n>` with an `n` that is not a whole number in range."""

    code = "top_up_threshold_invalid"

    given: str
    minimum: int
    maximum: int


class TopUpPending(BotError):
    """A second `/autotopup` while the first waits for its payment (or a top-up is charging)."""

    code = "top_up_pending"


class TopUpNeedsCard(BotError):
    """Automatic top-up charges a saved card: Stripe is not set up, so there is no card path."""

    code = "top_up_needs_card"
