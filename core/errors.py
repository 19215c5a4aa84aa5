"""Typed errors that carry data. Adapters turn them into words, once, in the catalogue.

`BotError` subclasses are *expected*: the user did something the rules refuse, or an outside
service failed in a known way. Anything else that escapes is a bug and is reported with a
reference id.
"""

from __future__ import annotations

import builtins


class BotError(Exception):
    """Base of every expected error. `code` is the catalogue key."""

    code = "error"

    def __init__(self, **data: object) -> None:
        self.data = data
        super().__init__(f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in data.items())})")

    def __reduce__(self) -> tuple[object, ...]:
        # generation jobs (issue 3): errors cross process boundaries (intake in a process pool);
        # subclasses' __init__ signatures differ, so rebuild from the state, not from args.
        return (_rebuild_error, (type(self), self.args, self.__dict__))


def _rebuild_error(cls: type[BotError], args: tuple[object, ...], state: dict[str, object]) -> BotError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


# --- the three the original design names -------------------------------------------------


class InsufficientCredits(BotError):
    code = "insufficient_credits"

    def __init__(self, required: int, available: int) -> None:
        self.required = required
        self.available = available
        super().__init__(required=required, available=available)


class OperationFailed(BotError):
    """A requested operation could not be done for a reason the user can act on."""

    code = "operation_failed"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason=reason)


class SystemError(BotError):  # noqa: A001 - the name the original design uses
    """Something on our side is broken (database down, invariant violated)."""

    code = "system_error"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason=reason)


# Keep the builtin reachable for anyone who imports * from here.
BuiltinSystemError = builtins.SystemError


# --- input validation ----------------------------------------------------------------------


class InvalidAmount(BotError):
    code = "invalid_amount"

    def __init__(self, amount: object, maximum: int) -> None:
        self.amount = amount
        self.maximum = maximum
        super().__init__(amount=amount, maximum=maximum)


class InvalidLength(BotError):
    code = "invalid_length"

    def __init__(self, seconds: object, allowed: tuple[int, ...]) -> None:
        self.seconds = seconds
        self.allowed = allowed
        super().__init__(seconds=seconds, allowed=allowed)


class InvalidIdentity(BotError):
    code = "invalid_identity"

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(text=text)


class UnknownIdentity(BotError):
    code = "unknown_identity"

    def __init__(self, identity: str) -> None:
        self.identity = identity
        super().__init__(identity=identity)


class UnknownPack(BotError):
    code = "unknown_pack"

    def __init__(self, pack: str, known: tuple[str, ...]) -> None:
        self.pack = pack
        self.known = known
        super().__init__(pack=pack, known=known)


class NotPermitted(BotError):
    code = "not_permitted"

    def __init__(self, action: str) -> None:
        self.action = action
        super().__init__(action=action)


class UnknownCommand(BotError):
    code = "unknown_command"

    def __init__(self, command: str) -> None:
        self.command = command
        super().__init__(command=command)


class UsageError(BotError):
    """A command was given the wrong arguments; `usage` is the catalogue key of its usage."""

    code = "usage"

    def __init__(self, command: str) -> None:
        self.command = command
        super().__init__(command=command)


# --- ledger --------------------------------------------------------------------------------


class WalletFrozen(BotError):
    code = "wallet_frozen"

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        super().__init__(account_id=account_id)


class HoldNotFound(BotError):
    code = "hold_not_found"

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key=key)


class HoldAlreadyResolved(BotError):
    code = "hold_already_resolved"

    def __init__(self, key: str, state: str) -> None:
        self.key = key
        self.state = state
        super().__init__(key=key, state=state)


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

    def __init__(self, size_bytes: int, limit_bytes: int) -> None:
        self.size_bytes = size_bytes
        self.limit_bytes = limit_bytes
        super().__init__(size_bytes=size_bytes, limit_bytes=limit_bytes)


