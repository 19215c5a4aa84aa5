"""Functions the worker-lane tests run in a worker process (importable by name there)."""

from __future__ import annotations

import time


def started_after(seconds: float) -> float:
    """When it started (monotonic, shared by the processes of one machine), after working a while."""
    start = time.monotonic()
    time.sleep(seconds)
    return start


def fails() -> None:
    raise ValueError("refused in the worker")
