"""A referral payout announced through the real composition root: in the console, the referred
person's first clip tells both people once; the minute sweep sends nothing more."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from adapters.storage.migrations import upgrade
from bot.bootstrap import build_app
from bot.config import load_settings
from bot.periodic import ReferralSweeper
from core.domain.identity import Identity
from tests.audio_samples import hum_clip
from tests.e2e.console_kit import console_chat

FRIEND = "[console:ann] Your friend made their first clip: +10 referral credits!"
OWN = "[console:bob] Your first clip unlocked your referral bonus: +10 credits!"


async def test_the_first_clip_tells_both_people_once(tmp_path: Path, capsys) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    settings = load_settings(
        _env_file=None,
        database_url=url,
        data_dir=str(tmp_path / "data"),
        replicate_api_token=None,
        new_account_cooldown_minutes=0,
    )
    app = await build_app(settings)
    (tmp_path / "hum.ogg").write_bytes(hum_clip())
    try:
        ann = console_chat(app, Identity("console", "ann"))
        bob = console_chat(app, Identity("console", "bob"))  # one console: the notices print here
        code = re.search(r"referral code: (\w+)", await ann.handle("/refer")).group(1)  # type: ignore[union-attr]
        assert "Referral saved!" in await bob.handle(f"/refer {code}")
        await app.generation.start()
        assert "−1 credit" in await bob.handle(f"/generate {tmp_path / 'hum.ogg'} piano 5")
        out = ""
        for _ in range(100):  # the payout follows the delivered clip
            out += capsys.readouterr().out
            if FRIEND in out and OWN in out:
                break
            await asyncio.sleep(0.05)
        await ReferralSweeper(app.rewards.referrals).tick()  # the minute sweep: nothing more to say
        out += capsys.readouterr().out
        assert out.count(FRIEND) == 1 and out.count(OWN) == 1
        assert "Credits: 20" in await ann.handle("/balance")
        assert await app.ledger.audit() == []
    finally:
        await app.close()
