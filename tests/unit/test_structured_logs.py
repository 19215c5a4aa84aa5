"""LOG_FORMAT=json: one JSON object a record, with the fields the code attached; the reference
an unexpected error shows the person is the one in the log."""

from __future__ import annotations

import json
import logging
import re

from bot.logging import JsonFormatter


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("core.services.job_runner", logging.INFO, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_record_is_one_json_line_with_its_fields():
    line = JsonFormatter().format(
        record("job %s %s", "ab12", "succeeded", job_id="ab12", identity="telegram:1", step="succeeded", charged=2)
    )
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "job ab12 succeeded"
    assert (entry["level"], entry["logger"]) == ("INFO", "core.services.job_runner")
    assert {k: entry[k] for k in ("job_id", "identity", "step", "charged")} == {
        "job_id": "ab12",
        "identity": "telegram:1",
        "step": "succeeded",
        "charged": 2,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])


def test_an_exception_goes_in_its_own_field():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), __import__("sys").exc_info())
    entry = json.loads(JsonFormatter().format(failed))
    assert entry["message"] == "failed"
    assert "RuntimeError: boom" in entry["exception"] and "Traceback" in entry["exception"]


async def test_an_unexpected_error_logs_the_reference_the_person_sees(bot, caplog, monkeypatch):
    await bot.say("telegram:1", "/start")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(bot.app.wallets, "history", broken)
    with caplog.at_level(logging.ERROR, logger="adapters.chat.conversation"):
        reply = await bot.say("telegram:1", "/history")

    shown = re.fullmatch(r"Something went wrong on our side \(ref (\w+)\)\. Your credits are safe\.", reply.text)
    assert shown is not None, reply.text
    (logged,) = [r for r in caplog.records if r.getMessage().startswith("unexpected error")]
    entry = json.loads(JsonFormatter().format(logged))
    assert (entry["ref"], entry["identity"]) == (shown.group(1), "telegram:1")
    assert "the disk is on fire" in entry["exception"]
