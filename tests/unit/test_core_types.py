"""core/ type-checks under `mypy --strict` (the settings live in pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]


def test_core_passes_mypy_strict(monkeypatch):
    monkeypatch.chdir(ROOT)
    report, errors, status = api.run(["--no-incremental", "--config-file", str(ROOT / "pyproject.toml")])
    assert status == 0, report + errors


def test_mypy_catches_a_type_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wrong.py").write_text("def credits() -> int:\n    return 'two'\n")
    report, _, status = api.run(["--strict", "--no-incremental", "wrong.py"])
    assert status == 1
    assert "Incompatible return value type" in report
