"""`python -m bot ...` as a real process running this checkout's code (PYTHONPATH), in a folder
with no `.env`; the caller's event loop keeps serving its fakes while it runs."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def run_bot(*args: str, env: Mapping[str, str], cwd: Path) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `python -m bot <args>` with `env` over the environment."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env={**os.environ, "LOG_LEVEL": "WARNING", **env, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
