"""Running a worker module as a separate OS process (the cross-process race tests)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def worker_number(module: str, *args: str) -> int:
    """Run `python -m <module> <args>` from the checkout; the number on its last output line."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return int(out.decode().strip().splitlines()[-1])
