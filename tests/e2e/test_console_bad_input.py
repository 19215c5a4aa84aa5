"""The console through `python -m bot` fed what an attacker would pipe in: paths that are not
files (a FIFO that would block `open()`, a device that never ends, a folder, a NUL byte) and a
line that is not UTF-8. Each gets a clear refusal, the chat goes on, nothing is charged and no
traceback is printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_paths_that_are_not_regular_files_and_lines_that_are_not_utf8_are_refused_and_the_chat_goes_on(tmp_path):
    fifo = tmp_path / "pipe.ogg"
    os.mkfifo(fifo)
    lines = [
        f"/generate {fifo} piano 5".encode(),
        b"/generate /dev/zero piano 5",
        f"/generate {tmp_path} piano 5".encode(),
        b"/generate hum\x00.ogg piano 5",
        b"/balance \xff\xfe\xfd",
        "/generate hum.ogg piano ⁵".encode(),
        b"/balance",
    ]
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    environment.update({"PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"})
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
    )
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert "Traceback" not in err and "Traceback" not in out
    not_a_file = "That didn't work: that is not an audio file on disk (only regular files are read"
    assert out.count(not_a_file) == 3  # the FIFO, the device, the folder
    assert "That line isn't UTF-8 text, so I ignored it." in out
    assert out.count("Usage: /generate <audio file> <style> <seconds>") == 2  # the NUL, the "⁵"
    assert "Credits: 10 (10 free, 0 paid)" in out  # nothing was held or charged
