"""The conversation tests' fixtures: `make(**settings)` builds an app on the in-memory stores
(closed after the test), `bot` is one with the default settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from tests.unit.conversation_kit import Kit, kits


@pytest.fixture
async def make(tmp_path) -> AsyncIterator[Callable[..., Kit]]:
    async with kits(tmp_path) as maker:
        yield maker


@pytest.fixture
def bot(make) -> Kit:
    return make()
