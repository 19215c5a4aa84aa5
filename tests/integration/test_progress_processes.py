"""Two OS processes checking the same person's progress at once grant each achievement once
(the wallet lock serialises them; the achievement's primary key and the grant's key back it)."""

from __future__ import annotations

import asyncio

import pytest

from core.domain.progress import Achievement
from tests.integration.processes import worker_number
from tests.integration.rewards_kit import make_kit


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
async def test_two_processes_earning_the_same_achievement_grant_it_once(database, db_url, backend):
    kit = make_kit(database)
    ann, person_id = await kit.person("telegram:1")
    await kit.deliver(ann, "piano", "job-1")
    before = await kit.available(ann)

    args = ("tests.integration.progress_race_worker", db_url, str(person_id), "4")
    awarded = await asyncio.gather(worker_number(*args), worker_number(*args))
    assert sorted(awarded) == [0, 3]  # one check of one process granted it; the other seven found it done
    assert await kit.available(ann) == before + 3
    view = await kit.progress.view(ann)
    assert view.earned == {Achievement.FIRST_CLIP} and view.new == ()
    history = [e.reason for e in await kit.wallets.history(ann, 50)]
    assert history.count("achievement") == 1
    assert await kit.audit() == []
