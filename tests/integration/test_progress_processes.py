"""Two OS processes checking the same person's progress at once grant each achievement once
(the wallet lock serialises them; the achievement's primary key and the grant's key back it)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from core.domain.progress import Achievement
from tests.integration.rewards_kit import make_kit

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
async def test_two_processes_earning_the_same_achievement_grant_it_once(database, db_url, backend):
    kit = make_kit(database)
    ann, person_id = await kit.person("telegram:1")
    await kit.deliver(ann, "piano", "job-1")
    before = await kit.available(ann)

    async def worker() -> int:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.progress_race_worker",
            db_url,
            str(person_id),
            "4",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return int(out.decode().strip().splitlines()[-1])

    awarded = await asyncio.gather(worker(), worker())
    assert sorted(awarded) == [0, 3]  # one check of one process granted it; the other seven found it done
    assert await kit.available(ann) == before + 3
    view = await kit.progress.view(ann)
    assert view.earned == {Achievement.FIRST_CLIP} and view.new == ()
    history = [e.reason for e in await kit.wallets.history(ann, 50)]
    assert history.count("achievement") == 1
    assert await kit.audit() == []
