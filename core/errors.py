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


# --- payments ------------------------------------------------------------------------------


class PaymentsNotConfigured(BotError):
    code = "payments_not_configured"


class InvalidWebhook(BotError):
    """A webhook whose signature, timestamp or body cannot be trusted."""

    code = "invalid_webhook"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason=reason)
