"""`python -m bot experiment start|stop|report`, run as real processes on one database: a bad
definition is refused with nothing stored, the report prints each arm's figures from the offer
events, stop returns everyone to the default packs."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.offers import SqlOfferStore
from core.domain.experiments import OfferEvent, OfferEventKind
from tests.integration.bot_process import run_bot

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


async def bot(db_url: str, cwd: Path, *args: str) -> tuple[int, str, str]:
    no_services = {k: "" for k in os.environ if k.startswith(("STRIPE_", "TELEGRAM_", "DISCORD_"))}
    env = {**no_services, "DATABASE_URL": db_url, "DATA_DIR": str(cwd)}
    code, out, err = await run_bot("experiment", *args, env=env, cwd=cwd)
    return code, out.strip(), err.strip()


async def test_experiment_command_line_start_report_stop(sqlite_url: str, tmp_path: Path):
    code, _, err = await bot(sqlite_url, tmp_path, "start", "dec", "a=starter:100:500", "a=starter:90:500")
    assert (code, err) == (1, "That experiment can't start: two arms are called 'a'. Nothing was stored.")

    code, out, err = await bot(sqlite_url, tmp_path, "start", "dec", "a=starter:100:500:250", "b:3=starter:90:400")
    assert code == 0, err
    assert out == "Experiment dec started with 2 arms: a (1), b (3). Each wallet gets its arm at its next offer."
    async with Database(sqlite_url) as db:  # someone shown the packs twice, in arm b
        ledger = SqlLedgerStore(db)
        await ledger.prepare()
        person = await ledger.ensure_person("console:ann", welcome=lambda p: None, now=NOW)
        for _ in range(2):
            await SqlOfferStore(db).record_event(
                OfferEvent(person.wallet_id, OfferEventKind.SHOWN, NOW, None, "dec", "b")
            )

    code, out, err = await bot(sqlite_url, tmp_path, "report")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Experiment dec, running since ")
    assert lines[1].startswith("— a, control (weight 1): 0 people · 0 offer views")
    assert lines[2].startswith("— b (weight 3): 1 people · 2 offer views · 0 packs chosen · 0 payers")

    code, out, err = await bot(sqlite_url, tmp_path, "stop")
    assert (code, out) == (
        0,
        "Experiment dec stopped: everyone is offered the default packs again "
        "(orders made under an arm are still paid out on its terms).",
    )
