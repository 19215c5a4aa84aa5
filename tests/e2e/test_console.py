"""The console chat through `python -m bot` with piped input, as a person would script it."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_console(workdir: Path, lines: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    environment.update({"PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING", **env})
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=workdir,
        env=environment,
        timeout=120,
    )


def test_console_welcomes_shows_balance_and_history_with_piped_input(tmp_path):
    result = run_console(tmp_path, ["/balance", "/history", "/nonsense"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Welcome! You have 10 free credits." in out
    assert "Credits: 10 (10 free, 0 paid)" in out and "Plan: free" in out
    assert "+10 welcome credits" in out
    assert "I don't know the command /nonsense" in out
    assert (tmp_path / "data" / "bot.db").exists()


def test_console_state_survives_a_restart_and_operators_can_grant(tmp_path):
    me = "".join(ch for ch in getpass.getuser() if ch.isalnum() or ch in "_.-") or "me"
    env = {"OPERATOR_IDS": f"console:{me}"}
    first = run_console(tmp_path, [f"/admin grant console:{me} 5 testing", f"/admin grant console:{me} 0 nope"], **env)
    assert f"Granted 5 credits to console:{me}. Their balance: 15." in first.stdout
    assert "The amount must be a whole number" in first.stdout
    second = run_console(tmp_path, ["/balance"], **env)
    assert "Welcome back! You have 15 credits." in second.stdout


def test_non_operators_cannot_grant(tmp_path):
    result = run_console(tmp_path, ["/admin grant console:someone 5 x", "/balance"])
    assert "You are not allowed to do that." in result.stdout
    assert "Credits: 10" in result.stdout