class AudioTooShort(AudioRejected):
    code = "audio_too_short"

    def __init__(self, seconds: float, minimum_seconds: float) -> None:
        self.seconds = seconds
        self.minimum_seconds = minimum_seconds
        super().__init__(seconds=seconds, minimum_seconds=minimum_seconds)


class AudioSilent(AudioRejected):
    code = "audio_silent"


class AudioTruncated(AudioRejected):
    """The file decodes to clearly less than the duration its header declares."""

    code = "audio_truncated"

    def __init__(self, seconds: float, declared_seconds: float) -> None:
        self.seconds = seconds
        self.declared_seconds = declared_seconds
        super().__init__(seconds=seconds, declared_seconds=declared_seconds)


class PromptBlocked(BotError):
    code = "prompt_blocked"

    def __init__(self, term: str) -> None:
        self.term = term
        super().__init__(term=term)


# --- generation ----------------------------------------------------------------------------


class GenerationFailed(BotError):
    """The model (or its host) failed; `reason` is a short machine word, `detail` for logs."""

    code = "generation_failed"

    def __init__(self, reason: str, detail: str = "", retryable: bool = False) -> None:
        self.reason = reason
        self.detail = detail
        self.retryable = retryable
        super().__init__(reason=reason, detail=detail, retryable=retryable)


class GenerationRateLimited(GenerationFailed):
    code = "generation_rate_limited"

    def __init__(self, retry_after_seconds: float, detail: str = "") -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__("rate_limited", detail, retryable=True)
        self.data["retry_after_seconds"] = retry_after_seconds


class GenerationTimedOut(GenerationFailed):
    code = "generation_timed_out"

    def __init__(self, detail: str = "") -> None:
        super().__init__("timed_out", detail, retryable=False)


class OutputUnavailable(GenerationFailed):
    """The prediction succeeded but its output could not be downloaded."""

    code = "output_unavailable"

    def __init__(self, detail: str = "") -> None:
        super().__init__("output_unavailable", detail, retryable=False)


# --- generation jobs (core/services/generation.py) -----------------------------------------


class DeliveryFailed(GenerationFailed):
    """The clip was made but the chat platform did not accept it (or no adapter can send it)."""

    code = "delivery_failed"

    def __init__(self, detail: str = "") -> None:
        super().__init__("delivery_failed", detail, retryable=False)


class InvalidStyle(BotError):
    """The style text is empty or too long."""

    code = "invalid_style"

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        super().__init__(max_chars=max_chars)


class JobNotFound(BotError):
    """No such job, or not one of the asking person's jobs (the same answer, on purpose)."""

    code = "job_not_found"

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(job_id=job_id)


class JobFinished(BotError):
    """The job already ended (`state`: succeeded, failed, canceled or expired)."""

    code = "job_finished"

    def __init__(self, job_id: str, state: str) -> None:
        self.job_id = job_id
        self.state = state
        super().__init__(job_id=job_id, state=state)


class JobNotCancelable(BotError):
    """Too late to cancel: the clip is being delivered."""

    code = "job_not_cancelable"

    def __init__(self, job_id: str, state: str) -> None:
        self.job_id = job_id
        self.state = state
        super().__init__(job_id=job_id, state=state)


class JobCanceled(BotError):
    """Reported to the notifier when the person canceled the job (credits released)."""

    code = "job_canceled"

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(job_id=job_id)


class ClipExpired(BotError):
    """'Again' or 'Other style' on a job whose input clip is no longer kept."""

    code = "clip_expired"

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(job_id=job_id)


# --- payments ------------------------------------------------------------------------------


class PaymentsNotConfigured(BotError):
    code = "payments_not_configured"


class InvalidWebhook(BotError):
    """A webhook whose signature, timestamp or body cannot be trusted."""

    code = "invalid_webhook"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason=reason)


# --- rewards, linking, support (issue 7) ----------------------------------------------------
# Times are aware UTC datetimes; the catalogue formats them ("{next_at:%Y-%m-%d %H:%M} UTC").


