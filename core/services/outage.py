"""A background loop's view of an outage (the database went away): one warning when its work
starts failing, one when it works again, and a growing wait between tries meanwhile, instead of
a traceback every second."""

from __future__ import annotations

import logging
import time


class Outage:
    def __init__(self, what: str, logger: logging.Logger, *, first_wait: float, max_wait: float) -> None:
        self.what = what
        self.logger = logger
        self.first_wait = first_wait
        self.max_wait = max(max_wait, first_wait)
        self.wait: float | None = None  # None: working
        self.failures = 0
        self._since = 0.0

    @property
    def ongoing(self) -> bool:
        return self.wait is not None

    def failed(self, error: BaseException) -> float:
        """Note a failure; returns how long to wait before the next try."""
        self.failures += 1
        if self.wait is None:
            self._since = time.monotonic()
            self.wait = self.first_wait
            self.logger.warning(
                "%s is failing (%s: %s); retrying with backoff, next message when it works again",
                self.what,
                type(error).__name__,
                str(error).splitlines()[0][:300] if str(error) else "",
            )
            self.logger.debug("%s: the first failure", self.what, exc_info=error)
        else:
            self.wait = min(self.wait * 2, self.max_wait)
            self.logger.debug("%s still failing (%d tries): %s", self.what, self.failures, error)
        return self.wait

    def succeeded(self) -> None:
        if self.wait is not None:
            self.logger.warning(
                "%s works again after %.1f s and %d failed tries",
                self.what,
                time.monotonic() - self._since,
                self.failures,
            )
        self.wait = None
        self.failures = 0