class DailyNotDue(BotError):
    """Today's daily credit was already claimed; the next one is due at `next_at`."""

    code = "daily_not_due"

    def __init__(self, next_at: object) -> None:
        self.next_at = next_at
        super().__init__(next_at=next_at)


class DailyNotAvailable(BotError):
    """The person's plan does not get the daily credit (paid plans, or the daily credit is off)."""

    code = "daily_not_available"

    def __init__(self, plan: str) -> None:
        self.plan = plan
        super().__init__(plan=plan)


class FreeCreditLimitReached(BotError):
    """Today's free-credit allowance (all bonuses together) would be exceeded."""

    code = "free_credit_limit"

    def __init__(self, limit: int, next_at: object) -> None:
        self.limit = limit
        self.next_at = next_at
        super().__init__(limit=limit, next_at=next_at)


class AccountTooNew(BotError):
    """A person this new cannot receive gifts or referral rewards until `until`."""

    code = "account_too_new"

    def __init__(self, until: object) -> None:
        self.until = until
        super().__init__(until=until)


class ReferralRefused(BotError):
    """`reason`: unknown_code, self_referral, mutual_referral, already_referred, referral_too_late."""

    code = "referral_refused"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason=reason)


class NotYourClip(BotError):
    code = "not_your_clip"

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(job_id=job_id)


class InvalidEmail(BotError):
    code = "invalid_email"

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(address=address)


class EmailNotConfigured(BotError):
    code = "email_not_configured"


class EmailAlreadyVerified(BotError):
    code = "email_already_verified"


class EmailTaken(BotError):
    """Another person already verified this address."""

    code = "email_taken"


class EmailCodeWrong(BotError):
    code = "email_code_wrong"

    def __init__(self, tries_left: int) -> None:
        self.tries_left = tries_left
        super().__init__(tries_left=tries_left)


class EmailCodeExpired(BotError):
    code = "email_code_expired"


class NoEmailCode(BotError):
    code = "email_no_code"


class EmailLocked(BotError):
    """Too many wrong codes: no codes are accepted or sent until `until`."""

    code = "email_locked"

    def __init__(self, until: object) -> None:
        self.until = until
        super().__init__(until=until)


class EmailResendTooSoon(BotError):
    code = "email_resend_too_soon"

    def __init__(self, retry_at: object) -> None:
        self.retry_at = retry_at
        super().__init__(retry_at=retry_at)


class EmailNotSent(BotError):
    """The mail server did not take the message; `reason` is for the logs."""

    code = "email_not_sent"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason=reason)


class LinkCodeInvalid(BotError):
    """Unknown, already used or expired link code."""

    code = "link_code_invalid"


class LinkRefused(BotError):
    """`reason`: already_linked, platform_taken, jobs_running, wallet_frozen_link."""

    code = "link_refused"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason=reason)


class UnknownTicket(BotError):
    code = "unknown_ticket"

    def __init__(self, ticket_id: object) -> None:
        self.ticket_id = ticket_id
        super().__init__(ticket_id=ticket_id)


class InvalidSupportText(BotError):
    code = "invalid_support_text"

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length
        super().__init__(max_length=max_length)


class TooManyTickets(BotError):
    code = "too_many_tickets"

    def __init__(self, retry_at: object) -> None:
        self.retry_at = retry_at
        super().__init__(retry_at=retry_at)


# --- server wallets (issue 6) -----------------------------------------------------------------


class NotServerAdmin(BotError):
    """Only a server's admins (Discord: Manage Server; Telegram: group admins) may do this."""

    code = "not_server_admin"

    def __init__(self, action: str) -> None:
        self.action = action
        super().__init__(action=action)


class ServerWalletTooLow(BotError):
    """A gift larger than what the server wallet holds."""

    code = "server_wallet_too_low"

    def __init__(self, required: int, available: int) -> None:
        self.required = required
        self.available = available
        super().__init__(required=required, available=available)
